"""A gateway process for the crash tests: the pipeline on a SQLite store, one route.

    python -m tests.pipeline.gateway_process STORE_PATH SMSC_PORT WINDOW BINDS RATE

Prints one JSON line per progress tick on stdout ({"event": "progress", "counts":
{state: n}}) and {"event": "done"} once no message is left unsettled, then exits 0.
The test kills it with SIGKILL at moments of its choosing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trio

from smpp_engine import logs
from smpp_engine.esme import EsmeConfig
from smpp_engine.pipeline import Pipeline, SmscRoute
from smpp_engine.store import FINAL_STATES
from smpp_engine.store.sqlite import open_sqlite_store

ROUTE = "sim"


def route(port: int, window: int, binds: int, rate: float) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="gateway",
        password="secret",
        window_size=window,
        response_timeout=5.0,
        enquire_link_interval=None,
    )
    # A short lease: a crashed run's claims are taken over quickly on restart.
    return SmscRoute(name=ROUTE, esme=esme, binds=binds, rate=rate, lease=6.0, claim_batch=200)


async def main(store_path: Path, port: int, window: int, binds: int, rate: float) -> None:
    async with open_sqlite_store(store_path) as store, trio.open_nursery() as nursery:
        pipeline = Pipeline(store, [route(port, window, binds, rate)], housekeeping=1.0)
        await nursery.start(pipeline.run)
        while True:
            counts = {str(state): n for state, n in (await store.count_by_state()).items()}
            print(json.dumps({"event": "progress", "counts": counts}), flush=True)
            if all(state in {str(s) for s in FINAL_STATES} for state, n in counts.items() if n):
                print(json.dumps({"event": "done", "counts": counts}), flush=True)
                nursery.cancel_scope.cancel()
                return
            await trio.sleep(0.05)


if __name__ == "__main__":
    logs.configure("warning")
    path, port, window, binds, rate = sys.argv[1:6]
    trio.run(main, Path(path), int(port), int(window), int(binds), float(rate))
