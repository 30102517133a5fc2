"""B6's floors: HTTP servers that answer ``POST /v1/messages`` and do nothing else.

Each answers every request ``202`` with a fixed JSON body, stores nothing and
sends no SMS, so the rate B6's load client gets from one is the most any front
door built that way could reach on this machine, and its CPU per request is
what that layer alone costs. Four, each one layer more than the one before:

- ``bare``: trio sockets, the head split by hand (Content-Length only);
- ``h11``: h11 reads the request and writes the answer, on trio;
- ``server``: the engine's own HTTP server (``serve_asgi``) with a raw ASGI app;
- ``starlette``: the same server with a Starlette app of one route;
- ``httptools``, only where httptools is installed (it is not a dependency of the
  project): trio sockets, llhttp's C parser reading the requests, for the cost of
  the one layer a C parser would replace.

The engine's front door is ``starlette`` plus its gate (keys, metrics), the JSON
body read and validated, the durable accept and the SMPP submit.

    python -m benchmarks.peers.http_floor {bare,h11,server,starlette,httptools}

prints ``{"http_port": N}`` on its first line once listening on loopback, and
serves until terminated.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import h11
import trio

__all__ = ["FLOORS"]

_BODY = b'{"message_id":1,"state":"queued"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]
_BARE_ANSWER = (
    b"HTTP/1.1 202 Accepted\r\n"
    + b"".join(name + b": " + value + b"\r\n" for name, value in _HEADERS)
    + b"\r\n"
    + _BODY
)
_END_OF_HEAD = b"\r\n\r\n"


async def _bare(stream: trio.SocketStream) -> None:
    """Keep-alive requests with a Content-Length body, answered in one write each."""
    buffer = b""
    async with stream:
        while True:
            while (end := buffer.find(_END_OF_HEAD)) < 0:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                buffer += chunk
            length = 0
            for line in buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < end + 4 + length:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                buffer += chunk
            buffer = buffer[end + 4 + length :]
            await stream.send_all(_BARE_ANSWER)


async def _h11(stream: trio.SocketStream) -> None:
    """h11 reads each request to its end and writes the answer."""
    connection = h11.Connection(h11.SERVER)
    async with stream:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                connection.receive_data(chunk)
            elif type(event) is h11.EndOfMessage:
                data = connection.send(h11.Response(status_code=202, headers=_HEADERS))
                data += connection.send(h11.Data(data=_BODY))
                data += connection.send(h11.EndOfMessage())
                await stream.send_all(data)
                connection.start_next_cycle()
            elif type(event) is h11.ConnectionClosed:
                return


class _Requests:
    """httptools' callbacks: counts the requests read to their end."""

    def __init__(self) -> None:
        self.complete = 0

    def on_message_complete(self) -> None:
        self.complete += 1


async def _httptools(stream: trio.SocketStream) -> None:
    """httptools (llhttp, in C) reads the requests; each answered in one write."""
    import httptools  # type: ignore[import-not-found]  # noqa: PLC0415

    requests = _Requests()
    parser = httptools.HttpRequestParser(requests)
    async with stream:
        while chunk := await stream.receive_some(65536):
            parser.feed_data(chunk)
            if requests.complete:
                await stream.send_all(_BARE_ANSWER * requests.complete)
                requests.complete = 0


async def _raw_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that reads the body to its end and answers 202."""
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


def _starlette_app() -> Any:
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    async def post_message(request: Request) -> Response:
        await request.body()
        return Response(_BODY, status_code=202, media_type="application/json")

    return Starlette(routes=[Route("/v1/messages", post_message, methods=["POST"])])


async def _serve_handler(handler: Callable[[trio.SocketStream], Awaitable[None]]) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    _announce(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handler, listeners)


async def _serve_app(app: Any) -> None:
    from smpp_engine.asgi_serving import serve_asgi  # noqa: PLC0415

    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_asgi, app, host="127.0.0.1", port=0))
        _announce(port)


def _announce(port: int) -> None:
    import structlog  # noqa: PLC0415

    from smpp_engine.heap import settle_after_start  # noqa: PLC0415

    # Logs to stderr: the first line on stdout is the port, for whoever started us.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    settle_after_start()  # as the engine's processes do once started
    print(json.dumps({"http_port": port}), flush=True)


FLOORS: dict[str, Callable[[], Awaitable[None]]] = {
    "bare": partial(_serve_handler, _bare),
    "h11": partial(_serve_handler, _h11),
    "server": partial(_serve_app, _raw_app),
    "starlette": lambda: _serve_app(_starlette_app()),
}
if importlib.util.find_spec("httptools") is not None:
    # Not a dependency of the project: a floor for a C parser, where one is installed.
    FLOORS["httptools"] = partial(_serve_handler, _httptools)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("floor", choices=sorted(FLOORS))
    args = parser.parse_args()
    try:
        trio.run(FLOORS[args.floor])
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
