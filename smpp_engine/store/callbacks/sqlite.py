"""The callback outbox on SQLite: the :class:`~.interface.CallbackStore` part of the store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..sqlite_worker import SqliteWorker, in_transaction
from . import queries
from .model import OutboxEvent, OutboxSettlement, OutboxStats, OutboxStatus
from .rules import OutboxRow

__all__ = ["SqliteCallbacks", "settlement_rows", "write_changed", "write_outbox"]

_INSERT = queries.for_sqlite(queries.INSERT)
_CHANGED = queries.for_sqlite(queries.CHANGED)
_CLAIM = queries.for_sqlite(queries.CLAIM)
_DELIVERED = queries.for_sqlite(queries.DELIVERED)
_FAILED = queries.for_sqlite(queries.FAILED)
_DEFER = queries.for_sqlite(queries.DEFER)
_LIST = queries.for_sqlite(queries.LIST)
_REPLAY = queries.for_sqlite(queries.REPLAY)
_CLAIM_FOR_URLS = queries.for_sqlite(queries.CLAIM_FOR_URLS)
_DELIVERED_MANY = queries.for_sqlite(queries.DELIVERED_MANY)


def write_outbox(c: sqlite3.Connection, rows: Sequence[OutboxRow]) -> None:
    """Write ``rows`` in the caller's transaction, in order."""
    if rows:
        c.executemany(
            _INSERT,
            [(r.message_id, r.tenant, r.url, r.event, r.occurred_at, r.payload) for r in rows],
        )


def write_changed(c: sqlite3.Connection, moved: Sequence[tuple[int, str]], at: float) -> None:
    """The events of messages (id, new state) moved by a set-based change, in the caller's
    transaction: one for each that asked for its new state."""
    if moved:
        c.executemany(_CHANGED, [(message_id, state, at) for message_id, state in moved])


def event_of(row: Sequence[Any]) -> OutboxEvent:
    """An :class:`OutboxEvent` from the columns of :data:`queries.COLUMNS`."""
    return OutboxEvent(
        event_id=row[0],
        message_id=row[1],
        tenant=row[2],
        url=row[3],
        event=row[4],
        occurred_at=row[5],
        payload=row[6],
        status=OutboxStatus(row[7]),
        attempts=row[8],
        next_at=row[9],
        created_at=row[10],
        last_error=row[11],
    )


def settlement_rows(
    settlements: Sequence[OutboxSettlement], owner: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The parameters of DELIVERED, FAILED and DEFER for ``settlements``."""
    delivered = [(s.event_id, owner) for s in settlements if s.delivered]
    deferred = [(s.event_id, owner, s.next_at) for s in settlements if s.deferred]
    failed = [
        (s.event_id, owner, s.status.value, s.next_at, s.error)
        for s in settlements
        if not s.delivered and not s.deferred
    ]
    return delivered, failed, deferred


class SqliteCallbacks:
    """The :class:`~.interface.CallbackStore` part of :class:`~..sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def add_callbacks(self, rows: Sequence[OutboxRow]) -> None:
        def work(c: sqlite3.Connection) -> None:
            in_transaction(c, lambda: write_outbox(c, rows))

        await self._worker.run("add_callbacks", work)

    async def claim_callbacks(
        self, *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        def work(c: sqlite3.Connection) -> list[OutboxEvent]:
            def claim() -> list[OutboxEvent]:
                rows = c.execute(_CLAIM, (owner, now, lease, limit)).fetchall()
                return sorted((event_of(r) for r in rows), key=lambda e: (e.next_at, e.event_id))

            return in_transaction(c, claim)

        return await self._worker.run("claim_callbacks", work)

    async def claim_callbacks_for(
        self, urls: Sequence[str], *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        if not urls:
            return []
        listed = json.dumps(list(urls))

        def work(c: sqlite3.Connection) -> list[OutboxEvent]:
            def claim() -> list[OutboxEvent]:
                rows = c.execute(_CLAIM_FOR_URLS, (owner, now, lease, limit, listed)).fetchall()
                return sorted((event_of(r) for r in rows), key=lambda e: (e.next_at, e.event_id))

            return in_transaction(c, claim)

        return await self._worker.run("claim_callbacks_for", work)

    async def callbacks_delivered(self, event_ids: Sequence[int], *, owner: str) -> int:
        listed = json.dumps(list(event_ids))

        def work(c: sqlite3.Connection) -> int:
            return in_transaction(c, lambda: c.execute(_DELIVERED_MANY, (listed, owner)).rowcount)

        return await self._worker.run("callbacks_delivered", work)

    async def _change(self, operation: str, statement: str, parameters: tuple[Any, ...]) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return in_transaction(c, lambda: c.execute(statement, parameters).rowcount > 0)

        return await self._worker.run(operation, work)

    async def callback_delivered(self, event_id: int, *, owner: str) -> bool:
        return await self._change("callback_delivered", _DELIVERED, (event_id, owner))

    async def callback_failed(
        self, event_id: int, *, owner: str, status: OutboxStatus, next_at: float, error: str
    ) -> bool:
        return await self._change(
            "callback_failed", _FAILED, (event_id, owner, status.value, next_at, error)
        )

    async def settle_callbacks(
        self, settlements: Sequence[OutboxSettlement], *, owner: str
    ) -> None:
        delivered, failed, deferred = settlement_rows(settlements, owner)

        def work(c: sqlite3.Connection) -> None:
            def settle() -> None:
                c.executemany(_DELIVERED, delivered)
                c.executemany(_FAILED, failed)
                c.executemany(_DEFER, deferred)

            in_transaction(c, settle)

        await self._worker.run("settle_callbacks", work)

    async def defer_callback(self, event_id: int, *, owner: str, until: float) -> bool:
        return await self._change("defer_callback", _DEFER, (event_id, owner, until))

    async def list_callbacks(
        self, *, status: OutboxStatus, tenant: str | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        def work(c: sqlite3.Connection) -> list[OutboxEvent]:
            return [event_of(r) for r in c.execute(_LIST, (status.value, tenant, limit))]

        return await self._worker.run("list_callbacks", work)

    async def replay_callbacks(
        self, *, now: float, tenant: str | None = None, event_id: int | None = None
    ) -> int:
        def work(c: sqlite3.Connection) -> int:
            return in_transaction(c, lambda: c.execute(_REPLAY, (now, tenant, event_id)).rowcount)

        return await self._worker.run("replay_callbacks", work)

    async def callback_stats(self) -> OutboxStats:
        def work(c: sqlite3.Connection) -> OutboxStats:
            return OutboxStats.of(
                (status, bool(failed), n, first)
                for status, failed, n, first in c.execute(queries.STATS)
            )

        return await self._worker.run("callback_stats", work)
