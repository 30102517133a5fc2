"""What the store keeps of a scheduled job: when it is next due, who holds it, its runs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JobClaim", "JobRun", "JobView"]


@dataclass(frozen=True, slots=True)
class JobClaim:
    """A due job taken by one process: ``due_at`` is the moment it was due (long ago,
    after a stop), ``run_id`` its run's row."""

    name: str
    run_id: int
    due_at: float
    owner: str


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a job; ``finished_at`` and ``outcome`` are None while it runs (or
    when its process stopped before it ended)."""

    run_id: int
    job: str
    owner: str
    due_at: float
    started_at: float
    finished_at: float | None
    outcome: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as stored: when it is next due, who holds it and until when, its last run."""

    name: str
    next_due: float
    lease_owner: str | None
    lease_until: float | None
    runs: int
    last_run: JobRun | None
