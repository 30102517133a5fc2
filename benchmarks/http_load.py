"""A lean HTTP/1.1 load client: keep-alive connections on raw trio sockets (B6).

httpx spends about 2 ms of CPU per request on this machine: on two cores shared
with the gateway and the simulator it was the ceiling of B6 for every peer, not
the gateways. This client writes each request from a template and reads only the
status line, Content-Length (or chunked framing) and Connection of the answer,
so what B6 measures is the gateway. One connection per worker, reopened when the
server closes it.
"""

from __future__ import annotations

from collections.abc import Mapping

import trio

__all__ = ["HttpConnection"]

_END_OF_HEAD = b"\r\n\r\n"


class HttpConnection:
    """One keep-alive connection to ``host:port`` sending ``headers`` with every request."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        fixed = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._fixed = f"Host: {host}:{port}\r\n{fixed}".encode("latin-1")
        self._stream: trio.SocketStream | None = None
        self._buffer = bytearray()

    async def request(
        self, method: str, target: str, body: bytes = b"", content_type: str | None = None
    ) -> int:
        """Send one request, read its whole answer; return the status code."""
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n".encode("latin-1")
        if body or method != "GET":
            head += f"Content-Length: {len(body)}\r\n".encode("latin-1")
        data = head + b"\r\n" + body
        for attempt in (1, 2):
            stream = await self._open()
            try:
                await stream.send_all(data)
                return await self._response()
            except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError):
                # The server closed an idle keep-alive connection: once more on a new one.
                await self.aclose()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()
        self._stream = None
        self._buffer.clear()

    async def _open(self) -> trio.SocketStream:
        if self._stream is None:
            self._stream = await trio.open_tcp_stream(self.host, self.port)
        return self._stream

    async def _fill(self) -> None:
        assert self._stream is not None
        chunk = await self._stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    async def _response(self) -> int:
        buffer = self._buffer
        while (end := buffer.find(_END_OF_HEAD)) < 0:
            await self._fill()
        head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[: end + 4]
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            await self._skip_chunks()
        else:
            length = int(fields.get("content-length", "0"))
            while len(buffer) < length:
                await self._fill()
            del buffer[:length]
        if fields.get("connection", "").lower() == "close" or head[0].startswith("HTTP/1.0"):
            await self.aclose()
        return status

    async def _skip_chunks(self) -> None:
        buffer = self._buffer
        while True:
            while (end := buffer.find(b"\r\n")) < 0:
                await self._fill()
            size = int(bytes(buffer[:end]).split(b";")[0], 16)
            del buffer[: end + 2]
            while len(buffer) < size + 2:
                await self._fill()
            del buffer[: size + 2]
            if size == 0:
                return
