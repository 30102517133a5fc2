"""Kept MO messages on PostgreSQL: the :class:`~.interface.MoStore` part of the store."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from ..callbacks.queries import INSERT as OUTBOX_INSERT
from . import queries
from .model import KeptMo, MoRoute, NewMo
from .rules import kept_of, mo_event, mo_parameters

__all__ = ["PostgresMo"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_LIST = queries.LIST.replace("$1 IS NULL", "$1::text IS NULL").replace(
    "$2 IS NULL", "$2::text IS NULL"
)


class PostgresMo:
    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def keep_mo(self, mo: NewMo, *, callback_url: str | None = None) -> tuple[int, bool]:
        return await self._run("keep_mo", self._keep_mo_row, mo, callback_url)

    async def _keep_mo_row(self, mo: NewMo, callback_url: str | None) -> tuple[int, bool]:
        async with self._pool.acquire() as connection, connection.transaction():
            kept = await connection.fetchval(queries.INSERT, *mo_parameters(mo))
            if kept is None:
                return int(await connection.fetchval(queries.FIND, mo.mo_id)), True
            if callback_url is not None:
                event = mo_event(mo, int(kept), callback_url)
                await connection.execute(
                    OUTBOX_INSERT,
                    event.message_id,
                    event.tenant,
                    event.url,
                    event.event,
                    event.occurred_at,
                    event.payload,
                )
            return int(kept), False

    async def list_mo(
        self, *, route: MoRoute | None = None, tenant: str | None = None, limit: int = 100
    ) -> list[KeptMo]:
        wanted = None if route is None else route.value
        rows = await self._run("list_mo", self._list_mo_rows, wanted, tenant, limit)
        return [kept_of(tuple(r)) for r in rows]

    async def _list_mo_rows(self, route: str | None, tenant: str | None, limit: int) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(_LIST, route, tenant, limit))
