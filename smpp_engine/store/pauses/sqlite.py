"""Paused routes on SQLite: the :class:`~.interface.PauseStore` part of the SQLite store."""

from __future__ import annotations

import sqlite3

from ..sqlite_worker import SqliteWorker, in_transaction
from .model import RoutePause

__all__ = ["SqlitePauses"]


class SqlitePauses:
    """The :class:`~.interface.PauseStore` part of :class:`~..sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def pause_route(self, route: str, *, now: float, by: str) -> RoutePause:
        def work(c: sqlite3.Connection) -> RoutePause:
            def pause() -> RoutePause:
                c.execute(
                    "INSERT INTO route_pauses (route, since, paused_by) VALUES (?, ?, ?) "
                    "ON CONFLICT (route) DO NOTHING",
                    (route, now, by),
                )
                row = c.execute(
                    "SELECT route, since, paused_by FROM route_pauses WHERE route = ?", (route,)
                ).fetchone()
                return RoutePause(*row)

            return in_transaction(c, pause)

        return await self._worker.run("pause_route", work)

    async def resume_route(self, route: str) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return (
                in_transaction(
                    c,
                    lambda: (
                        c.execute("DELETE FROM route_pauses WHERE route = ?", (route,)).rowcount
                    ),
                )
                > 0
            )

        return await self._worker.run("resume_route", work)

    async def route_pauses(self) -> dict[str, RoutePause]:
        def work(c: sqlite3.Connection) -> dict[str, RoutePause]:
            rows = c.execute("SELECT route, since, paused_by FROM route_pauses").fetchall()
            return {row[0]: RoutePause(*row) for row in rows}

        return await self._worker.run("route_pauses", work)
