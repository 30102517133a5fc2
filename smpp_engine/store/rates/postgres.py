"""Rate shares on PostgreSQL: the :class:`~.interface.RateShareStore` part of the store.

A renewal is one statement: the holder's row written, the route's dead rows
deleted and the live ones read back, in one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from .model import RateShare

__all__ = ["PostgresRateShares"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The outer SELECT sees the table as it was before the statement: the holder's row
# comes from RETURNING, and the deleted rows are out of it by the same test.
_RENEW = """
WITH gone AS (
    DELETE FROM rate_shares WHERE route = $1 AND lease_until <= $6 AND holder <> $2
), mine AS (
    INSERT INTO rate_shares (route, holder, lease_until, level, cut_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (route, holder) DO UPDATE
        SET lease_until = excluded.lease_until, level = excluded.level, cut_at = excluded.cut_at
    RETURNING holder, lease_until, level, cut_at
)
SELECT holder, lease_until, level, cut_at FROM rate_shares
WHERE route = $1 AND lease_until > $6 AND holder <> $2
UNION ALL SELECT holder, lease_until, level, cut_at FROM mine
ORDER BY holder
"""

_DROP = "DELETE FROM rate_shares WHERE route = $1 AND holder = $2"


class PostgresRateShares:
    """The :class:`~.interface.RateShareStore` part of :class:`~..postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def renew_rate_share(self, share: RateShare, *, now: float) -> list[RateShare]:
        rows = await self._run(
            "renew_rate_share",
            self._fetch_rate_shares,
            _RENEW,
            share.route,
            share.holder,
            share.until,
            share.level,
            share.cut_at,
            now,
        )
        return [
            RateShare(share.route, row["holder"], row["lease_until"], row["level"], row["cut_at"])
            for row in rows
        ]

    async def drop_rate_share(self, route: str, holder: str) -> None:
        await self._run("drop_rate_share", self._fetch_rate_shares, _DROP, route, holder)

    async def _fetch_rate_shares(self, query: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(query, *args))
