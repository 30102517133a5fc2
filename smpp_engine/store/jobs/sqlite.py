"""Scheduled jobs on SQLite: the :class:`~.interface.JobStore` part of the SQLite store.

A claim is one UPDATE ... RETURNING in a write transaction, so the database
file's write lock makes it atomic between processes too.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..sqlite_worker import SqliteWorker, in_snapshot, in_transaction
from .model import JobClaim, JobRun, JobView

__all__ = ["SqliteJobs"]

_RUN_COLUMNS = "id, job, owner, due_at, started_at, finished_at, outcome, detail"


def _run(row: tuple[Any, ...]) -> JobRun:
    return JobRun(*row)


class SqliteJobs:
    """The :class:`~.interface.JobStore` part of :class:`~..sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def schedule_job(self, name: str, *, due: float, now: float) -> None:
        def work(c: sqlite3.Connection) -> None:
            in_transaction(
                c,
                lambda: c.execute(
                    "INSERT INTO scheduled_jobs (name, next_due) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET next_due = CASE "
                    "WHEN scheduled_jobs.next_due <= ? THEN scheduled_jobs.next_due "
                    "ELSE excluded.next_due END",
                    (name, due, now),
                ),
            )

        await self._worker.run("schedule_job", work)

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float
    ) -> JobClaim | None:
        def work(c: sqlite3.Connection) -> JobClaim | None:
            def claim() -> JobClaim | None:
                row = c.execute(
                    "UPDATE scheduled_jobs SET lease_owner = ?, lease_until = ?, runs = runs + 1 "
                    "WHERE name = ? AND next_due <= ? "
                    "AND (lease_until IS NULL OR lease_until <= ?) RETURNING next_due",
                    (owner, now + lease, name, now, now),
                ).fetchone()
                if row is None:
                    return None
                run_id = c.execute(
                    "INSERT INTO job_runs (job, owner, due_at, started_at) VALUES (?, ?, ?, ?)",
                    (name, owner, row[0], now),
                ).lastrowid
                assert run_id is not None
                c.execute("UPDATE scheduled_jobs SET last_run = ? WHERE name = ?", (run_id, name))
                return JobClaim(name, run_id, row[0], owner)

            return in_transaction(c, claim)

        return await self._worker.run("claim_job", work)

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
        def work(c: sqlite3.Connection) -> bool:
            def finish() -> bool:
                held = c.execute(
                    "UPDATE scheduled_jobs SET next_due = ?, lease_owner = NULL, "
                    "lease_until = ? WHERE name = ? AND lease_owner = ? AND last_run = ?",
                    (next_due, hold_until, claim.name, claim.owner, claim.run_id),
                ).rowcount
                if not held:
                    return False
                c.execute(
                    "UPDATE job_runs SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
                    (now, outcome, detail, claim.run_id),
                )
                return True

            return in_transaction(c, finish)

        return await self._worker.run("finish_job", work)

    async def list_jobs(self) -> list[JobView]:
        def work(c: sqlite3.Connection) -> list[JobView]:
            def read() -> list[JobView]:
                jobs = c.execute(
                    "SELECT name, next_due, lease_owner, lease_until, runs, last_run "
                    "FROM scheduled_jobs ORDER BY name"
                ).fetchall()
                views = []
                for name, next_due, lease_owner, lease_until, runs, last_run in jobs:
                    found = c.execute(
                        f"SELECT {_RUN_COLUMNS} FROM job_runs WHERE id = ?", (last_run,)
                    ).fetchone()
                    last = None if found is None else _run(found)
                    views.append(JobView(name, next_due, lease_owner, lease_until, runs, last))
                return views

            return in_snapshot(c, read)

        return await self._worker.run("list_jobs", work)

    async def job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        def work(c: sqlite3.Connection) -> list[JobRun]:
            rows = c.execute(
                f"SELECT {_RUN_COLUMNS} FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?",
                (name, limit),
            ).fetchall()
            return [_run(row) for row in rows]

        return await self._worker.run("job_runs", work)
