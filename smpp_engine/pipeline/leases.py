"""The lease a route's dispatcher claims under, kept renewed, and the fence it sends behind.

Claims are leases: a process that stops renewing them loses them to recovery,
which may give them to another process. So the dispatcher renews what it holds
four times a lease, and sends nothing once its claims may have run out (a
quarter of a lease is kept in hand for the clocks of other processes); it then
drops them and claims anew under a new name. Each run of a dispatcher and each
such loss gets a new name (``host:pid/route#n``), so what an earlier one left in
the store is never renewed by a later one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog
import trio

from ..store import Store, StoreError

__all__ = ["RouteLease"]


class RouteLease:
    """The lease name of route ``route`` in process ``process``, and until when it holds.

    ``until`` is the wall time until which every claim held and not sent is
    certainly leased under :attr:`owner` (infinite while none is held).
    """

    def __init__(self, process: str, route: str, lease: float, clock: Callable[[], float]) -> None:
        self.process = process
        self.route = route
        self.lease = lease
        self.clock = clock
        self.generation = 0
        self.owner = self._name()
        self.until = math.inf
        #: The send waiting behind the fence; a renewal moves its deadline on.
        self.fence_scope: trio.CancelScope | None = None
        self._log = structlog.get_logger("smpp_engine.pipeline").bind(smsc=route)

    def _name(self) -> str:
        return f"{self.process}/{self.route}#{self.generation}"

    def rename(self) -> str:
        """Lease under a new name from now on (what the old one holds is left); the old."""
        old = self.owner
        self.generation += 1
        self.owner = self._name()
        self.until = math.inf
        return old

    def leased(self, until: float, *, holding: bool) -> None:
        """Claims leased until ``until`` join the others (``holding``: some are held)."""
        self.until = min(self.until, until) if holding else until

    def ran_out(self) -> bool:
        """Whether the claims held may have run out of lease: then none may be sent."""
        return self.clock() >= self.until - self.lease / 4

    def fence(self) -> float:
        """The trio time after which nothing held may be sent."""
        if self.until == math.inf:
            return math.inf
        return trio.current_time() + (self.until - self.lease / 4 - self.clock())

    async def keep_renewed(self, store: Store) -> None:
        """Renew the leases held, four times a lease, while the store answers."""
        while True:
            await trio.sleep(self.lease / 4)
            owner = self.owner
            until = self.clock() + self.lease
            try:
                await store.renew(self.route, owner=owner, until=until)
            except StoreError as exc:
                self._log.warning("leases not renewed", error=str(exc), lease_until=self.until)
                continue
            if owner == self.owner:
                self.until = until
                if self.fence_scope is not None:
                    self.fence_scope.deadline = self.fence()
