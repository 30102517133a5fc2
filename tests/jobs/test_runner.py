"""The job runner on a real store: a due job runs once, a missed one catches up in one
run, a failing one is recorded and due again, and a store that is down ends nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from smpp_engine.jobs import Daily, Job, JobRunner, Monthly, close_period_job, notices_job
from smpp_engine.store import (
    Accepted,
    BillingStore,
    JobStore,
    NewMessage,
    Store,
    StoreUnavailableError,
    import_billing_data,
    load_billing_json,
    open_store,
)

from ..store.conftest import store_url_of

EXAMPLE = Path(__file__).parents[2] / "config" / "billing-example.json"
MOSCOW = ZoneInfo("Europe/Moscow")
UTC_ZONE = ZoneInfo("UTC")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def recording(calls: list[tuple[float, float]], *, fail: bool = False) -> Job:
    async def work(due_at: float, now: float) -> str:
        calls.append((due_at, now))
        if fail:
            raise RuntimeError("the notices cannot be planned")
        return "done"

    return Job("notices", Daily(time(10, 0), UTC_ZONE), work)


T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


async def test_a_job_runs_when_due_and_a_missed_stretch_runs_once(tmp_path: Path) -> None:
    calls: list[tuple[float, float]] = []
    clock = Clock(T0)
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        runner = JobRunner(cast(JobStore, store), [recording(calls)], owner="me", clock=clock)
        assert await runner.run_due() == []  # scheduled for 10:00, not due at 08:00
        clock.now = T0 + 3 * 3600
        assert await runner.run_due() == ["notices"]
        assert await runner.run_due() == []  # done for the day
        # The gateway was down for five days: one run, told when it was first due.
        first_missed = (await cast(JobStore, store).list_jobs())[0].next_due
        clock.now += 5 * 86400
        assert await runner.run_due() == ["notices"]
        assert calls[-1] == (first_missed, clock.now)
        (view,) = await cast(JobStore, store).list_jobs()
        assert view.runs == 2 and view.next_due > clock.now
        assert view.last_run is not None and view.last_run.outcome == "ok"


async def test_a_failing_job_is_recorded_and_owed_again_after_a_delay(tmp_path: Path) -> None:
    calls: list[tuple[float, float]] = []
    clock = Clock(T0 + 3 * 3600)
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        jobs = cast(JobStore, store)
        await jobs.schedule_job("notices", due=T0, now=T0)
        runner = JobRunner(jobs, [recording(calls, fail=True)], owner="me", clock=clock)
        assert await runner.run_due() == ["notices"]
        (view,) = await jobs.list_jobs()
        assert view.last_run is not None
        assert view.last_run.outcome == "failed"
        assert "the notices cannot be planned" in (view.last_run.detail or "")
        # Still owed from the moment it failed for, held for the retry delay.
        assert (view.next_due, view.lease_owner, view.lease_until) == (T0, None, clock.now + 3600)
        clock.now += 60
        assert await runner.run_due() == []  # held
        clock.now += 3600
        assert await runner.run_due() == ["notices"]
        assert calls[-1][0] == T0  # told the moment it owes, not the retry's


class DownStore:
    """A job store whose database cannot be reached."""

    async def schedule_job(self, name: str, *, due: float, now: float) -> None:
        raise StoreUnavailableError("postgresql", "connection refused")


async def test_a_store_that_is_down_is_tried_again_later() -> None:
    runner = JobRunner(cast(JobStore, DownStore()), [recording([])], owner="me")
    assert await runner.run_due() == []
    assert await runner.run_due() == []  # still no exception: the gateway goes on


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_closing_catches_up_every_month_missed_once(kind: str, tmp_path: Path) -> None:
    async with store_url_of(kind, tmp_path) as url, open_store(url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, load_billing_json(str(EXAMPLE)))).ok
        schedule = Monthly(1, time(2, 0), MOSCOW)
        job = close_period_job(billing, schedule, utility_id=None)
        # Due on 1 April 2024 (closing March); the gateway comes back on 3 June.
        april = schedule.next_after(datetime(2024, 3, 15, tzinfo=MOSCOW).timestamp())
        june = schedule.next_after(schedule.next_after(april)) + 2 * 86400
        said = await job.work(april, june)
        assert [part.split(":")[0] for part in said.split("; ")] == [
            "2024-03",
            "2024-04",
            "2024-05",
        ]
        again = await job.work(april, june)  # a rerun after a crash bills nothing twice
        parts = again.split("; ")
        assert len(parts) == 3
        assert all(
            "0 estimated, " in p and "0 fixed charge(s), 0 penalty(ies), 0 failed" in p
            for p in parts
        )


class StoreQueue:
    """Notices go straight into the store, as a gateway's pipeline would put them."""

    def __init__(self, store: Store, now: float) -> None:
        self.store = store
        self.now = now

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        return await self.store.accept(messages, now=self.now)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_days_notices_are_queued_once(kind: str, tmp_path: Path) -> None:
    async with store_url_of(kind, tmp_path) as url, open_store(url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, load_billing_json(str(EXAMPLE)))).ok
        at = datetime(2024, 4, 20, 9, tzinfo=UTC_ZONE).timestamp()
        job = notices_job(
            billing,
            StoreQueue(store, at),
            Daily(time(10, 0), MOSCOW),
            route="default",
            utility_id=None,
            adjust=lambda utility: utility,
            warning_wait=timedelta(hours=48),
            warning_retries=1,
        )
        said = await job.work(at - 3600, at)
        queued = sum((await store.count_by_state()).values())
        assert queued > 0
        # smpp_billing_notices shows what the run queued at once.
        shown = [
            s.value
            for metric in REGISTRY.collect()
            if metric.name == "smpp_billing_notices"
            for s in metric.samples
            if s.labels["state"] == "queued"
        ]
        assert sum(shown) == queued
        assert said.startswith("5 account(s); queued ") and "queued none" not in said
        again = await job.work(at - 3600, at)  # a rerun after a crash
        assert "queued none" in again
        assert sum((await store.count_by_state()).values()) == queued
