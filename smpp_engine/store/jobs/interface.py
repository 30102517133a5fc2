"""Scheduled jobs: the store interface both backends implement.

A job is a row with the moment it is next due. A process takes a due job by
claiming it under a lease (one statement, so two processes on one PostgreSQL
never both take it), runs it, and finishes it with the next moment it is due;
a process that stops mid-run leaves the lease to run out, and the job is due
again for whoever comes next. Each claim opens a run row; finishing closes it.
"""

from __future__ import annotations

from typing import Protocol

from .model import JobClaim, JobRun, JobView

__all__ = ["JobStore"]


class JobStore(Protocol):
    """The schedule of the gateway's jobs."""

    async def schedule_job(self, name: str, *, due: float, now: float) -> None:
        """Make ``name`` a job next due at ``due``; an existing job keeps a due moment
        already past (a run missed while no gateway ran is still owed), else takes
        ``due`` (the schedule in the settings may have changed)."""
        ...

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float
    ) -> JobClaim | None:
        """Take ``name`` for ``owner`` until ``now + lease`` if it is due and nobody
        holds it; None otherwise."""
        ...

    async def finish_job(
        self,
        claim: JobClaim,
        *,
        now: float,
        next_due: float,
        outcome: str,
        detail: str,
        hold_until: float | None = None,
    ) -> bool:
        """End the run of ``claim`` (``outcome``: "ok" or "failed") and make the job
        next due at ``next_due``, claimed by nobody before ``hold_until`` when given;
        False, with nothing changed, when the claim is no longer the holder's (its
        lease ran out and another took the job)."""
        ...

    async def list_jobs(self) -> list[JobView]:
        """Every job, by name, with its last run."""
        ...

    async def job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        """The last ``limit`` runs of ``name``, newest first."""
        ...
