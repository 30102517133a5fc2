"""Kept MO messages on SQLite: the :class:`~.interface.MoStore` part of the store."""

from __future__ import annotations

import sqlite3

from ..callbacks.queries import for_sqlite
from ..callbacks.sqlite import write_outbox
from ..sqlite_worker import SqliteWorker, in_transaction
from . import queries
from .model import KeptMo, MoRoute, NewMo
from .rules import kept_of, mo_event, mo_parameters

__all__ = ["SqliteMo"]

_INSERT = for_sqlite(queries.INSERT)
_FIND = for_sqlite(queries.FIND)
_LIST = for_sqlite(queries.LIST)


class SqliteMo:
    _worker: SqliteWorker

    async def keep_mo(self, mo: NewMo, *, callback_url: str | None = None) -> tuple[int, bool]:
        def work(c: sqlite3.Connection) -> tuple[int, bool]:
            def keep() -> tuple[int, bool]:
                row = c.execute(_INSERT, mo_parameters(mo)).fetchone()
                if row is None:
                    return int(c.execute(_FIND, (mo.mo_id,)).fetchone()[0]), True
                if callback_url is not None:
                    write_outbox(c, [mo_event(mo, int(row[0]), callback_url)])
                return int(row[0]), False

            return in_transaction(c, keep)

        return await self._worker.run("keep_mo", work)

    async def list_mo(
        self, *, route: MoRoute | None = None, tenant: str | None = None, limit: int = 100
    ) -> list[KeptMo]:
        def work(c: sqlite3.Connection) -> list[KeptMo]:
            wanted = None if route is None else route.value
            return [kept_of(r) for r in c.execute(_LIST, (wanted, tenant, limit))]

        return await self._worker.run("list_mo", work)
