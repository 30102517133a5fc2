"""Serving an ASGI application over HTTP/1.1, for every HTTP face of the engine.

The simulator's control API and the gateway's HTTP API both bind one address,
report the port they got (port 0 picks a free one) and serve until cancelled.
An address that cannot be listened on (in use, a port below 1024 without the
right) is a :class:`ListenError` naming it, not an OSError deep in exception groups.

Each connection is served by :mod:`.http_connection` (h11 on trio, one task per
connection). It replaced Hypercorn, whose task, cancel scopes and locks per
request were most of the gateway's main thread for one message per request (B6
went from 1.3k to 2.3k messages/s).

Slow clients cannot hold the server: a connection gets ``head_timeout`` seconds to
send a whole request head (from the connection's start or its last answer until a
head is in; an idle keep-alive connection is closed after as long), a request
``body_timeout`` seconds from its head to send the whole body, else it is answered
408 and closed, and a client ``send_timeout`` seconds to take each piece of its
answer, else the connection closes. There is no cap on connections; the timeouts
bound how long a connection that does not play along is kept.
"""

from __future__ import annotations

import socket
from functools import partial
from typing import Any

import trio
from starlette.exceptions import HTTPException

from .http_connection import serve_connection

__all__ = ["BODY_TIMEOUT", "HEAD_TIMEOUT", "SEND_TIMEOUT", "ListenError", "serve_asgi"]

#: Seconds a connection has to send a request head, and an idle one is kept.
HEAD_TIMEOUT = 5.0
#: Seconds a request has, from its head, to send all of its body (8 MiB at 300 KB/s).
BODY_TIMEOUT = 30.0
#: Seconds a client has to take each piece of an answer (the kernel's buffers full).
SEND_TIMEOUT = 30.0
#: Connections the kernel queues before they are accepted.
BACKLOG = 1024


class ListenError(OSError):
    """``host:port`` cannot be listened on; ``errno`` and ``reason`` say why (EADDRINUSE)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        self.host = host
        self.port = port
        self.reason = cause.strerror or str(cause)
        super().__init__(cause.errno, self.reason)

    def __str__(self) -> str:
        return f"cannot listen on {self.host}:{self.port}: {self.reason}"


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    head_timeout: float = HEAD_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    send_timeout: float = SEND_TIMEOUT,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status.started`` gets the port.

    ``head_timeout``, ``body_timeout`` and ``send_timeout``: see the module docstring. Raises
    :class:`ListenError` when the address cannot be bound.
    """
    listener = _listen(host, port)
    task_status.started(listener.socket.getsockname()[1])
    handler = partial(
        serve_connection,
        app=app,
        head_timeout=head_timeout,
        send_timeout=send_timeout,
        body_timeout=body_timeout,
        late_body=_late_body,
    )
    await trio.serve_listeners(handler, [listener])


def _listen(host: str, port: int) -> trio.SocketListener:
    """One listening socket on ``host:port`` (IPv6 when the host is written with colons)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenError(host, port, exc) from None
    return trio.SocketListener(trio.socket.from_stdlib_socket(sock))


def _late_body(seconds: float) -> Exception:
    """A request body not all in ``seconds`` after its head: a 408.

    The app's ``receive`` raises it, so the app answers it as its own error
    (counted, in its own shape); the server then closes the connection, whose
    request was not read to its end.
    """
    return HTTPException(408, f"the request body did not arrive within {seconds:g} s")
