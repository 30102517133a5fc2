"""SIGKILL the gateway mid-run, again and again: nothing is lost, duplicates stay within the window.

The gateway is a real subprocess (tests/pipeline/gateway_process.py) on a
SQLite store; the simulator runs here and records every submit it accepted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import trio

from smpp_engine.simulator import parse_scenario
from smpp_engine.store import MessageState, NewMessage
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 1500
WINDOW = 16
BINDS = 2
RATE = 400.0  # segments/s: slow enough that every kill lands mid-run
KILL_AT = (0.15, 0.4, 0.65)  # fractions of the messages submitted


class Gateway:
    """One run of the gateway process and the progress lines it printed."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.last: dict[str, Any] = {}
        self.done = False

    async def read(self, until: Any) -> None:
        """Read progress lines until ``until(counts)`` is true or the run is done."""
        assert self.process.stdout is not None
        buffer = b""
        async for chunk in self.process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = json.loads(line)
                self.last = event["counts"]
                if event["event"] == "done":
                    self.done = True
                    return
                if until(self.last):
                    return


def started(counts: dict[str, int]) -> int:
    return sum(n for state, n in counts.items() if state not in ("queued", "submitting"))


async def start_gateway(store: Path, port: int) -> Gateway:
    command = [
        sys.executable,
        "-m",
        "tests.pipeline.gateway_process",
        str(store),
        str(port),
        str(WINDOW),
        str(BINDS),
        str(RATE),
    ]
    process = await trio.lowlevel.open_process(command, stdout=subprocess.PIPE, cwd=ROOT)
    return Gateway(process)


async def test_sigkill_mid_run_loses_nothing_and_duplicates_stay_within_the_window(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "gateway.db"
    destinations = [f"4477009{i:05d}" for i in range(MESSAGES)]
    async with open_sqlite_store(store_path) as store:
        accepted = await store.accept(
            [
                NewMessage(smsc="sim", source="ACME", destination=d, text=f"Debt notice {i}")
                for i, d in enumerate(destinations)
            ],
            now=time.time(),
        )
    assert len({a.message_id for a in accepted}) == MESSAGES

    scenario = parse_scenario({"accounts": [{"system_id": "gateway", "password": "secret"}]})
    kills = 0
    async with running(scenario) as sim:
        with trio.fail_after(180):
            for fraction in KILL_AT:
                gateway = await start_gateway(store_path, sim.port)
                await gateway.read(lambda counts, f=fraction: started(counts) >= f * MESSAGES)
                assert not gateway.done, "the run ended before it could be killed"
                gateway.process.send_signal(signal.SIGKILL)
                await gateway.process.wait()
                kills += 1
            gateway = await start_gateway(store_path, sim.port)
            await gateway.read(lambda counts: False)
            await gateway.process.wait()
        records = sim.messages(system_id="gateway")

    assert gateway.done and gateway.process.returncode == 0
    # Nothing lost: every consumer's notice reached the SMSC ...
    received = Counter(record.destination for record in records)
    assert set(received) == set(destinations)
    # ... and the store knows each one was delivered.
    async with open_sqlite_store(store_path) as store:
        counts = await store.count_by_state()
        assert counts.get(MessageState.DELIVERED, 0) == MESSAGES, counts
        views = [await store.get(a.message_id) for a in accepted]
    assert all(v is not None and v.state is MessageState.DELIVERED for v in views)
    # Duplicates only where a kill caught a submit whose outcome was not durable yet:
    # at most the route's unsettled limit (both windows, twice) per kill.
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= kills * 2 * WINDOW * BINDS, (duplicates, kills)
    flagged = {v.destination for v in views if v is not None and v.possible_duplicate}
    assert {d for d, n in received.items() if n > 1} <= flagged
