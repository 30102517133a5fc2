"""Slow HTTP clients hold connections; the gateway still serves everyone else, and cuts them off.

Against a real ``smpp-engine run``: 100 clients send a request head one byte a
second, 100 connect and send nothing, one sends a head announcing a 1 GB body
and trickles it. Meanwhile an ordinary client gets its 201 and /healthz answers
within a few seconds each time; the heads that do not arrive are closed after
the head timeout, and the trickled body is answered 408 and closed after the
body timeout (see smpp_engine/asgi_serving.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smpp_engine.asgi_serving import BODY_TIMEOUT, HEAD_TIMEOUT, serve_asgi
from smpp_engine.simulator import parse_scenario
from tests.simulator.helpers import running

from . import harness

pytestmark = pytest.mark.slow

SCENARIO = {"accounts": [{"system_id": "gateway", "password": harness.SMSC_PASSWORD}]}


class SlowClient:
    """One connection that sends ``head`` at once, then ``trickle`` a byte every ``every``
    seconds, and keeps what the server answers until it closes the connection."""

    def __init__(self, port: int, head: bytes = b"", trickle: bytes = b"", every: float = 1.0):
        self.port = port
        self.head = head
        self.trickle = trickle
        self.every = every
        self.answer = b""
        self.held = 0.0  # seconds the server kept the connection
        self.closed = trio.Event()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        opened = trio.current_time()
        task_status.started()
        async with stream, trio.open_nursery() as nursery:
            nursery.start_soon(self._dribble, stream)
            try:
                while chunk := await stream.receive_some(65536):
                    self.answer += chunk
            except trio.BrokenResourceError:  # reset: closed with our bytes unread
                pass
            self.held = trio.current_time() - opened
            self.closed.set()
            nursery.cancel_scope.cancel()

    async def _dribble(self, stream: trio.SocketStream) -> None:
        try:
            if self.head:
                await stream.send_all(self.head)
            for byte in self.trickle:
                await trio.sleep(self.every)
                await stream.send_all(bytes([byte]))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        await trio.sleep_forever()


def _head(port: int, *, length: int, key: bool = True) -> bytes:
    lines = [
        "POST /v1/messages HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if key:
        lines.append(f"X-API-Key: {harness.KEY}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_slow_clients_do_not_starve_the_api(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    figures: dict[str, object] = {}
    with trio.fail_after(BODY_TIMEOUT + 60):
        async with running(parse_scenario(SCENARIO)) as sim:
            config = harness.write_config(tmp_path, store_url, sim.port)
            gateway = await harness.GatewayProcess.start(config)
            try:
                port = gateway.started["http_port"]
                slow_heads = [
                    SlowClient(port, b"POST /v1/messages HTTP/1.1\r\n", b"X-Slow: " + b"a" * 200)
                    for _ in range(100)
                ]
                silent = [SlowClient(port) for _ in range(100)]
                trickler = SlowClient(port, _head(port, length=10**9), b'{"to": "' + b"1" * 200)
                async with trio.open_nursery() as nursery:
                    for client in [*slow_heads, *silent, trickler]:
                        await nursery.start(client.run)
                    started = trio.current_time()
                    ids = []
                    async with gateway.client() as api:
                        for n in range(5):
                            with trio.fail_after(10):
                                healthz = await api.get("/healthz")
                                answer = await api.post(
                                    "/v1/messages",
                                    json={"to": f"+4477009{n:05d}", "from": "ACME", "text": "hi"},
                                )
                            assert healthz.status_code == 200, healthz.text
                            assert answer.status_code == 201, answer.text
                            ids.append(answer.json()["id"])
                            await trio.sleep(1.0)
                    # The heads that never came are closed after the head timeout...
                    for client in [*slow_heads, *silent]:
                        with trio.fail_after(HEAD_TIMEOUT + 20):
                            await client.closed.wait()
                    figures["head_cut_after_s"] = round(
                        max(c.held for c in [*slow_heads, *silent]), 1
                    )
                    # ... and the trickled body is a 408 after the body timeout.
                    with trio.fail_after(BODY_TIMEOUT + 30):
                        await trickler.closed.wait()
                    figures["body_cut_after_s"] = round(trickler.held, 1)
                    figures["waited_s"] = round(trio.current_time() - started, 1)
                    nursery.cancel_scope.cancel()
                assert trickler.answer.startswith(b"HTTP/1.1 408"), trickler.answer[:300]
                assert all(c.answer == b"" for c in [*slow_heads, *silent])
                assert gateway.alive
                counts = await harness.all_final(store_url, len(ids), timeout=30)
                assert counts == {"delivered": len(ids)}, counts
            finally:
                code = await gateway.stop()
            assert code == 0, gateway.errors_logged()[-3000:]
    print("slow clients:", figures)


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"length": len(body)})


async def test_serve_asgi_cuts_a_slow_body_and_lets_a_timely_one_through() -> None:
    """The body deadline itself, with short timeouts: a body trickled past it is a 408
    and the connection closes; one sent in pieces within it is served."""
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"])])
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            lambda task_status: serve_asgi(
                app,
                host="127.0.0.1",
                port=0,
                head_timeout=1.0,
                body_timeout=2.0,
                task_status=task_status,
            )
        )
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        slow = SlowClient(port, head, b"0123456789", every=0.5)
        timely = SlowClient(port, head, b"0123456789", every=0.05)
        silent = SlowClient(port)
        with trio.fail_after(20):
            for client in (slow, timely, silent):
                await nursery.start(client.run)
            # The timely one too: closed once idle for the head timeout (keep-alive).
            for client in (timely, slow, silent):
                await client.closed.wait()
        nursery.cancel_scope.cancel()
    assert slow.answer.startswith(b"HTTP/1.1 408"), slow.answer
    assert b"within 2 s" in slow.answer
    assert timely.answer.startswith(b"HTTP/1.1 200"), timely.answer
    assert timely.answer.endswith(b'{"length":10}')
    assert silent.answer == b""
