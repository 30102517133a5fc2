"""B4 durable: the pipeline from the store, queued -> submitted -> DLR recorded, per store.

The simulator runs in its own process (healthy: every submit accepted, a DELIVRD
receipt at once). N messages are accepted into the store in batches, then the
pipeline claims, submits over one bind and records every outcome and receipt
through the batching writer; the clock stops when the store counts N DELIVERED.

    python -m benchmarks.b4_durable [--messages 50000] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import trio

from smpp_engine import logs
from smpp_engine.esme import EsmeConfig
from smpp_engine.heap import settle_after_start
from smpp_engine.pipeline import Pipeline, SmscRoute
from smpp_engine.store import MessageState, NewMessage, Store

from .b1_codec import engine_us_per_op
from .processes import simulator
from .report import write

TEXT = "Your payment of 25.00 EUR is received. Balance: 0.00 EUR."
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _pg_admin(query: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(database="postgres", **PG)
        try:
            await connection.execute(query)
        finally:
            await connection.close()

    asyncio.run(run())


@asynccontextmanager
async def open_store(kind: str) -> AsyncIterator[Store]:
    if kind == "sqlite":
        from smpp_engine.store.sqlite import open_sqlite_store  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as folder:
            async with open_sqlite_store(Path(folder) / "b4.db") as store:
                yield store
        return
    from smpp_engine.store.postgres import open_postgres_store  # noqa: PLC0415

    name = f"smpp_engine_b4_{uuid.uuid4().hex[:8]}"
    await trio.to_thread.run_sync(_pg_admin, f'CREATE DATABASE "{name}"')
    try:
        dsn = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
        async with open_postgres_store(dsn) as store:
            yield store
    finally:
        await trio.to_thread.run_sync(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_route(port: int, system_id: str, window: int = 256) -> SmscRoute:
    """One bind to the benchmark simulator, no rate limit, large claims."""
    esme = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id=system_id,
        password="bench",
        window_size=window,
        response_timeout=30.0,
        enquire_link_interval=None,
    )
    return SmscRoute(name="sim", esme=esme, lease=120.0, claim_batch=2000)


async def run_store(kind: str, port: int, messages: int, window: int) -> dict[str, Any]:
    route = bench_route(port, "b4", window)
    async with open_store(kind) as store:
        batch = 1000
        start = time.perf_counter()
        for first in range(0, messages, batch):
            await store.accept(
                [
                    NewMessage(smsc="sim", source="ACME", destination=f"4477{i:08d}", text=TEXT)
                    for i in range(first, min(messages, first + batch))
                ],
                now=time.time(),
            )
        accept_s = time.perf_counter() - start
        async with trio.open_nursery() as nursery:
            pipeline = Pipeline(store, [route], housekeeping=3600.0)
            start = time.perf_counter()
            cpu = time.process_time()
            await nursery.start(pipeline.run)
            settle_after_start()  # as a started gateway does (smpp_engine.heap)
            while True:
                counts = await store.count_by_state()
                if counts.get(MessageState.DELIVERED, 0) >= messages:
                    break
                await trio.sleep(0.05)
            elapsed = time.perf_counter() - start
            cpu_s = time.process_time() - cpu
            nursery.cancel_scope.cancel()
    # Each message: one accept row, one part submitted, one receipt, plus an event each.
    return {
        "store": kind,
        "messages": messages,
        "accept_per_s": round(messages / accept_s),
        "delivered_per_s": round(messages / elapsed),
        "store_updates_per_s": round(2 * messages / elapsed),
        "gateway_cpu_us_per_msg": round(1e6 * cpu_s / messages, 1),
        "elapsed_s": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    logs.configure("warning")
    results = []
    with simulator("healthy") as port:
        for kind in args.stores.split(","):
            result = trio.run(run_store, kind, port, args.messages, args.window)
            results.append(result)
            print(
                f"{kind:>10}: accept {result['accept_per_s']:>8,}/s   "
                f"queued->DELIVRD recorded {result['delivered_per_s']:>7,}/s   "
                f"({result['gateway_cpu_us_per_msg']} us CPU/msg in the gateway)"
            )
    # The gateway's CPU per message in codec ops (B1) measured in this same run.
    codec_us = engine_us_per_op()
    figures: dict[str, Any] = {"codec_us_per_op": round(codec_us, 3), "target_codec_ops": 5}
    for result in results:
        store = result["store"]
        figures[f"{store}_delivered_per_s"] = result["delivered_per_s"]
        figures[f"{store}_accept_per_s"] = result["accept_per_s"]
        figures[f"{store}_cpu_us_per_msg"] = result["gateway_cpu_us_per_msg"]
        figures[f"{store}_codec_ops_per_msg"] = round(
            result["gateway_cpu_us_per_msg"] / codec_us, 1
        )
    write("b4_durable", vars(args), figures, {"stores": results}, packages=("asyncpg",))


if __name__ == "__main__":
    main()
