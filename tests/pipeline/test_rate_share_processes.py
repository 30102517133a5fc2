"""One SMSC account's throughput across real gateway processes on one PostgreSQL (and,
with two processes, on one SQLite file, which the store lets processes share).

Two or three ``smpp-engine run`` processes share a database and an account
with ``throughput = 50``; each binds to the one simulator (running here) under
a system_id of its own, so the simulator's records tell who sent what and when
(their wall time). The rates are counted over windows of several seconds, not
timed per message:

- combined over a 6 s window (300 submits at the limit): within 5% of the limit
  (the issue's tolerance). A window's count is off by at most a submit or two at
  its edges and each process's burst (one second of its share) can only be
  spent after it fell behind, so a window this long holds the limit to about 1%;
  the 5% is the margin for a loaded machine, where a process that falls behind
  for a moment catches up within its burst.
- after a SIGKILL: the survivors' window starts 5 s after the kill. The dead
  process's share returns once its row runs out (3 s after its last renewal, at
  most 1 s before the kill) and the survivors renew (every second): at most 4 s.
  A window still at the old shares would count 50% (two processes) or 67%
  (three), far outside the 5%.
- the adaptive cut: a throttle episode on one process's bind cuts the account to
  half; the other process, which got no throttle answer, follows. Its rate over
  a 4 s window from 2.5 s after the cut (the cut is followed within a second;
  the rate then climbs a sixtieth of the ceiling per second) is about 55-60% of
  what it was; below 70% is asserted, where not following would leave it at 100%.

Marked slow: each case runs real processes for 18-28 s here (70 s together),
over 30 s on a loaded machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import NewMessage, open_store

from ..simulator.helpers import running
from ..store.conftest import store_url_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 50.0
WINDOW = 6.0
TOLERANCE = 0.05
MESSAGES = 4000
SYSTEM_IDS = ("gw1", "gw2", "gw3")


def scenario(throttled: str | None = None) -> object:
    """Every gateway's account; ``throttled``'s binds answer ESME_RTHROTTLED over 1/s."""
    return parse_scenario(
        {
            "accounts": [
                {"system_id": s, "password": "secret", **({"tps": 1} if s == throttled else {})}
                for s in SYSTEM_IDS
            ]
        }
    )


def config(tmp_path: Path, dsn: str, port: int) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(
        f"""
[store]
url = "{dsn}"

[log]
level = "warning"
format = "json"

[http]
enabled = false

[simulator]
enabled = false

[[smsc]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "gw1"
password = "secret"
window = 16
throughput = {LIMIT}
"""
    )
    return path


def start(config_path: Path, system_id: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SMPP_ENGINE__SMSC__SIM__SYSTEM_ID": system_id}
    return subprocess.Popen(
        [sys.executable, "-m", "smpp_engine", "run", "--config", str(config_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def sent_between(
    sim: Simulator, start_at: float, end_at: float, system_id: str | None = None
) -> int:
    return sum(
        1
        for record in sim.records
        if start_at <= record.wall_time < end_at
        and (system_id is None or record.system_id == system_id)
    )


@asynccontextmanager
async def gateways(
    tmp_path: Path, count: int, sim: Simulator, kind: str = "postgresql"
) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """``count`` gateway processes on a fresh store of ``kind`` with MESSAGES queued."""
    processes: list[subprocess.Popen[bytes]] = []
    async with store_url_of(kind, tmp_path) as url:
        try:
            async with open_store(url) as store:
                for first in range(0, MESSAGES, 1000):
                    await store.accept(
                        [
                            NewMessage(
                                smsc="sim", source="ACME", destination=f"4477{i:08d}", text="x"
                            )
                            for i in range(first, first + 1000)
                        ],
                        now=time.time(),
                    )
            path = config(tmp_path, url, sim.port)
            processes = [start(path, system_id) for system_id in SYSTEM_IDS[:count]]
            yield processes
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                await trio.to_thread.run_sync(process.wait)


async def all_sending(sim: Simulator, system_ids: Sequence[str]) -> None:
    """Until each of ``system_ids`` submitted in the last second, then the shares settle."""
    with trio.fail_after(60):
        while True:
            now = time.time()
            if all(sent_between(sim, now - 1, now, s) for s in system_ids):
                break
            await trio.sleep(0.2)
    # Every holder has renewed since the last one joined (each renews every second).
    await trio.sleep(2.5)


async def window_rate(sim: Simulator, seconds: float, system_id: str | None = None) -> float:
    return (await window_rates(sim, seconds, (system_id,)))[0]


async def window_rates(
    sim: Simulator, seconds: float, system_ids: Sequence[str | None]
) -> list[float]:
    """The submit rates over the next ``seconds`` of each of ``system_ids`` (None: all)."""
    start_at = time.time()
    await trio.sleep(seconds)
    return [sent_between(sim, start_at, start_at + seconds, s) / seconds for s in system_ids]


def assert_at_limit(rate: float, what: str) -> None:
    assert abs(rate - LIMIT) <= TOLERANCE * LIMIT, f"{what}: {rate:.1f}/s against {LIMIT:g}/s"


@pytest.mark.parametrize(("kind", "count"), [("postgresql", 2), ("postgresql", 3), ("sqlite", 2)])
async def test_processes_share_the_accounts_limit_and_a_killed_ones_share_returns(
    tmp_path: Path, kind: str, count: int
) -> None:
    async with running(scenario()) as sim, gateways(tmp_path, count, sim, kind) as processes:
        await all_sending(sim, SYSTEM_IDS[:count])
        assert_at_limit(await window_rate(sim, WINDOW), f"{count} processes together")
        processes[-1].send_signal(signal.SIGKILL)
        await trio.to_thread.run_sync(processes[-1].wait)
        await trio.sleep(5.0)
        assert_at_limit(await window_rate(sim, WINDOW), f"{count - 1} left, 5 s after the kill")


async def test_a_throttle_on_one_process_cuts_the_others_rate_too(tmp_path: Path) -> None:
    async with running(scenario()) as sim, gateways(tmp_path, 2, sim):
        await all_sending(sim, ("gw1", "gw2"))
        before = await window_rate(sim, 4.0, "gw2")
        assert before == pytest.approx(LIMIT / 2, rel=0.1)
        # gw1's bind is throttled for a moment: one episode, its rate cut to half.
        sim.set_scenario(scenario(throttled="gw1"))  # type: ignore[arg-type]
        await trio.sleep(0.3)
        sim.set_scenario(scenario())  # type: ignore[arg-type]
        await trio.sleep(2.2)
        after, together = await window_rates(sim, 4.0, ("gw2", None))
    assert after < 0.7 * before, f"gw2 went on at {after:.1f}/s (was {before:.1f}/s)"
    assert together < 0.75 * LIMIT, f"the account went on at {together:.1f}/s"
