"""Tenant quotas and usage on SQLite: the tenants part of :class:`~..sqlite.SqliteStore`."""

from __future__ import annotations

import sqlite3

from ..sqlite_worker import SqliteWorker, in_snapshot, in_transaction
from .model import QuotaRefusal, UsageRow
from .rules import over_quota, periods

__all__ = ["SqliteTenants"]

_COUNT = (
    "INSERT INTO tenant_usage (tenant, period, messages, parts) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tenant, period) DO UPDATE SET messages = messages + excluded.messages, "
    "parts = parts + excluded.parts RETURNING messages"
)

_USAGE = """
SELECT date(created_at, 'unixepoch') AS day, tenant, state, count(*), sum(parts)
FROM messages
WHERE created_at >= ? AND created_at < ? AND (? IS NULL OR tenant = ?)
GROUP BY day, tenant, state
ORDER BY day, tenant, state
"""


class _RefusedError(Exception):
    def __init__(self, refusal: QuotaRefusal) -> None:
        self.refusal = refusal


class SqliteTenants:
    _worker: SqliteWorker

    async def reserve_quota(
        self,
        tenant: str,
        *,
        messages: int,
        parts: int,
        now: float,
        daily: int | None,
        monthly: int | None,
    ) -> QuotaRefusal | None:
        def work(c: sqlite3.Connection) -> QuotaRefusal | None:
            def count() -> None:
                counts = {
                    key: int(c.execute(_COUNT, (tenant, key, messages, parts)).fetchone()[0])
                    for key in periods(now)
                }
                refusal = over_quota(counts, messages, daily, monthly, now)
                if refusal is not None:
                    raise _RefusedError(refusal)  # rolls the counts back

            try:
                in_transaction(c, count)
            except _RefusedError as refused:
                return refused.refusal
            return None

        return await self._worker.run("reserve_quota", work)

    async def release_quota(self, tenant: str, *, messages: int, parts: int, at: float) -> None:
        def work(c: sqlite3.Connection) -> None:
            def release() -> None:
                for key in periods(at):
                    c.execute(_COUNT, (tenant, key, -messages, -parts)).fetchall()

            in_transaction(c, release)

        await self._worker.run("release_quota", work)

    async def quota_use(self, tenant: str, *, now: float) -> tuple[int, int]:
        def work(c: sqlite3.Connection) -> tuple[int, int]:
            def read() -> tuple[int, int]:
                found = dict(
                    c.execute(
                        "SELECT period, messages FROM tenant_usage WHERE tenant = ? "
                        "AND period IN (?, ?)",
                        (tenant, *periods(now)),
                    ).fetchall()
                )
                day, month = periods(now)
                return int(found.get(day, 0)), int(found.get(month, 0))

            return in_snapshot(c, read)

        return await self._worker.run("quota_use", work)

    async def tenant_usage(
        self, *, since: float, until: float, tenant: str | None = None
    ) -> list[UsageRow]:
        def work(c: sqlite3.Connection) -> list[UsageRow]:
            return [
                UsageRow(day, who, state, int(n), int(parts or 0))
                for day, who, state, n, parts in c.execute(_USAGE, (since, until, tenant, tenant))
            ]

        return await self._worker.run("tenant_usage", work)
