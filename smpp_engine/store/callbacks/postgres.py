"""The callback outbox on PostgreSQL: the :class:`~.interface.CallbackStore` part of the store.

A claim locks the rows it takes and skips those another process is taking
(``FOR UPDATE SKIP LOCKED``), so processes sharing the database share the work.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from . import queries
from .model import OutboxEvent, OutboxSettlement, OutboxStats, OutboxStatus
from .rules import OutboxRow
from .sqlite import event_of, settlement_rows

__all__ = ["PostgresCallbacks"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_INSERT = queries.INSERT
_CLAIM = queries.for_postgres(queries.CLAIM)
_CLAIM_FOR_URLS = queries.for_postgres(queries.CLAIM_FOR_URLS)
_DELIVERED_MANY = queries.for_postgres(queries.DELIVERED_MANY)
_LIST = queries.LIST.replace("$2 IS NULL", "$2::text IS NULL")
_REPLAY = queries.REPLAY.replace("$2 IS NULL", "$2::text IS NULL").replace(
    "$3 IS NULL", "$3::bigint IS NULL"
)


class PostgresCallbacks:
    """The :class:`~.interface.CallbackStore` part of :class:`~..postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def add_callbacks(self, rows: Sequence[OutboxRow]) -> None:
        if rows:
            await self._run("add_callbacks", self._add_callbacks, list(rows))

    async def _add_callbacks(self, rows: list[OutboxRow]) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.executemany(
                _INSERT,
                [(r.message_id, r.tenant, r.url, r.event, r.occurred_at, r.payload) for r in rows],
            )

    async def claim_callbacks(
        self, *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        rows = await self._run(
            "claim_callbacks", self._fetch_callbacks, _CLAIM, owner, now, lease, limit
        )
        return sorted((event_of(tuple(r)) for r in rows), key=lambda e: (e.next_at, e.event_id))

    async def claim_callbacks_for(
        self, urls: Sequence[str], *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        if not urls:
            return []
        rows = await self._run(
            "claim_callbacks_for",
            self._fetch_callbacks,
            _CLAIM_FOR_URLS,
            owner,
            now,
            lease,
            limit,
            list(urls),
        )
        return sorted((event_of(tuple(r)) for r in rows), key=lambda e: (e.next_at, e.event_id))

    async def callbacks_delivered(self, event_ids: Sequence[int], *, owner: str) -> int:
        return await self._run(
            "callbacks_delivered", self._outbox_count, _DELIVERED_MANY, list(event_ids), owner
        )

    async def callback_delivered(self, event_id: int, *, owner: str) -> bool:
        return await self._run(
            "callback_delivered", self._outbox_changed, queries.DELIVERED, event_id, owner
        )

    async def callback_failed(
        self, event_id: int, *, owner: str, status: OutboxStatus, next_at: float, error: str
    ) -> bool:
        return await self._run(
            "callback_failed",
            self._outbox_changed,
            queries.FAILED,
            event_id,
            owner,
            status.value,
            next_at,
            error,
        )

    async def settle_callbacks(
        self, settlements: Sequence[OutboxSettlement], *, owner: str
    ) -> None:
        if settlements:
            rows = settlement_rows(settlements, owner)
            await self._run("settle_callbacks", self._settle_callbacks, rows)

    async def _settle_callbacks(self, rows: tuple[list[Any], list[Any], list[Any]]) -> None:
        delivered, failed, deferred = rows
        async with self._pool.acquire() as connection, connection.transaction():
            for statement, parameters in (
                (queries.DELIVERED, delivered),
                (queries.FAILED, failed),
                (queries.DEFER, deferred),
            ):
                if parameters:
                    await connection.executemany(statement, parameters)

    async def defer_callback(self, event_id: int, *, owner: str, until: float) -> bool:
        return await self._run(
            "defer_callback", self._outbox_changed, queries.DEFER, event_id, owner, until
        )

    async def list_callbacks(
        self, *, status: OutboxStatus, tenant: str | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        rows = await self._run(
            "list_callbacks", self._fetch_callbacks, _LIST, status.value, tenant, limit
        )
        return [event_of(tuple(r)) for r in rows]

    async def replay_callbacks(
        self, *, now: float, tenant: str | None = None, event_id: int | None = None
    ) -> int:
        return await self._run(
            "replay_callbacks", self._outbox_count, _REPLAY, now, tenant, event_id
        )

    async def callback_stats(self) -> OutboxStats:
        rows = await self._run("callback_stats", self._fetch_callbacks, queries.STATS)
        return OutboxStats.of((r[0], bool(r[1]), r[2], r[3]) for r in rows)

    async def _fetch_callbacks(self, query: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(query, *args))

    async def _outbox_changed(self, query: str, *args: Any) -> bool:
        return await self._outbox_count(query, *args) > 0

    async def _outbox_count(self, query: str, *args: Any) -> int:
        async with self._pool.acquire() as connection:
            status = await connection.execute(query, *args)
        return int(status.rsplit(" ", 1)[-1])
