"""Tenant quotas and usage on PostgreSQL: the tenants part of :class:`~..postgres.PostgresStore`.

A reservation's two counters are upserted in one transaction: the rows stay
locked until it ends, so concurrent sends of one tenant (any process) count one
after the other and never both pass the last place of a quota.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from .model import QuotaRefusal, UsageRow
from .rules import over_quota, periods

__all__ = ["PostgresTenants"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_COUNT = """
INSERT INTO tenant_usage (tenant, period, messages, parts) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant, period) DO UPDATE SET messages = tenant_usage.messages + excluded.messages,
    parts = tenant_usage.parts + excluded.parts
RETURNING messages
"""

_USAGE = """
SELECT to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, tenant,
    state, count(*), sum(parts)
FROM messages
WHERE created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR tenant = $3)
GROUP BY day, tenant, state
ORDER BY day, tenant, state
"""


class _RefusedError(Exception):
    def __init__(self, refusal: QuotaRefusal) -> None:
        self.refusal = refusal


class PostgresTenants:
    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

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
        limits = (daily, monthly)
        return await self._run(
            "reserve_quota", self._reserve_quota_counts, tenant, messages, parts, now, limits
        )

    async def _reserve_quota_counts(
        self, tenant: str, messages: int, parts: int, now: float, limits: tuple[int | None, ...]
    ) -> QuotaRefusal | None:
        daily, monthly = limits
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                # Day first, then month: every reservation locks in one order.
                counts = {
                    key: int(await connection.fetchval(_COUNT, tenant, key, messages, parts))
                    for key in periods(now)
                }
                refusal = over_quota(counts, messages, daily, monthly, now)
                if refusal is not None:
                    raise _RefusedError(refusal)  # rolls the counts back
        except _RefusedError as refused:
            return refused.refusal
        return None

    async def release_quota(self, tenant: str, *, messages: int, parts: int, at: float) -> None:
        await self._run("release_quota", self._release_quota_counts, tenant, messages, parts, at)

    async def _release_quota_counts(
        self, tenant: str, messages: int, parts: int, at: float
    ) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            for key in periods(at):
                await connection.fetchval(_COUNT, tenant, key, -messages, -parts)

    async def quota_use(self, tenant: str, *, now: float) -> tuple[int, int]:
        return await self._run("quota_use", self._quota_use_counts, tenant, now)

    async def _quota_use_counts(self, tenant: str, now: float) -> tuple[int, int]:
        day, month = periods(now)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT period, messages FROM tenant_usage WHERE tenant = $1 "
                "AND period = ANY($2::text[])",
                tenant,
                [day, month],
            )
        found = {row[0]: row[1] for row in rows}
        return int(found.get(day, 0)), int(found.get(month, 0))

    async def tenant_usage(
        self, *, since: float, until: float, tenant: str | None = None
    ) -> list[UsageRow]:
        rows = await self._run("tenant_usage", self._tenant_usage_rows, since, until, tenant)
        return [UsageRow(r[0], r[1], r[2], int(r[3]), int(r[4] or 0)) for r in rows]

    async def _tenant_usage_rows(self, since: float, until: float, tenant: str | None) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(_USAGE, since, until, tenant))
