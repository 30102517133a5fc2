"""Rate shares on SQLite: the :class:`~.interface.RateShareStore` part of the SQLite store.

A renewal is one write transaction, so processes sharing the database file
(which the store allows: writes take its lock) see each other's rows.
"""

from __future__ import annotations

import sqlite3

from ..sqlite_worker import SqliteWorker, in_transaction
from .model import RateShare

__all__ = ["SqliteRateShares"]


class SqliteRateShares:
    """The :class:`~.interface.RateShareStore` part of :class:`~..sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def renew_rate_share(self, share: RateShare, *, now: float) -> list[RateShare]:
        def work(c: sqlite3.Connection) -> list[RateShare]:
            def renew() -> list[RateShare]:
                c.execute(
                    "DELETE FROM rate_shares WHERE route = ? AND lease_until <= ? AND holder <> ?",
                    (share.route, now, share.holder),
                )
                c.execute(
                    "INSERT INTO rate_shares (route, holder, lease_until, level, cut_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (route, holder) DO UPDATE SET "
                    "lease_until = excluded.lease_until, level = excluded.level, "
                    "cut_at = excluded.cut_at",
                    (share.route, share.holder, share.until, share.level, share.cut_at),
                )
                rows = c.execute(
                    "SELECT holder, lease_until, level, cut_at FROM rate_shares "
                    "WHERE route = ? AND (lease_until > ? OR holder = ?) ORDER BY holder",
                    (share.route, now, share.holder),
                ).fetchall()
                return [RateShare(share.route, *row) for row in rows]

            return in_transaction(c, renew)

        return await self._worker.run("renew_rate_share", work)

    async def drop_rate_share(self, route: str, holder: str) -> None:
        def work(c: sqlite3.Connection) -> None:
            in_transaction(
                c,
                lambda: c.execute(
                    "DELETE FROM rate_shares WHERE route = ? AND holder = ?", (route, holder)
                ),
            )

        await self._worker.run("drop_rate_share", work)
