"""Retention on SQLite: the :class:`~.interface.RetentionStore` part of the SQLite store."""

from __future__ import annotations

import json
import sqlite3

from ..messages.sqlite_record import write_state_changes
from ..sqlite_worker import SqliteWorker, in_snapshot, in_transaction
from .rules import PURGEABLE_STATES, DayCount, PurgeBatch, PurgedRow, summarise, window_reaches

__all__ = ["SqliteRetention"]

_PURGEABLE = json.dumps(list(PURGEABLE_STATES))

_CANDIDATES = (
    "SELECT m.id, m.smsc, m.state, m.parts, m.created_at FROM messages AS m "
    "WHERE m.id > ? AND m.id <= ? AND m.updated_at < ? AND m.created_at < ? "
    "AND m.state IN (SELECT value FROM json_each(?)) "
    "AND NOT EXISTS (SELECT 1 FROM billing_notices AS n WHERE n.message_id = m.id)"
)
_IDS = "(SELECT value FROM json_each(?))"


class SqliteRetention:
    """The :class:`~.interface.RetentionStore` part of :class:`~..sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def purge_finished(
        self, *, after_id: int, older_than: float, window: int = 1000
    ) -> PurgeBatch:
        def work(c: sqlite3.Connection) -> PurgeBatch:
            return in_transaction(c, lambda: _purge(c, after_id, older_than, window))

        return await self._worker.run("purge_finished", work)

    async def message_days(self, *, since: str = "") -> list[DayCount]:
        def work(c: sqlite3.Connection) -> list[DayCount]:
            def read() -> list[DayCount]:
                rows = c.execute(
                    "SELECT day, smsc, state, messages, parts FROM message_days "
                    "WHERE day >= ? ORDER BY day, smsc, state",
                    (since,),
                ).fetchall()
                return [DayCount(*row) for row in rows]

            return in_snapshot(c, read)

        return await self._worker.run("message_days", work)


def _purge(c: sqlite3.Connection, after_id: int, older_than: float, window: int) -> PurgeBatch:
    scanned = c.execute(
        "SELECT id, created_at FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, window)
    ).fetchall()
    if not scanned:
        return PurgeBatch(0, 0, 0, None)
    last = scanned[-1][0]
    done = window_reaches((row[1] for row in scanned), len(scanned), window, older_than)
    rows = [
        PurgedRow(*row)
        for row in c.execute(_CANDIDATES, (after_id, last, older_than, older_than, _PURGEABLE))
    ]
    next_after = None if done else last
    if not rows:
        return PurgeBatch(0, 0, 0, next_after)
    ids = json.dumps([row.message_id for row in rows])
    c.executemany(
        "INSERT INTO message_days (day, smsc, state, messages, parts) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (day, smsc, state) DO UPDATE SET messages = messages + excluded.messages, "
        "parts = parts + excluded.parts",
        [(d.day, d.smsc, d.state, d.messages, d.parts) for d in summarise(rows)],
    )
    events = c.execute(f"DELETE FROM message_events WHERE message_id IN {_IDS}", (ids,)).rowcount
    c.execute(f"DELETE FROM message_parts WHERE message_id IN {_IDS}", (ids,))
    c.execute(f"DELETE FROM messages WHERE id IN {_IDS}", (ids,))
    deltas: dict[tuple[str, str], int] = {}
    for row in rows:
        deltas[(row.smsc, row.state)] = deltas.get((row.smsc, row.state), 0) - 1
    write_state_changes(c, deltas)
    return PurgeBatch(len(rows), sum(row.parts for row in rows), events, next_after)
