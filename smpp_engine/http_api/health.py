"""Liveness and readiness: what ``/healthz`` and ``/readyz`` answer.

Alive means the process serves HTTP. Ready means it can do its job: every
route has at least one bind up and the store answers. A load balancer sends
traffic only to a ready gateway; an orchestrator restarts one that is not alive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store import Store, StoreError

__all__ = ["Readiness", "probe_readiness"]


@dataclass(frozen=True, slots=True)
class Readiness:
    """The gateway's fitness now: binds up per route, and whether the store answers.

    ``store_error`` says why the store did not answer, when it did not.
    """

    binds_up: Mapping[str, int] = field(default_factory=dict)
    store_reachable: bool = True
    store_error: str | None = None

    def missing_routes(self, routes: Sequence[str]) -> list[str]:
        """The routes among ``routes`` with no bind up."""
        return [route for route in routes if self.binds_up.get(route, 0) < 1]

    def is_ready(self, routes: Sequence[str]) -> bool:
        return self.store_reachable and not self.missing_routes(routes)

    def to_json(self, routes: Sequence[str]) -> dict[str, Any]:
        return {
            "ready": self.is_ready(routes),
            "routes": {route: {"binds_up": self.binds_up.get(route, 0)} for route in routes},
            "routes_without_binds": self.missing_routes(routes),
            "store": {"reachable": self.store_reachable, "error": self.store_error},
        }


async def probe_readiness(store: Store, binds_up: Callable[[], Mapping[str, int]]) -> Readiness:
    """Ask the store for its counters (a cheap query) and read the binds up per route."""
    try:
        await store.stats()
    except StoreError as exc:
        return Readiness(dict(binds_up()), store_reachable=False, store_error=str(exc))
    return Readiness(dict(binds_up()))
