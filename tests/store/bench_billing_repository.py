"""Wall time per SMS reading through a real store (a script, not a test).

Run from the repository root (PostgreSQL on 127.0.0.1:5432, as for the tests)::

    .venv/bin/python -m tests.store.bench_billing_repository

Loads config/billing-example.json into a fresh SQLite file and a fresh
PostgreSQL database, then sends readings from the two-zone account: each one
is ``load_context`` + ``process_sms`` + ``save_outcome`` (an accepted, billed
reading: new readings, a charge, the ledger written back). Prints the median
and 90th percentile of the two store calls, and of the whole round trip.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import trio

from billing_core import account_hint, process_sms
from smpp_engine.store import BillingStore, import_billing_data, load_billing_json
from smpp_engine.store.postgres import open_postgres_store
from smpp_engine.store.sqlite import open_sqlite_store

from ..billing.builders import SIZER
from .conftest import drop_database, fresh_database

EXAMPLE = Path(__file__).parents[2] / "config" / "billing-example.json"
PHONE = "79161234567"
READINGS = 500
WARMUP = 50


async def run(store: BillingStore) -> tuple[list[float], list[float]]:
    report = await import_billing_data(store, load_billing_json(str(EXAMPLE)))
    assert report.ok, report.problems
    settings = await store.load_settings()
    start = datetime(2024, 3, 20, 9, tzinfo=UTC)
    store_times: list[float] = []
    total_times: list[float] = []
    for i in range(READINGS + WARMUP):
        now = start + timedelta(seconds=i)
        text = f"{12001 + i} {5001 + i}"
        mo = f"bench-{i}"
        t0 = time.perf_counter()
        context = await store.load_context(
            msisdn=PHONE, account_number=account_hint(text, settings), mo_message_id=mo, now=now
        )
        t1 = time.perf_counter()
        outcome = process_sms(context, text, mo_message_id=mo, now=now, sizer=SIZER)
        t2 = time.perf_counter()
        assert await store.save_outcome(outcome), outcome.status
        t3 = time.perf_counter()
        assert outcome.charges, outcome.status
        if i >= WARMUP:
            store_times.append((t1 - t0) + (t3 - t2))
            total_times.append(t3 - t0)
    return store_times, total_times


def show(name: str, store_times: list[float], total_times: list[float]) -> None:
    def ms(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=10)[q] * 1000

    median = statistics.median(store_times) * 1000
    print(
        f"{name:10s} load_context+save_outcome median {median:.3f} ms"
        f" p90 {ms(store_times, 8):.3f} ms; whole round trip median "
        f"{statistics.median(total_times) * 1000:.3f} ms ({len(store_times)} readings)"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with open_sqlite_store(Path(directory) / "bench.db") as sqlite_store:
            show("sqlite", *await run(cast(BillingStore, sqlite_store)))
    dsn = await fresh_database()
    try:
        async with open_postgres_store(dsn) as postgres_store:
            show("postgresql", *await run(cast(BillingStore, postgres_store)))
    finally:
        await drop_database(dsn)


if __name__ == "__main__":
    trio.run(main)
