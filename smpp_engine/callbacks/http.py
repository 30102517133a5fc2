"""A small HTTP/1.1 client for callbacks: h11 over trio streams, pooled per origin.

Callbacks are many small POSTs to few receivers. httpx costs about 1.5 ms of CPU
per request here (its pool scans every connection for each request), which caps
a gateway process near 600 callbacks/s; h11 alone, with a pool that is a list of
idle connections per origin, costs a fraction of it. What it does, and no more:

- ``POST`` with a body and headers, the answer's status (the body is read and
  dropped, so the connection can be reused);
- keep-alive: a connection that ends its exchange cleanly goes back to its
  origin's pool (at most ``per_origin`` kept), any other is closed;
- ``https`` with the system's trust store (or a given SSL context), the host name
  checked;
- no redirects (a 3xx is just a status), no proxies, no cookies.

The caller puts the deadline around :meth:`post` (``trio.fail_after``); a
cancelled exchange closes its connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import trio

__all__ = ["CallbackHttp", "HttpError"]

_USER_AGENT = "smpp-engine-callbacks"


class HttpError(Exception):
    """The exchange failed: no connection, a broken one, or a malformed answer."""


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def authority(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class _Connection:
    __slots__ = ("h11", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)


class CallbackHttp:
    """Pooled HTTP/1.1 POSTs; close it with :meth:`aclose`."""

    def __init__(self, *, per_origin: int = 8, ssl_context: ssl.SSLContext | None = None) -> None:
        self.per_origin = per_origin
        self._ssl = ssl_context
        self._idle: dict[_Origin, list[_Connection]] = {}

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` to ``url``; the answer's status. Raises :class:`HttpError`."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url!r}")
        origin = _Origin(
            parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = h11.Request(
            method="POST",
            target=target,
            headers=[
                ("Host", origin.authority),
                ("User-Agent", _USER_AGENT),
                ("Content-Length", str(len(body))),
                *headers.items(),
            ],
        )
        connection = self._idle_connection(origin)
        if connection is not None:
            try:
                return await self._exchange(origin, connection, request, body)
            except HttpError:
                pass  # the receiver closed an idle connection: once more on a fresh one
        connection = await self._connect(origin)
        return await self._exchange(origin, connection, request, body)

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        return idle.pop() if idle else None

    async def _connect(self, origin: _Origin) -> _Connection:
        try:
            stream: trio.abc.Stream = await trio.open_tcp_stream(origin.host, origin.port)
            if origin.scheme == "https":
                context = self._ssl or ssl.create_default_context()
                tls = trio.SSLStream(stream, context, server_hostname=origin.host)
                await tls.do_handshake()
                stream = tls
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise HttpError(f"cannot connect to {origin.authority}: {exc}") from exc
        return _Connection(stream)

    async def _exchange(
        self, origin: _Origin, connection: _Connection, request: h11.Request, body: bytes
    ) -> int:
        conn = connection.h11
        done = False
        try:
            data = (
                conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
            )
            await connection.stream.send_all(data)
            status = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    chunk = await connection.stream.receive_some(65536)
                    conn.receive_data(bytes(chunk))  # b"" tells h11 the peer closed
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise HttpError("the receiver closed the connection")
            done = True
            return status
        except (h11.ProtocolError, OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            await self._release(origin, connection, reusable=done)

    async def _release(self, origin: _Origin, connection: _Connection, *, reusable: bool) -> None:
        conn = connection.h11
        if reusable and conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.per_origin:
                idle.append(connection)
                return
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(connection.stream)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        with trio.CancelScope(shield=True):
            for connections in idle.values():
                for connection in connections:
                    await trio.aclose_forcefully(connection.stream)
