"""Retention on PostgreSQL: the :class:`~.interface.RetentionStore` part of the store.

The candidates are locked with ``FOR UPDATE SKIP LOCKED``: a message another
transaction is changing (a late receipt) is left for the next run, never waited on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from .rules import PURGEABLE_STATES, DayCount, PurgeBatch, PurgedRow, summarise, window_reaches

__all__ = ["PostgresRetention"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_SCAN = "SELECT id, created_at FROM messages WHERE id > $1 ORDER BY id LIMIT $2"
_CANDIDATES = """
SELECT m.id, m.smsc, m.state, m.parts, m.created_at FROM messages AS m
WHERE m.id > $1 AND m.id <= $2 AND m.updated_at < $3 AND m.created_at < $3
  AND m.state = ANY($4::text[])
  AND NOT EXISTS (SELECT 1 FROM billing_notices AS n WHERE n.message_id = m.id)
FOR UPDATE OF m SKIP LOCKED
"""
_ADD_DAYS = """
INSERT INTO message_days (day, smsc, state, messages, parts)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
ON CONFLICT (day, smsc, state) DO UPDATE SET
    messages = message_days.messages + EXCLUDED.messages,
    parts = message_days.parts + EXCLUDED.parts
"""
_LOWER_COUNTS = """
INSERT INTO state_count_changes (smsc, state, delta)
SELECT smsc, state, -count(*) FROM unnest($1::text[], $2::text[]) AS t (smsc, state)
GROUP BY smsc, state
"""
_DAYS = (
    "SELECT day, smsc, state, messages, parts FROM message_days WHERE day >= $1 "
    "ORDER BY day, smsc, state"
)


class PostgresRetention:
    """The :class:`~.interface.RetentionStore` part of :class:`~..postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def purge_finished(
        self, *, after_id: int, older_than: float, window: int = 1000
    ) -> PurgeBatch:
        return await self._run("purge_finished", self._purge, after_id, older_than, window)

    async def message_days(self, *, since: str = "") -> list[DayCount]:
        rows = await self._run("message_days", self._fetch_days, since)
        return [DayCount(*row) for row in rows]

    async def _fetch_days(self, since: str) -> list[Any]:
        async with self._pool.acquire() as connection:
            return [tuple(row) for row in await connection.fetch(_DAYS, since)]

    async def _purge(self, after_id: int, older_than: float, window: int) -> PurgeBatch:
        async with self._pool.acquire() as connection, connection.transaction():
            scanned = await connection.fetch(_SCAN, after_id, window)
            if not scanned:
                return PurgeBatch(0, 0, 0, None)
            last = scanned[-1]["id"]
            done = window_reaches(
                (row["created_at"] for row in scanned), len(scanned), window, older_than
            )
            next_after = None if done else last
            found = await connection.fetch(
                _CANDIDATES, after_id, last, older_than, list(PURGEABLE_STATES)
            )
            rows = [PurgedRow(*row) for row in found]
            if not rows:
                return PurgeBatch(0, 0, 0, next_after)
            ids = [row.message_id for row in rows]
            days = summarise(rows)
            await connection.execute(
                _ADD_DAYS,
                [d.day for d in days],
                [d.smsc for d in days],
                [d.state for d in days],
                [d.messages for d in days],
                [d.parts for d in days],
            )
            status = await connection.execute(
                "DELETE FROM message_events WHERE message_id = ANY($1::bigint[])", ids
            )
            await connection.execute(
                "DELETE FROM message_parts WHERE message_id = ANY($1::bigint[])", ids
            )
            await connection.execute("DELETE FROM messages WHERE id = ANY($1::bigint[])", ids)
            await connection.execute(
                _LOWER_COUNTS, [row.smsc for row in rows], [row.state for row in rows]
            )
            events = int(status.split()[-1])
            return PurgeBatch(len(rows), sum(row.parts for row in rows), events, next_after)
