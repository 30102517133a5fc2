"""The gateway's job runner: takes each due job, runs it, says when it is next due.

Each job is claimed in the store under a lease before it runs, so with several
gateway processes on one PostgreSQL only one runs it. A job missed while no
gateway ran is due at once when one starts, and runs once: its work is given the
moment it was first due and now, and catches up what it owes in that one run
(closing a period closes each month it missed). The next due moment counts from
the end of the run, not from the missed ones.

A job that fails is logged and counted, and stays owed: it is due again from the
moment it failed for, after ``retry_delay`` (so closing a month that failed is
tried again, not skipped for the next). A store that cannot be reached is tried
again at the next poll. The runner never ends the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from metrics.catalogue import JOB_LAST_SUCCESS, JOB_RUNS

from ..store import JobStore, StoreError
from .schedule import Schedule

__all__ = ["Job", "JobRunner", "JobWork"]

_log = structlog.get_logger("smpp_engine.jobs")

#: A job's work: given the moment it was due and now (epoch seconds), it does what
#: is owed and says what it did in one line.
JobWork = Callable[[float, float], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Job:
    """A named piece of work and when it is due."""

    name: str
    schedule: Schedule
    work: JobWork


class JobRunner:
    """Runs ``jobs`` from the schedule kept in ``store``; ``owner`` names this process
    in the store (it holds a job while running it, for at most ``lease`` seconds)."""

    def __init__(
        self,
        store: JobStore,
        jobs: Sequence[Job],
        *,
        owner: str,
        clock: Callable[[], float] = time.time,
        poll: float = 30.0,
        lease: float = 3600.0,
        retry_delay: float = 3600.0,
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must differ: {names}")
        self.store = store
        self.jobs = tuple(jobs)
        self.owner = owner
        self.clock = clock
        self.poll = poll
        self.lease = lease
        self.retry_delay = retry_delay
        self._scheduled = False

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Poll for due jobs until cancelled."""
        task_status.started()
        while True:
            await self.run_due()
            await trio.sleep(self.poll)

    async def run_due(self) -> list[str]:
        """Run every job due now, one after another; the names of those that ran."""
        if not await self._schedule():
            return []
        ran = []
        for job in self.jobs:
            if await self._run_if_due(job):
                ran.append(job.name)
        return ran

    async def _schedule(self) -> bool:
        """Put every job in the store once (their due moments from the settings)."""
        if self._scheduled:
            return True
        now = self.clock()
        try:
            for job in self.jobs:
                await self.store.schedule_job(job.name, due=job.schedule.next_after(now), now=now)
        except StoreError as exc:
            _log.warning("cannot schedule the jobs yet; trying again", error=str(exc))
            return False
        self._scheduled = True
        return True

    async def _run_if_due(self, job: Job) -> bool:
        try:
            claim = await self.store.claim_job(
                job.name, owner=self.owner, now=self.clock(), lease=self.lease
            )
        except StoreError as exc:
            _log.warning("cannot look at a job; trying again", job=job.name, error=str(exc))
            return False
        if claim is None:
            return False
        log = _log.bind(job=job.name, due_at=claim.due_at)
        log.info("job started")
        try:
            detail = await job.work(claim.due_at, self.clock())
            outcome = "ok"
        except Exception as exc:  # one job's fault is its own: counted, logged, due again
            detail = f"{type(exc).__name__}: {exc}"
            outcome = "failed"
            log.exception("job failed")
        now = self.clock()
        JOB_RUNS.labels(job.name, outcome).inc()
        if outcome == "ok":
            JOB_LAST_SUCCESS.labels(job.name).set(now)
            log.info("job done", detail=detail)
        failed = outcome == "failed"
        try:
            held = await self.store.finish_job(
                claim,
                now=now,
                # A failed run stays owed from the moment it was for, held a while.
                next_due=claim.due_at if failed else job.schedule.next_after(now),
                outcome=outcome,
                detail=detail,
                hold_until=now + self.retry_delay if failed else None,
            )
        except StoreError as exc:
            # The lease runs out and the job is due again: its work is idempotent.
            log.warning("cannot record the job's end; it will run again", error=str(exc))
            return True
        if not held:
            log.warning("the job's lease ran out while it ran; another process took it over")
        return True
