"""B4 store: the store alone, queued -> submitted -> DLR recorded, messages/s end to end.

python -m benchmarks.b4_store [--messages 100000] [--rounds 3] [--stores sqlite,postgresql]

Three tasks share one store, as the pipeline would: one accepts messages in
batches of 500, one claims them in batches and records a PartSubmitted and a
ReceiptArrived for each through the BatchWriter, which writes in batches. The
clock stops when the last update is durable and every message is DELIVERED.
PostgreSQL runs when ``smpp_engine.store.postgres`` exists and the server in
``--postgres`` (admin DSN) is reachable; each round gets a database of its own.
The process's CPU per message (every thread; a PostgreSQL server's own CPU is not
in it) is also given in codec operations, B1 measured in the same run: B4's unit.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import trio

from smpp_engine.store import (
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    Store,
    Update,
)
from smpp_engine.store.writer import BatchWriter

from .b1_codec import engine_us_per_op
from .report import median, write

ACCEPT_BATCH = 500
CLAIM_BATCH = 500
TEXT = "Your electricity bill for May is 42.17 EUR. Pay by 30 June: ref 12345678."


@dataclass
class Round:
    store: str
    messages: int
    elapsed_s: float
    accept_s: float
    batches: int
    cpu_s: float

    @property
    def cpu_us_per_msg(self) -> float:
        """This process's CPU (every thread: the store's worker or bridge too) per message,
        accept included; a PostgreSQL server's own CPU is not in it."""
        return 1e6 * self.cpu_s / self.messages

    @property
    def per_s(self) -> float:
        return self.messages / self.elapsed_s

    def figures(self) -> dict[str, float | int | str]:
        return {
            **asdict(self),
            "per_s": round(self.per_s),
            "cpu_us_per_msg": round(self.cpu_us_per_msg, 1),
        }


async def one_round(store: Store, name: str, messages: int) -> Round:
    writer = BatchWriter(store, max_batch=2000, max_delay=0.005)
    accepted_at = [0.0]
    start = time.perf_counter()
    cpu = time.process_time()

    async def acceptor() -> None:
        for first in range(0, messages, ACCEPT_BATCH):
            batch = [
                NewMessage("smsc-a", "ACME", f"4477009{n:05d}", TEXT, priority=1)
                for n in range(first, min(first + ACCEPT_BATCH, messages))
            ]
            await store.accept(batch, now=time.time())
        accepted_at[0] = time.perf_counter()

    async def claimer() -> None:
        done = 0
        while done < messages:
            claimed = await store.claim(
                "smsc-a", CLAIM_BATCH, owner="b4", now=time.time(), lease=60.0
            )
            if not claimed:
                await trio.sleep(0.001)
                continue
            now = time.time()
            updates: list[Update] = [
                PartSubmitted(m.message_id, 0, "bind-1", f"{m.message_id:x}", now, now)
                for m in claimed
            ]
            updates += [
                ReceiptArrived("smsc-a", f"{m.message_id:x}", PartState.DELIVERED, now)
                for m in claimed
            ]
            for update in updates:
                try:
                    writer.submit_nowait(update)  # the pipeline's way: no yield per update
                except trio.WouldBlock:
                    await writer.submit(update)
            done += len(claimed)
        await writer.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        nursery.start_soon(acceptor)
        nursery.start_soon(claimer)
    elapsed = time.perf_counter() - start
    cpu_s = time.process_time() - cpu
    counts = await store.count_by_state()
    assert counts.get(MessageState.DELIVERED) == messages, counts
    return Round(name, messages, elapsed, accepted_at[0] - start, writer.batches, cpu_s)


def _admin(dsn: str, query: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415

    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(query)
        finally:
            await connection.close()

    asyncio.run(run())


@asynccontextmanager
async def postgres_store(admin_dsn: str) -> AsyncIterator[Store]:
    from smpp_engine.store.postgres import open_postgres_store  # noqa: PLC0415

    name = f"smpp_engine_b4_{uuid.uuid4().hex[:10]}"
    await trio.to_thread.run_sync(_admin, admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        async with open_postgres_store(f"{admin_dsn.rsplit('/', 1)[0]}/{name}") as store:
            yield store
    finally:
        await trio.to_thread.run_sync(
            _admin, admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


@asynccontextmanager
async def sqlite_store(directory: Path, synchronous: str) -> AsyncIterator[Store]:
    from smpp_engine.store.sqlite import open_sqlite_store  # noqa: PLC0415

    path = directory / f"b4-{uuid.uuid4().hex[:8]}.db"
    async with open_sqlite_store(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        yield store


def postgres_available(admin_dsn: str) -> bool:
    try:
        import smpp_engine.store.postgres  # noqa: F401, PLC0415

        _admin(admin_dsn, "SELECT 1")
    except Exception as exc:  # any reason at all: the figure is simply not taken
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        return False
    return True


def run_rounds(
    name: str, opener: Callable[[], AbstractAsyncContextManager[Store]], messages: int, rounds: int
) -> list[Round]:
    async def measure() -> Round:
        async with opener() as store:
            return await one_round(store, name, messages)

    results = [trio.run(measure) for _ in range(rounds)]
    for r in results:
        print(
            f"{name:>10}: {r.per_s:>8,.0f} messages/s end to end "
            f"({r.messages:,} in {r.elapsed_s:.2f} s, accepted after {r.accept_s:.2f} s, "
            f"{r.batches} writer batches, {r.cpu_us_per_msg:.1f} µs CPU/msg)"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--synchronous", default="NORMAL", help="SQLite: NORMAL or FULL")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    stores = args.stores.split(",")
    figures: dict[str, float | int | str] = {"target_per_s": 10_000}
    raw: dict[str, list[dict[str, float | int | str]]] = {}
    with tempfile.TemporaryDirectory(prefix="b4-") as tmp:
        openers: dict[str, Callable[[], AbstractAsyncContextManager[Store]]] = {}
        if "sqlite" in stores:
            openers["sqlite"] = lambda: sqlite_store(Path(tmp), args.synchronous)
        if "postgresql" in stores and postgres_available(args.postgres):
            openers["postgresql"] = lambda: postgres_store(args.postgres)
        cpu_us: dict[str, float] = {}
        for name, opener in openers.items():
            rounds = run_rounds(name, opener, args.messages, args.rounds)
            figures[f"{name}_messages_per_s"] = round(median([r.per_s for r in rounds]))
            # each message: accepted, claimed, then two updates through the writer
            figures[f"{name}_updates_per_s"] = round(median([2 * r.per_s for r in rounds]))
            cpu_us[name] = median([r.cpu_us_per_msg for r in rounds])
            figures[f"{name}_cpu_us_per_msg"] = round(cpu_us[name], 1)
            raw[name] = [r.figures() for r in rounds]
    # The store's work alone in B4's unit (B1 measured in this same run): B4's target
    # of 5 codec ops is for the whole gateway, SMPP and pipeline included.
    codec_us = engine_us_per_op()
    figures["codec_us_per_op"] = round(codec_us, 3)
    for name, us in cpu_us.items():
        figures[f"{name}_codec_ops_per_msg"] = round(us / codec_us, 1)
        print(
            f"{name:>10}: {us:.1f} µs CPU/msg = {us / codec_us:.1f} codec ops "
            f"(B1 {codec_us:.2f} µs per op)"
        )
    write("b4_store", vars(args), figures, raw, packages=("asyncpg",))


if __name__ == "__main__":
    main()
