"""The schedule of the gateway's jobs, on both stores: one holder at a time, a missed run
still owed, a run opened by each claim and closed by its holder only."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
import trio

from smpp_engine.store import JobStore, Store, open_store

from .conftest import store_url_of

T0 = 1_800_000_000.0


def jobs_of(store: Store) -> JobStore:
    return cast(JobStore, store)


async def test_a_due_job_is_claimed_once_and_finished_by_its_holder(store: Store) -> None:
    jobs = jobs_of(store)
    await jobs.schedule_job("close-period", due=T0, now=T0 - 10)
    assert await jobs.claim_job("close-period", owner="a", now=T0 - 1, lease=60) is None  # not due
    claim = await jobs.claim_job("close-period", owner="a", now=T0 + 1, lease=60)
    assert claim is not None and claim.due_at == T0 and claim.owner == "a"
    # Held: nobody else takes it, not even its holder a second time.
    assert await jobs.claim_job("close-period", owner="b", now=T0 + 2, lease=60) is None
    assert await jobs.finish_job(claim, now=T0 + 5, next_due=T0 + 100, outcome="ok", detail="x")
    (view,) = await jobs.list_jobs()
    assert (view.name, view.next_due, view.lease_owner, view.runs) == (
        "close-period",
        T0 + 100,
        None,
        1,
    )
    assert view.last_run is not None
    assert (view.last_run.owner, view.last_run.outcome, view.last_run.detail) == ("a", "ok", "x")
    assert (view.last_run.due_at, view.last_run.started_at, view.last_run.finished_at) == (
        T0,
        T0 + 1,
        T0 + 5,
    )


async def test_a_lease_that_ran_out_lets_another_take_the_job(store: Store) -> None:
    jobs = jobs_of(store)
    await jobs.schedule_job("notices", due=T0, now=T0)
    first = await jobs.claim_job("notices", owner="a", now=T0, lease=60)
    assert first is not None
    second = await jobs.claim_job("notices", owner="b", now=T0 + 61, lease=60)
    assert second is not None and second.run_id != first.run_id
    # The first holder's end no longer counts: the job is b's.
    assert not await jobs.finish_job(first, now=T0 + 62, next_due=T0 + 999, outcome="ok", detail="")
    assert await jobs.finish_job(
        second, now=T0 + 63, next_due=T0 + 500, outcome="failed", detail="e"
    )
    runs = await jobs.job_runs("notices")
    assert [(r.owner, r.outcome) for r in runs] == [("b", "failed"), ("a", None)]
    (view,) = await jobs.list_jobs()
    assert (view.next_due, view.runs) == (T0 + 500, 2)


async def test_a_missed_run_is_still_owed_after_the_schedule_is_given_again(store: Store) -> None:
    jobs = jobs_of(store)
    await jobs.schedule_job("close-period", due=T0, now=T0 - 100)
    # The gateway comes back long after: the job stays due at its old moment.
    await jobs.schedule_job("close-period", due=T0 + 10_000, now=T0 + 5_000)
    (view,) = await jobs.list_jobs()
    assert view.next_due == T0
    # Not overdue: a changed schedule is taken.
    await jobs.schedule_job("other", due=T0 + 100, now=T0)
    await jobs.schedule_job("other", due=T0 + 50, now=T0)
    views = {v.name: v for v in await jobs.list_jobs()}
    assert views["other"].next_due == T0 + 50 and views["other"].last_run is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_of_processes_claiming_together_one_gets_the_job(kind: str, tmp_path: Path) -> None:
    won: list[str] = []
    async with store_url_of(kind, tmp_path) as url, open_store(url) as one, open_store(url) as two:
        await jobs_of(one).schedule_job("close-period", due=T0, now=T0)

        async def claim(store: Store, owner: str) -> None:
            got = await jobs_of(store).claim_job("close-period", owner=owner, now=T0 + 1, lease=60)
            if got is not None:
                won.append(owner)

        async with trio.open_nursery() as nursery:
            for n in range(6):
                nursery.start_soon(claim, one if n % 2 else two, f"p{n}")
    assert len(won) == 1, won


async def test_a_job_finished_held_is_claimed_by_nobody_until_then(store: Store) -> None:
    jobs = jobs_of(store)
    await jobs.schedule_job("close-period", due=T0, now=T0)
    claim = await jobs.claim_job("close-period", owner="a", now=T0 + 1, lease=60)
    assert claim is not None
    assert await jobs.finish_job(
        claim, now=T0 + 2, next_due=T0, outcome="failed", detail="x", hold_until=T0 + 600
    )
    assert await jobs.claim_job("close-period", owner="b", now=T0 + 599, lease=60) is None
    again = await jobs.claim_job("close-period", owner="b", now=T0 + 600, lease=60)
    assert again is not None and again.due_at == T0
