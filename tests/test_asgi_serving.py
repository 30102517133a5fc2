"""serve_asgi reports the port it got, an address it cannot bind as a ListenError naming
it, and speaks HTTP/1.1 as clients expect: keep-alive, pipelining, chunked bodies, HEAD,
100-continue, HTTP/1.0, faults of the application and of the client."""

from __future__ import annotations

import errno
import json
import re
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from starlette.applications import Starlette

from smpp_engine.asgi_serving import ListenError, serve_asgi
from smpp_engine.http_connection import MAX_HEAD


async def test_a_free_port_is_reported_and_served() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(lambda task_status: serve_asgi(
            Starlette(), host="127.0.0.1", port=0, task_status=task_status
        ))  # fmt: skip
        assert port > 0
        nursery.cancel_scope.cancel()


async def test_a_port_in_use_is_a_listen_error_naming_the_address() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(ListenError) as raised:
            await serve_asgi(Starlette(), host="127.0.0.1", port=taken)
    error = raised.value
    assert (error.host, error.port, error.errno) == ("127.0.0.1", taken, errno.EADDRINUSE)
    assert str(error) == f"cannot listen on 127.0.0.1:{taken}: Address already in use"


# --- the HTTP/1.1 server itself, over real sockets -------------------------------------


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What a request looked like to the application, as JSON; /boom fails, /mute says nothing."""
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("a fault of the application")
    if path == "/mute":
        return
    body = b""
    if path != "/refuse":  # /refuse answers without reading the body, as a 401 does
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
    seen = {
        "method": scope["method"],
        "path": path,
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "body": body.decode(),
        "client": scope["client"][0],
        "server_port": scope["server"][1],
        "version": scope["http_version"],
    }
    data = json.dumps(seen).encode()
    status = 401 if path == "/refuse" else 200
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


@asynccontextmanager
async def _serving(app: Any = _app) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_asgi(app, host="127.0.0.1", port=0, task_status=task_status)
        )
        yield port
        nursery.cancel_scope.cancel()


async def _exchange(port: int, data: bytes, *, wait: float = 2.0) -> tuple[bytes, bool]:
    """Send ``data`` on one connection; what came back, and whether the server closed it."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    answer = b""
    closed = False
    async with stream:
        await stream.send_all(data)
        with trio.move_on_after(wait):
            while chunk := await stream.receive_some(65536):
                answer += chunk
            closed = True
    return answer, closed


def _bodies(answer: bytes) -> list[dict[str, Any]]:
    return [json.loads(m) for m in re.findall(rb"\r\n\r\n(\{.*?\})(?=HTTP/|$)", answer)]


async def test_requests_on_one_kept_alive_connection_are_answered_in_order() -> None:
    async with _serving() as port:
        answer, closed = await _exchange(
            port,
            b"GET /a%20b?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            wait=1.0,
        )
    assert not closed  # kept alive for the next request
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert b"\r\ndate: " in answer
    first, second, third = _bodies(answer)
    assert (first["path"], first["raw_path"], first["query"]) == ("/a b", "/a%20b", "x=1")
    assert (first["client"], first["server_port"], first["version"]) == ("127.0.0.1", port, "1.1")
    assert (second["method"], second["body"]) == ("POST", "hello")
    assert third["body"] == "abcde"


async def test_a_head_request_gets_the_headers_without_the_body() -> None:
    async with _serving() as port:
        answer, _ = await _exchange(port, b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", wait=0.5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: " in head
    assert body == b""


async def test_an_http_1_0_request_is_answered_and_the_connection_closed() -> None:
    async with _serving() as port:
        answer, closed = await _exchange(port, b"GET /old HTTP/1.0\r\n\r\n")
    assert closed
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert _bodies(answer)[0]["version"] == "1.0"


async def test_a_client_expecting_100_continue_is_told_to_go_on() -> None:
    async with _serving() as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(
                b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            with trio.fail_after(5):
                interim = await stream.receive_some(65536)
            assert interim.startswith(b"HTTP/1.1 100 ")
            await stream.send_all(b"ok")
            with trio.fail_after(5):
                answer = await stream.receive_some(65536)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert _bodies(answer)[0]["body"] == "ok"


async def test_an_answer_given_before_the_body_was_read_arrives_and_the_connection_closes() -> None:
    """As a 401 does: the client, still sending its body, reads the whole answer (no
    reset), and the connection, whose body was not read, is not used again."""
    async with _serving() as port:
        answer, closed = await _exchange(
            port,
            b"POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000,
        )
    assert closed
    assert answer.startswith(b"HTTP/1.1 401 Unauthorized")
    assert _bodies(answer)[0]["path"] == "/refuse"


async def test_an_application_fault_is_a_500_and_the_server_serves_on() -> None:
    async with _serving() as port:
        failed, closed = await _exchange(port, b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
        mute, mute_closed = await _exchange(port, b"GET /mute HTTP/1.1\r\nHost: t\r\n\r\n")
        after, _ = await _exchange(port, b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n", wait=0.5)
    assert failed.startswith(b"HTTP/1.1 500 Internal Server Error") and closed
    assert mute.startswith(b"HTTP/1.1 500 Internal Server Error") and mute_closed
    assert _bodies(after)[0]["path"] == "/after"


async def test_a_malformed_or_oversized_head_is_refused_and_closed() -> None:
    async with _serving() as port:
        garbled, garbled_closed = await _exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
        huge, huge_closed = await _exchange(
            port, b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n"
        )
    assert garbled.startswith(b"HTTP/1.1 400 Bad Request") and garbled_closed
    assert huge.startswith(b"HTTP/1.1 431 Request Header Fields Too Large") and huge_closed


async def test_clients_resetting_at_once_leave_the_server_serving() -> None:
    """Connections reset before, during and after their head: each ends alone."""
    linger = struct.pack("ii", 1, 0)  # close = reset
    async with _serving() as port:
        for data in (b"", b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"):
            for _ in range(20):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                if data:
                    sock.sendall(data)
                sock.close()
        await trio.sleep(0.2)
        answer, _ = await _exchange(port, b"GET /still HTTP/1.1\r\nHost: t\r\n\r\n", wait=0.5)
    assert _bodies(answer)[0]["path"] == "/still"


async def test_a_client_that_stops_reading_its_answer_is_cut_off_after_the_send_timeout() -> None:
    cut: list[float] = []

    async def flood(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = trio.current_time()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(1000):  # far more than the kernel's buffers hold
                await send(
                    {"type": "http.response.body", "body": b"x" * 1_000_000, "more_body": True}
                )
        except trio.BrokenResourceError:
            cut.append(trio.current_time() - started)
            raise

    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_asgi(
                flood, host="127.0.0.1", port=0, send_timeout=1.0, task_status=task_status
            )
        )
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            with trio.fail_after(10):  # reads nothing meanwhile
                while not cut:
                    await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert cut[0] >= 1.0, cut  # not before the timeout
