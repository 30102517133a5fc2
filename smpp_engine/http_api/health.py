"""Liveness and readiness: what ``/healthz`` and ``/readyz`` answer.

Alive means the process serves HTTP. Ready means it can do its job: every
route has at least one bind up, none is waiting to be started again after a
fault, and the store answers. A load balancer sends traffic only to a ready
gateway; an orchestrator restarts one that is not alive (a route restarting
after a fault does not make the process unhealthy: the pipeline restarts it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pipeline import RouteStatus
from ..store import Store, StoreError

__all__ = ["Readiness", "probe_readiness"]


@dataclass(frozen=True, slots=True)
class Readiness:
    """The gateway's fitness now: binds up per route, and whether the store answers.

    ``store_error`` says why the store did not answer, when it did not.
    ``route_status`` adds each route's restarts after faults, when known.
    """

    binds_up: Mapping[str, int] = field(default_factory=dict)
    store_reachable: bool = True
    store_error: str | None = None
    route_status: Mapping[str, RouteStatus] = field(default_factory=dict)

    def missing_routes(self, routes: Sequence[str]) -> list[str]:
        """The routes among ``routes`` with no bind up."""
        return [route for route in routes if self.binds_up.get(route, 0) < 1]

    def restarting_routes(self, routes: Sequence[str]) -> list[str]:
        """The routes among ``routes`` waiting to be started again after a fault."""
        return [
            route
            for route in routes
            if (status := self.route_status.get(route)) is not None and status.restarting
        ]

    def is_ready(self, routes: Sequence[str]) -> bool:
        return (
            self.store_reachable
            and not self.missing_routes(routes)
            and not self.restarting_routes(routes)
        )

    def to_json(self, routes: Sequence[str]) -> dict[str, Any]:
        return {
            "ready": self.is_ready(routes),
            "routes": {route: self._route_json(route) for route in routes},
            "routes_without_binds": self.missing_routes(routes),
            "routes_restarting": self.restarting_routes(routes),
            "store": {"reachable": self.store_reachable, "error": self.store_error},
        }

    def _route_json(self, route: str) -> dict[str, Any]:
        shown: dict[str, Any] = {"binds_up": self.binds_up.get(route, 0)}
        status = self.route_status.get(route)
        if status is not None:
            shown.update(
                restarts=status.restarts,
                restarting=status.restarting,
                last_error=status.last_error,
            )
        return shown


async def probe_readiness(
    store: Store,
    binds_up: Callable[[], Mapping[str, int]],
    route_status: Callable[[], Mapping[str, RouteStatus]] | None = None,
) -> Readiness:
    """Ask the store for its counters (a cheap query) and read the routes' state."""
    statuses = dict(route_status()) if route_status is not None else {}
    try:
        await store.stats()
    except StoreError as exc:
        return Readiness(
            dict(binds_up()), store_reachable=False, store_error=str(exc), route_status=statuses
        )
    return Readiness(dict(binds_up()), route_status=statuses)
