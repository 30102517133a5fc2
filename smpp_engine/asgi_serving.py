"""Serving an ASGI application with Hypercorn's trio worker, for every HTTP face of the engine.

The simulator's control API and the gateway's HTTP API both bind one address,
report the port they got (port 0 picks a free one) and serve until cancelled.
An address that cannot be listened on (in use, a port below 1024 without the
right) is a :class:`ListenError` naming it, not an OSError deep in exception groups.

Slow clients cannot hold the server: a connection gets ``head_timeout`` seconds to
send a whole request head (Hypercorn's keep-alive timer, which runs from the
connection's start or its last answer until a head is in; an idle keep-alive
connection is closed after as long), and a request ``body_timeout`` seconds from
its head to send the whole body, else it is answered 408 and closed. Hypercorn's
``read_timeout`` is not used: it also runs while the client rightly waits for a
slow answer. Hypercorn has no cap on connections; the timeouts bound how long a
connection that does not play along is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.exceptions import HTTPException

__all__ = ["BODY_TIMEOUT", "HEAD_TIMEOUT", "ListenError", "serve_asgi"]

#: Seconds a connection has to send a request head, and an idle one is kept.
HEAD_TIMEOUT = 5.0
#: Seconds a request has, from its head, to send all of its body (8 MiB at 300 KB/s).
BODY_TIMEOUT = 30.0


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
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status.started`` gets the port.

    ``head_timeout`` and ``body_timeout``: see the module docstring. Raises
    :class:`ListenError` when the address cannot be bound.
    """
    config = Config()
    config.keep_alive_timeout = head_timeout
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None  # request lines would carry query strings; the app counts requests
    config.loglevel = "WARNING"  # its "Running on ..." line is not in the engine's log format
    config.graceful_timeout = 0.5
    failure: OSError | None = None
    async with trio.open_nursery() as nursery:
        try:
            binds: list[str] = await nursery.start(serve, _BodyDeadline(app, body_timeout), config)
        except (OSError, BaseExceptionGroup) as exc:
            failure = _bind_failure(exc)
            if failure is None:
                raise
        else:
            task_status.started(int(binds[0].rsplit(":", 1)[1]))
    if failure is not None:
        # Raised out here, not in the nursery, so it is not wrapped in a group.
        raise ListenError(host, port, failure) from None


class _BodyDeadline:
    """ASGI wrapper: a request body not all in ``seconds`` after its head is a 408.

    The app's ``receive`` raises Starlette's HTTPException(408) at the deadline, so
    the app answers it as its own error (counted, in its own shape); the server
    then closes the connection, whose request was not read to its end.
    """

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = trio.current_time() + self.seconds
        body_done = False

        async def receive_in_time() -> Any:
            nonlocal body_done
            if body_done:  # only the disconnect is left to come: no hurry
                return await receive()
            with trio.move_on_at(deadline):
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body")
                return message
            raise HTTPException(408, f"the request body did not arrive within {self.seconds:g} s")

        await self.app(scope, receive_in_time, send)


def _bind_failure(exc: BaseException) -> OSError | None:
    """The one OSError a failed start came down to (Hypercorn nests it in groups), if any."""
    if isinstance(exc, OSError):
        return exc
    if not isinstance(exc, BaseExceptionGroup):
        return None
    matched, rest = exc.split(OSError)
    if matched is None or rest is not None:
        return None
    leaves = list(_leaves(matched))
    return leaves[0] if len(leaves) == 1 and isinstance(leaves[0], OSError) else None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
