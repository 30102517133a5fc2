"""B6's floors: each, in its own process, answers the engine's requests on one connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import trio

from benchmarks.b6_kannel import cpu_seconds, message
from benchmarks.http_load import HttpConnection
from benchmarks.peers.http_floor import FLOORS


@pytest.mark.parametrize("floor", sorted(FLOORS))
async def test_a_floor_answers_every_request_kept_alive(floor: str) -> None:
    command = [sys.executable, "-m", "benchmarks.peers.http_floor", floor]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        port = json.loads(await trio.to_thread.run_sync(server.stdout.readline))["http_port"]
        client = HttpConnection("127.0.0.1", port, {"X-API-Key": "k"})
        small = [json.dumps(message(n)).encode() for n in range(3)]
        bodies = [small[0], b"x" * 70_000, small[1], small[2]]
        statuses, streams = [], []
        for body in bodies:
            statuses.append(await client.request("POST", "/v1/messages", body, "application/json"))
            streams.append(client._stream)
        assert statuses == [202] * 4
        # The client reconnects without a word when a server closes: all four on one
        # connection means each body, the long one too, was read to its end.
        assert streams[0] is not None and all(s is streams[0] for s in streams)
        await client.aclose()
        assert cpu_seconds([server.pid]) > 0
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_cpu_seconds_counts_what_a_process_spent() -> None:
    before, started = cpu_seconds([os.getpid()]), time.process_time()
    while time.process_time() - started < 0.2:
        sum(range(10_000))
    # /proc counts in clock ticks (10 ms here): the same 0.2 s, give or take a few.
    assert 0.15 <= cpu_seconds([os.getpid()]) - before <= 0.4
