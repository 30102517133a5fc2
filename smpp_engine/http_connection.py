"""One HTTP/1.1 connection served to an ASGI application: h11 parses, trio carries the bytes.

A connection is one trio task for its whole life: it reads a request head,
runs the application on it, and reads the next head on the same connection
(keep-alive) once the answer is out and the request's body was read to its end;
otherwise it closes. Nothing more is spawned per request: a server that starts a
task, timers and locks for each request spends more on them than the gateway
spends storing the message (B6).

The response head is held back until the first body piece, so that an ordinary
answer leaves in one write. A request head must arrive within ``head_timeout``
seconds of the connection's start or of its last answer, else the connection
closes without an answer (a client that never speaks, or speaks too slowly,
holds nothing for long), and a client must take the answer's bytes within
``send_timeout`` seconds of each write, else the connection closes. The body
must arrive within ``body_timeout`` seconds of its head: the application's
``receive`` then raises the exception ``late_body`` makes, for the application
to answer as its own error (see :mod:`.asgi_serving`). The body's deadline is
watched only while a read waits: a body already in, the usual case, costs no
timer.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import suppress
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import h11
import structlog
import trio

__all__ = ["MAX_HEAD", "serve_connection"]

_log = structlog.get_logger("smpp_engine.http")

#: Bytes a request head may take (about: a longer one is answered 431 and closed).
MAX_HEAD = 16 * 1024
_READ_SIZE = 65536
# A body left unread is drained this long, this far, before the connection closes.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1 << 20

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]
LateBody = Callable[[float], Exception]

_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
_ASGI = {"version": "3.0", "spec_version": "2.3"}


class _Date:
    """The Date header's value, formatted once a second."""

    second = -1
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.value = email.utils.formatdate(second, usegmt=True).encode("ascii")
            cls.second = second
        return cls.value


def _address(name: Any) -> tuple[str, int] | None:
    return (str(name[0]), int(name[1])) if isinstance(name, tuple) and len(name) >= 2 else None


def _late_body(seconds: float) -> Exception:
    return TimeoutError(f"the request body did not arrive within {seconds:g} s")


async def serve_connection(
    stream: trio.SocketStream,
    app: App,
    *,
    head_timeout: float,
    send_timeout: float,
    body_timeout: float = math.inf,
    late_body: LateBody = _late_body,
) -> None:
    """Serve requests on ``stream`` until the client or a rule closes it; then close it.

    Nothing a client does escapes this function: a fault it did not foresee is logged
    and ends this connection alone, never the listener and the connections beside it.
    """
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    try:
        peer = _address(stream.socket.getpeername())
        local = _address(stream.socket.getsockname())
        while True:
            event = None
            with trio.move_on_after(head_timeout):
                event = await _next_head(stream, connection)
            if not isinstance(event, h11.Request):
                return  # no head in time, or the client closed
            cycle = _Cycle(
                stream,
                connection,
                event,
                send_timeout,
                body_timeout=body_timeout,
                late_body=late_body,
            )
            await cycle.run(app, peer, local)
            if not cycle.reusable():
                if connection.their_state is h11.SEND_BODY:
                    await _linger(stream)
                return
            connection.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        await _refuse(stream, connection, exc)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # the client went away (reset, or gone before its address could be read)
    except Exception:
        _log.exception("HTTP connection failed; closed")
    finally:
        await trio.aclose_forcefully(stream)


async def _next_head(stream: trio.SocketStream, connection: h11.Connection) -> Any:
    """The next request head (or the client's close); RemoteProtocolError (431) when more
    than :data:`MAX_HEAD` bytes came without completing one."""
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            return event
        if len(connection.trailing_data[0]) >= MAX_HEAD:
            raise h11.RemoteProtocolError("request head too long", error_status_hint=431)
        connection.receive_data(await stream.receive_some(MAX_HEAD))


async def _linger(stream: trio.SocketStream) -> None:
    """Answered before the body was read (a 401, a 408): the client may still be
    sending it. Closing now would reset the connection and could destroy the answer
    before the client reads it, so say we are done, then read and drop what comes,
    a little while."""
    with trio.move_on_after(_LINGER_SECONDS):
        await stream.send_eof()
        drained = 0
        while drained < _LINGER_BYTES and (chunk := await stream.receive_some(_READ_SIZE)):
            drained += len(chunk)


async def _refuse(
    stream: trio.SocketStream, connection: h11.Connection, exc: h11.RemoteProtocolError
) -> None:
    """Answer a request h11 could not read (400, or 431 for an oversized head), if we may."""
    if connection.our_state not in {h11.IDLE, h11.SEND_RESPONSE}:
        return
    status = exc.error_status_hint
    body = f"{status} {_REASONS.get(status, b'').decode()}: {exc}\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
        (b"date", _Date.now()),
    ]
    try:
        data = connection.send(
            h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
        )
        data += connection.send(h11.Data(data=body)) + connection.send(h11.EndOfMessage())
        with trio.move_on_after(1.0):
            await stream.send_all(data)
        await _linger(stream)  # the rest of what it sent must not reset the answer
    except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # it went away: nothing to answer


