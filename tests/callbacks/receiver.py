"""A real HTTP receiver on loopback for callback tests: trio sockets and h11, one task per
connection, keep-alive honoured. Each path behaves as told (``ok``: 204, ``fail``: 500,
``stall``: no answer until told otherwise, ``redirect``: 302 elsewhere) and every
request it answers 2xx is recorded with its headers and body, in arrival order."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import h11
import trio


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    modes: dict[str, str] = field(default_factory=dict)
    delivered: list[Received] = field(default_factory=list)
    refused: int = 0
    changed: trio.Event = field(default_factory=trio.Event)

    def url(self, path: str, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def set(self, path: str, mode: str) -> None:
        self.modes[path] = mode
        self.changed.set()
        self.changed = trio.Event()

    async def _mode(self, path: str) -> str:
        while self.modes.get(path, "ok") == "stall":
            await self.changed.wait()
        return self.modes.get(path, "ok")

    async def serve(self, stream: trio.abc.Stream) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await self._read(stream, connection)
                if request is None:
                    return
                path = request.target.decode()
                mode = await self._mode(path)
                headers = {k.decode().lower(): v.decode() for k, v in request.headers}
                if mode == "ok":
                    self.delivered.append(Received(path, headers, body))
                    status, extra = 204, []
                elif mode == "redirect":
                    self.refused += 1
                    status, extra = 302, [("location", "http://127.0.0.1:1/elsewhere")]
                else:
                    self.refused += 1
                    status, extra = 500, []
                response = h11.Response(
                    status_code=status, headers=[*extra, ("content-length", "0")]
                )
                await stream.send_all(
                    connection.send(response) + connection.send(h11.EndOfMessage())
                )
                if connection.our_state is h11.MUST_CLOSE:
                    return
                connection.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return
        finally:
            await stream.aclose()

    @staticmethod
    async def _read(
        stream: trio.abc.Stream, connection: h11.Connection
    ) -> tuple[h11.Request | None, bytes]:
        request: h11.Request | None = None
        body = b""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                connection.receive_data(data)
                if not data and connection.their_state is h11.IDLE:
                    return None, b""
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return request, body
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""


@asynccontextmanager
async def receiving(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A receiver on loopback; over TLS with ``tls`` (a server context)."""
    receiver = Receiver()
    async with trio.open_nursery() as nursery:
        if tls is None:
            serve = functools.partial(trio.serve_tcp, receiver.serve, 0, host="127.0.0.1")
        else:
            serve = functools.partial(
                trio.serve_ssl_over_tcp, receiver.serve, 0, tls, host="127.0.0.1"
            )
        listeners = await nursery.start(serve)
        listener = listeners[0]
        raw = getattr(listener, "transport_listener", listener)
        receiver.port = raw.socket.getsockname()[1]
        yield receiver
        nursery.cancel_scope.cancel()
