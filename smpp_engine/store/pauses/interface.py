"""Paused routes: the store interface both backends implement.

A pause lives in the store, not in a process, so that it holds in every gateway
process sharing one PostgreSQL (or one SQLite file): each process reads the
paused routes every second or so (one small table, one row per paused route)
and its dispatcher of a paused route claims nothing new. A route is paused
while its row exists; resuming deletes it.
"""

from __future__ import annotations

from typing import Protocol

from .model import RoutePause

__all__ = ["PauseStore"]


class PauseStore(Protocol):
    """The routes an operator paused."""

    async def pause_route(self, route: str, *, now: float, by: str) -> RoutePause:
        """Pause ``route``; the pause in force is returned (pausing a paused route
        keeps the first pause: its moment and who made it)."""
        ...

    async def resume_route(self, route: str) -> bool:
        """Resume ``route``; False when it was not paused."""
        ...

    async def route_pauses(self) -> dict[str, RoutePause]:
        """Every paused route, by name."""
        ...