class _Cycle:
    """One request and its answer: the ASGI ``receive`` and ``send`` of one call."""

    __slots__ = (
        "_answered",
        "_body_deadline",
        "_body_done",
        "_body_timeout",
        "_connection",
        "_head",
        "_headers",
        "_late_body",
        "_request",
        "_send_timeout",
        "_status",
        "_stream",
        "broken",
        "finished",
        "started",
    )

    def __init__(
        self,
        stream: trio.SocketStream,
        connection: h11.Connection,
        request: h11.Request,
        send_timeout: float,
        *,
        body_timeout: float = math.inf,
        late_body: LateBody = _late_body,
    ) -> None:
        self._stream = stream
        self._send_timeout = send_timeout
        self._body_timeout = body_timeout
        self._body_deadline = trio.current_time() + body_timeout
        self._late_body = late_body
        self._connection = connection
        self._request = request
        self._head = request.method == b"HEAD"
        self._body_done = False
        self._answered = trio.Event()
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self.started = False  # the application began its answer
        self.finished = False  # the answer is out, to its end
        self.broken = False  # the connection cannot carry another request

    async def run(self, app: App, peer: tuple[str, int] | None, local: Any) -> None:
        request = self._request
        path, _, query = request.target.partition(b"?")
        scope: Message = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.http_version.decode("ascii"),
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": unquote(path.decode("ascii", "replace")),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": list(request.headers),
            "client": peer,
            "server": local,
        }
        try:
            await app(scope, self.receive, self.send)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.broken = True  # the client went away while we answered
            return
        except Exception:
            self.broken = True
            _log.exception(
                "HTTP request failed in the application", method=scope["method"], path=scope["path"]
            )
            if not self.started:
                await self._answer_error(500)
            return
        if not self.finished:
            self.broken = True
            _log.error(
                "HTTP application returned without finishing its answer",
                method=scope["method"],
                path=scope["path"],
            )
            if not self.started:
                await self._answer_error(500)

    def reusable(self) -> bool:
        """Whether the next request may come on this connection: the answer is out and
        the request was read to its end (a bodiless request's end, which the
        application had no reason to ask for, is taken here)."""
        connection = self._connection
        if self.broken or connection.our_state is not h11.DONE:
            return False
        if connection.their_state is h11.SEND_BODY and not self._body_done:
            # Only what h11 holds already: a body left unread closes the connection.
            event = connection.next_event()
            while type(event) is h11.Data and not event.data:
                event = connection.next_event()
            self._body_done = type(event) is h11.EndOfMessage
        return connection.their_state is h11.DONE

    async def receive(self) -> Message:
        if self._body_done or self.broken:
            # Nothing more comes in this cycle: the disconnect, once the answer is out.
            await self._answered.wait()
            return {"type": "http.disconnect"}
        connection = self._connection
        if connection.they_are_waiting_for_100_continue:
            await self._write(
                connection.send(h11.InformationalResponse(status_code=100, headers=[]))
            )
        try:
            event = await self._next_body_event()
        except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            self.broken = True  # the client closed before its body was in
            self._body_done = True
            return {"type": "http.disconnect"}
        if type(event) is h11.Data:
            return {"type": "http.request", "body": bytes(event.data), "more_body": True}
        self._body_done = True
        if type(event) is h11.EndOfMessage:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.broken = True
        return {"type": "http.disconnect"}

    async def _next_body_event(self) -> Any:
        """The next body event; the application's error from ``late_body`` when the
        body is not all in by its deadline."""
        connection = self._connection
        while True:
            event = connection.next_event()
            if event is not h11.NEED_DATA:
                return event
            with trio.move_on_at(self._body_deadline):
                connection.receive_data(await self._stream.receive_some(_READ_SIZE))
                continue
            raise self._late_body(self._body_timeout)

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self._status = int(message["status"])
            self._headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self.started or self.finished:
            raise RuntimeError("http.response.body sent before the start or after the end")
        connection = self._connection
        pieces = []
        if self._status:
            headers = self._headers
            if not any(name.lower() == b"date" for name, _ in headers):
                headers.append((b"date", _Date.now()))
            pieces.append(
                connection.send(
                    h11.Response(
                        status_code=self._status,
                        headers=headers,
                        reason=_REASONS.get(self._status, b""),
                    )
                )
            )
            self._status = 0
        body = message.get("body", b"")
        if body and not self._head:
            pieces.append(connection.send(h11.Data(data=body)))
        if not message.get("more_body", False):
            pieces.append(connection.send(h11.EndOfMessage()))
            self.finished = True
        try:
            await self._write(b"".join(p for p in pieces if p))
        finally:
            if self.finished:
                self._answered.set()

    async def _write(self, data: bytes) -> None:
        """Write ``data``; a client that takes none of it for the send timeout is cut off
        (BrokenResourceError), so one that stops reading holds nothing for long."""
        with trio.move_on_after(self._send_timeout):
            await self._stream.send_all(data)
            return
        self.broken = True
        raise trio.BrokenResourceError(
            f"the client read nothing of the answer for {self._send_timeout:g} s"
        )

    async def _answer_error(self, status: int) -> None:
        body = _REASONS[status] + b"\n"
        self.started = True
        self._status = status
        self._headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        with suppress(h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            await self.send({"type": "http.response.body", "body": body})
