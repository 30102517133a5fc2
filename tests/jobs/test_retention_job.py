"""The retention job on both stores, run by the job runner: finished messages past their
age are purged in windows and counted by day and in the metrics; the rest stay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from smpp_engine.jobs import RETENTION, Daily, JobRunner, retention_job
from smpp_engine.store import (
    JobStore,
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    RetentionStore,
    Store,
)

from ..store.conftest import open_test_store

DAY = 86_400.0
NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for opened in open_test_store(request.param, tmp_path):
        yield opened


def purged(kind: str) -> float:
    return REGISTRY.get_sample_value("smpp_retention_purged_total", {"kind": kind}) or 0.0


async def _delivered(store: Store, at: float, count: int) -> list[int]:
    accepted = await store.accept(
        [NewMessage("main", "ACME", f"4477009{i:05d}", "hi") for i in range(count)], now=at
    )
    ids = [a.message_id for a in accepted]
    await store.claim("main", count, owner="gw", now=at, lease=60)
    await store.record([PartSubmitted(m, 0, "b", f"s{m}", at, at) for m in ids])
    await store.record([ReceiptArrived("main", f"s{m}", PartState.DELIVERED, at) for m in ids])
    return ids


async def test_the_job_purges_in_windows_and_counts_what_it_purged(
    store: Store, tmp_path: Path
) -> None:
    old = await _delivered(store, NOW - 40 * DAY, 25)
    recent = await _delivered(store, NOW - 2 * DAY, 3)
    (queued,) = await store.accept(
        [NewMessage("main", "ACME", "447700900999", "x")], now=NOW - 90 * DAY
    )
    before = {kind: purged(kind) for kind in ("messages", "parts", "events")}
    utc = ZoneInfo("UTC")
    job = retention_job(
        cast(RetentionStore, store), Daily(time(3, 30), utc), days=30, window=10, pause=0
    )
    runner = JobRunner(cast(JobStore, store), [job], owner="gw", clock=lambda: NOW)
    assert await runner.run_due() == []  # scheduled for 03:30: not due yet
    later = JobRunner(cast(JobStore, store), [job], owner="gw", clock=lambda: NOW + DAY)
    assert await later.run_due() == [RETENTION]
    (view,) = await cast(JobStore, store).list_jobs()
    assert view.last_run is not None and view.last_run.outcome == "ok"
    assert view.last_run.detail is not None and view.last_run.detail.startswith("purged 25 ")
    assert purged("messages") - before["messages"] == 25
    assert purged("parts") - before["parts"] == 25
    assert purged("events") - before["events"] > 0
    for message_id in old:
        assert await store.get(message_id) is None
    for message_id in recent:
        view_ = await store.get(message_id)
        assert view_ is not None and view_.state is MessageState.DELIVERED
    kept = await store.get(queued.message_id)
    assert kept is not None and kept.state is MessageState.QUEUED
    (day,) = await cast(RetentionStore, store).message_days()
    assert (day.smsc, day.state, day.messages, day.parts) == ("main", "delivered", 25, 25)
