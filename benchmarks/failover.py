"""Failover: one of two SMSCs is killed (SIGKILL) mid-run; how long until its messages
flow through the other, and is anything lost?

Two ``smpp-engine sim`` processes, A and B, each sending every DELIVRD receipt
right before its submit_sm_resp (so nothing A accepted waits on a receipt A can
no longer send); the gateway sends each at most 1,000 submits/s (its
``throughput``). Every message's routing rule
is "A, then B". The pipeline (SQLite) starts, N messages are accepted; once A
has answered a third of them A is killed. The clock starts at the kill:

- ``first_failover_s``: to the first message moved to B (its "rerouted" event);
- ``drained_s``: to the last message DELIVERED;
- ``lost``: messages accepted and not DELIVERED 60 s after the kill;
- ``possible_duplicates``: messages that may have reached A as well (in flight
  at the kill: sent again on B, at-least-once).

    python -m benchmarks.failover [--messages 5000] [--failover-after 2]
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trio

from smpp_engine import logs
from smpp_engine.esme import EsmeConfig, ReconnectPolicy
from smpp_engine.pipeline import Pipeline, RetryPolicy, SmscRoute
from smpp_engine.store import MessageState, NewMessage
from smpp_engine.store.sqlite import open_sqlite_store

from .report import write

A, B = "smsc-a", "smsc-b"
SCENARIO = """
name = "failover"
[smsc]
deliver_window = 100000
[receipts]
before_resp = 1.0
"""


@contextmanager
def simulator(scenario: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``smpp-engine sim`` in its own process; yields it and its SMPP port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smpp_engine", "sim", "--port", "0", "--scenario", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator exited with {process.wait()} before listening")
        yield process, int(json.loads(line)["port"])
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def route(name: str, port: int, failover_after: float) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="gateway",
        password="secret",
        name=name,
        window_size=64,
        response_timeout=2.0,
        enquire_link_interval=None,
        reconnect=ReconnectPolicy(min_delay=0.2, max_delay=1.0),
    )
    return SmscRoute(
        name=name,
        esme=esme,
        rate=1000.0,
        lease=10.0,
        failover_after=failover_after,
        retry=RetryPolicy(first_delay=0.5, max_delay=2.0, max_attempts=20),
    )


def _answered_on(path: Path, smsc: str) -> int:
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT count(*) FROM message_parts WHERE smsc = ? AND smsc_message_id IS NOT NULL",
            (smsc,),
        ).fetchone()
    return int(row[0])


async def run(
    folder: Path, a: subprocess.Popen[str], port_a: int, port_b: int, args: Any
) -> dict[str, Any]:
    path = folder / "failover.db"
    n = args.messages
    async with open_sqlite_store(path) as store, trio.open_nursery() as nursery:
        routes = [route(A, port_a, args.failover_after), route(B, port_b, args.failover_after)]
        pipeline = Pipeline(store, routes, housekeeping=0.5)
        await nursery.start(pipeline.run)
        messages = [
            NewMessage(
                smsc=A,
                source="ACME",
                destination=f"4477009{i:05d}",
                text=f"Reading {i} received, thank you",
                route_rule="a-then-b",
                route_plan=(A, B),
            )
            for i in range(n)
        ]
        accepted = []
        for start in range(0, n, 1000):
            accepted += await pipeline.accept(messages[start : start + 1000])
        while _answered_on(path, A) < n // 3:
            await trio.sleep(0.01)
        a.send_signal(signal.SIGKILL)
        killed = time.time()
        on_a_at_kill = _answered_on(path, A)
        with trio.move_on_after(60):
            while (await store.count_by_state()).get(MessageState.DELIVERED, 0) < n:
                await trio.sleep(0.02)
        drained = time.time()
        counts = await store.count_by_state()
        per_route = {
            smsc: {str(k): v for k, v in (await store.count_by_state(smsc=smsc)).items() if v}
            for smsc in (A, B)
        }
        pipeline.stop()
    with sqlite3.connect(path) as db:
        first = db.execute(
            "SELECT min(at), count(DISTINCT message_id) FROM message_events "
            "WHERE event = 'rerouted'"
        ).fetchone()
        duplicates = db.execute("SELECT count(*) FROM messages WHERE possible_duplicate").fetchone()
        ids = db.execute("SELECT count(*) FROM messages").fetchone()
    delivered = counts.get(MessageState.DELIVERED, 0)
    return {
        "accepted": len(accepted),
        "stored": int(ids[0]),
        "delivered": delivered,
        "lost": len(accepted) - delivered,
        "answered_by_a_before_kill": on_a_at_kill,
        "moved_to_b": int(first[1]),
        "possible_duplicates": int(duplicates[0]),
        "first_failover_s": None if first[0] is None else round(first[0] - killed, 3),
        "drained_s": round(drained - killed, 3),
        "states": {str(state): count for state, count in counts.items()},
        "states_by_route": per_route,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--failover-after", type=float, default=2.0)
    args = parser.parse_args()
    logs.configure("warning")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        scenario = folder / "failover.toml"
        scenario.write_text(SCENARIO)
        with simulator(scenario) as (a, port_a), simulator(scenario) as (_, port_b):
            result = trio.run(run, folder, a, port_a, port_b, args)
    print(
        f"{result['accepted']:,} accepted, {result['delivered']:,} delivered, "
        f"{result['lost']} lost; A answered {result['answered_by_a_before_kill']:,} before "
        f"SIGKILL; first failover {result['first_failover_s']} s after it "
        f"(failover_after {args.failover_after:g} s); all delivered {result['drained_s']} s "
        f"after it; {result['moved_to_b']:,} moved, "
        f"{result['possible_duplicates']} possible duplicates"
    )
    figures = {
        key: result[key]
        for key in (
            "accepted",
            "delivered",
            "lost",
            "first_failover_s",
            "drained_s",
            "moved_to_b",
            "possible_duplicates",
        )
    }
    write("failover", vars(args), figures, result)


if __name__ == "__main__":
    main()
