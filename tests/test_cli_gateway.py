"""`smpp-engine gateway` sends what is queued in the store and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import trio

from smpp_engine.store import MessageState, NewMessage, open_store

from .test_cli import _command, run
from .test_cli_sim_send import simulator_port

__all__ = ["simulator_port"]  # the fixture, imported for pytest


async def _queue(url: str, count: int) -> None:
    async with open_store(url) as store:
        await store.accept(
            [
                NewMessage(smsc="default", source="ACME", destination=f"4477009{i:05d}", text="Hi")
                for i in range(count)
            ],
            now=time.time(),
        )


async def _counts(url: str) -> dict[MessageState, int]:
    async with open_store(url) as store:
        return dict(await store.count_by_state())


def test_gateway_delivers_the_queue_and_exits_zero_on_ctrl_c(
    tmp_path: Path, simulator_port: int
) -> None:
    url = f"sqlite:///{tmp_path}/queue.db"
    trio.run(_queue, url, 25)
    command = [
        *_command(), "gateway", "--store", url, "--host", "127.0.0.1",
        "--port", str(simulator_port), "--system-id", "utility", "--window", "4",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"SMPP_ENGINE_PASSWORD": "secret", "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline()) == {
            "event": "running",
            "route": "default",
            "store": "sqlite",
        }
        deadline = time.monotonic() + 60
        while (counts := trio.run(_counts, url)).get(MessageState.DELIVERED, 0) < 25:
            assert time.monotonic() < deadline, counts
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=30)
    assert returncode == 0
    assert counts == {MessageState.DELIVERED: 25}


def test_gateway_refuses_a_bad_store_url_by_name() -> None:
    done = run(
        "gateway", "--store", "mysql://nowhere", "--host", "127.0.0.1", "--port", "1",
        "--system-id", "x", "--password", "y",
    )  # fmt: skip
    assert done.returncode == 2
    assert "--store mysql://nowhere: expected sqlite:///PATH or postgresql://" in done.stderr
