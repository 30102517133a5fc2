"""Paused routes on PostgreSQL: the :class:`~.interface.PauseStore` part of the store."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from .model import RoutePause

__all__ = ["PostgresPauses"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The pause in force comes back whether this call made it or an earlier one did.
_PAUSE = """
WITH made AS (
    INSERT INTO route_pauses (route, since, paused_by) VALUES ($1, $2, $3)
    ON CONFLICT (route) DO NOTHING
    RETURNING route, since, paused_by
)
SELECT route, since, paused_by FROM made
UNION ALL
SELECT route, since, paused_by FROM route_pauses
WHERE route = $1 AND NOT EXISTS (SELECT 1 FROM made)
"""


class PostgresPauses:
    """The :class:`~.interface.PauseStore` part of :class:`~..postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def pause_route(self, route: str, *, now: float, by: str) -> RoutePause:
        row = await self._run("pause_route", self._fetchrow_pauses, _PAUSE, route, now, by)
        return RoutePause(row["route"], row["since"], row["paused_by"])

    async def resume_route(self, route: str) -> bool:
        row = await self._run(
            "resume_route",
            self._fetchrow_pauses,
            "DELETE FROM route_pauses WHERE route = $1 RETURNING route",
            route,
        )
        return row is not None

    async def route_pauses(self) -> dict[str, RoutePause]:
        rows = await self._run(
            "route_pauses", self._fetch_pauses, "SELECT route, since, paused_by FROM route_pauses"
        )
        return {
            row["route"]: RoutePause(row["route"], row["since"], row["paused_by"]) for row in rows
        }

    async def _fetchrow_pauses(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchrow(query, *args)

    async def _fetch_pauses(self, query: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(query, *args))
