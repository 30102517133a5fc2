"""Scheduled jobs on PostgreSQL: the :class:`~.interface.JobStore` part of the store.

A claim is one UPDATE whose WHERE re-reads the row it locks, so of two processes
claiming together one gets the job and the other finds it held. Runs on the
bridge's asyncio loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from .model import JobClaim, JobRun, JobView

__all__ = ["PostgresJobs"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_SCHEDULE = """
INSERT INTO scheduled_jobs (name, next_due) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET next_due = CASE
    WHEN scheduled_jobs.next_due <= $3 THEN scheduled_jobs.next_due ELSE excluded.next_due END
"""

# The job is taken and its run opened in one statement: no run row without a claim.
_CLAIM = """
WITH taken AS (
    UPDATE scheduled_jobs SET lease_owner = $2, lease_until = $3 + $4, runs = runs + 1,
        last_run = nextval(pg_get_serial_sequence('job_runs', 'id'))
    WHERE name = $1 AND next_due <= $3 AND (lease_until IS NULL OR lease_until <= $3)
    RETURNING name, next_due, last_run
), opened AS (
    INSERT INTO job_runs (id, job, owner, due_at, started_at)
    SELECT last_run, name, $2, next_due, $3 FROM taken
)
SELECT next_due, last_run FROM taken
"""

_FINISH = """
WITH released AS (
    UPDATE scheduled_jobs SET next_due = $5, lease_owner = NULL, lease_until = $8
    WHERE name = $1 AND lease_owner = $2 AND last_run = $3
    RETURNING last_run
)
UPDATE job_runs SET finished_at = $4, outcome = $6, detail = $7
WHERE id = (SELECT last_run FROM released)
RETURNING id
"""

_RUN_COLUMNS = "r.id, r.job, r.owner, r.due_at, r.started_at, r.finished_at, r.outcome, r.detail"

_LIST = f"""
SELECT j.name, j.next_due, j.lease_owner, j.lease_until, j.runs, {_RUN_COLUMNS}
FROM scheduled_jobs AS j LEFT JOIN job_runs AS r ON r.id = j.last_run
ORDER BY j.name
"""

_RUNS = f"SELECT {_RUN_COLUMNS} FROM job_runs AS r WHERE r.job = $1 ORDER BY r.id DESC LIMIT $2"


def _run(row: Any, first: int = 0) -> JobRun:
    return JobRun(*(row[first + n] for n in range(8)))


class PostgresJobs:
    """The :class:`~.interface.JobStore` part of :class:`~..postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def schedule_job(self, name: str, *, due: float, now: float) -> None:
        await self._run("schedule_job", self._execute_jobs, _SCHEDULE, name, due, now)

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float
    ) -> JobClaim | None:
        row = await self._run("claim_job", self._fetchrow_jobs, _CLAIM, name, owner, now, lease)
        return None if row is None else JobClaim(name, row["last_run"], row["next_due"], owner)

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
        row = await self._run(
            "finish_job",
            self._fetchrow_jobs,
            _FINISH,
            claim.name,
            claim.owner,
            claim.run_id,
            now,
            next_due,
            outcome,
            detail,
            hold_until,
        )
        return row is not None

    async def list_jobs(self) -> list[JobView]:
        rows = await self._run("list_jobs", self._fetch_jobs, _LIST)
        return [
            JobView(
                row["name"],
                row["next_due"],
                row["lease_owner"],
                row["lease_until"],
                row["runs"],
                None if row["id"] is None else _run(row, first=5),
            )
            for row in rows
        ]

    async def job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        rows = await self._run("job_runs", self._fetch_jobs, _RUNS, name, limit)
        return [_run(row) for row in rows]

    async def _execute_jobs(self, query: str, *args: Any) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute(query, *args)

    async def _fetchrow_jobs(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchrow(query, *args)

    async def _fetch_jobs(self, query: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(query, *args))
