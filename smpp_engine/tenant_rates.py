"""A tenant's throughput across gateway processes: each process holds a share of it.

One limiter per tenant per process (a GCRA, a second of burst), taken from by the
HTTP API's accept and the SMPP server face alike, so a tenant sending over both
gets its ``throughput`` once, not once per face. Each process holds a row per
tenant in the store's rate shares (the machinery the SMSC accounts use, under
the key ``tenant:NAME``), renewed every ``interval`` seconds; the rows not run
out are the tenant's live holders and each process's limiter allows the
throughput divided by their number. Nothing on the accept path waits for the
store.

- A process that dies stops renewing; its row runs out ``ttl`` seconds after
  its last renewal and the others take its share at their next renewal.
- A process that stops cleanly deletes its rows.
- Until its first renewal (or with a store that keeps no shares) a process
  allows the whole throughput: a gateway of one process is never slowed by the
  sharing, and a store that does not answer refuses the accepts anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog
import trio

from throttling import GCRA

from .store import RateShare, RateShareStore, StoreError

__all__ = ["TENANT_KEY_PREFIX", "TenantRates"]

#: The rate-share key of a tenant's throughput (route names never hold a colon).
TENANT_KEY_PREFIX = "tenant:"
#: Seconds between renewals, and how long a share holds without one.
INTERVAL = 1.0
TTL = 3.0

_log = structlog.get_logger("smpp_engine.tenant_rates")


class _Limit:
    __slots__ = ("holders", "limiter", "throughput")

    def __init__(self, throughput: float) -> None:
        self.throughput = throughput
        self.holders = 1
        self.limiter: GCRA | None = None

    @property
    def rate(self) -> float:
        return self.throughput / self.holders


class TenantRates:
    """The tenants' throughputs (None: no limit) as this process's shares of them."""

    def __init__(
        self,
        throughputs: Mapping[str, float | None],
        *,
        holder: str,
        clock: Callable[[], float] = time.time,
        interval: float = INTERVAL,
        ttl: float = TTL,
    ) -> None:
        self.holder = holder
        self.clock = clock
        self.interval = interval
        self.ttl = ttl
        self._limits: dict[str, _Limit] = {}
        self._held: set[str] = set()
        self.update(throughputs)

    def update(self, throughputs: Mapping[str, float | None]) -> None:
        """Take the throughputs a reload brings (a changed one starts a fresh limiter)."""
        limits: dict[str, _Limit] = {}
        for name, throughput in throughputs.items():
            if throughput is None:
                continue
            kept = self._limits.get(name)
            if kept is not None and kept.throughput == throughput:
                limits[name] = kept
            else:
                limits[name] = _Limit(throughput)
                if kept is not None:
                    limits[name].holders = kept.holders
        self._limits = limits

    def holders(self, tenant: str) -> int:
        """The processes sharing ``tenant``'s throughput, as last renewed (1: alone)."""
        limit = self._limits.get(tenant)
        return 1 if limit is None else limit.holders

    def rate(self, tenant: str) -> float | None:
        """What this process allows ``tenant`` per second now (None: no limit)."""
        limit = self._limits.get(tenant)
        return None if limit is None else limit.rate

    def take(self, tenant: str, units: int, now: float) -> float:
        """Take ``units`` messages of ``tenant``'s share; the wait (0: taken) when over it."""
        limit = self._limits.get(tenant)
        if limit is None:
            return 0.0
        if limit.limiter is None:
            # A second of burst: a client sending in batches is not refused for batching.
            limit.limiter = GCRA(limit.rate, max(limit.rate, 1.0), now=now)
        wait = limit.limiter.wait(units, now=now)
        if wait > 0:
            return wait
        limit.limiter.take(units, now=now)
        return 0.0

    async def renew(self, store: RateShareStore) -> None:
        """Renew this process's share of every limited tenant once and size each limiter
        by the live holders."""
        wall = self.clock()
        for name, limit in list(self._limits.items()):
            share = RateShare(TENANT_KEY_PREFIX + name, self.holder, wall + self.ttl)
            try:
                rows = await store.renew_rate_share(share, now=wall)
            except StoreError as exc:
                _log.warning("tenant rate share not renewed", tenant=name, error=str(exc))
                continue
            self._held.add(name)
            holders = len({r.holder for r in rows} | {self.holder})
            if holders != limit.holders:
                _log.info("tenant rate shared", tenant=name, holders=holders)
                limit.holders = holders
                limit.limiter = None  # sized again at the next take
        for gone in self._held - set(self._limits):
            await self._drop(store, gone)

    async def keep_renewed(
        self, store: RateShareStore, *, task_status: object = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Renew every ``interval`` seconds; the shares are given back when this ends."""
        try:
            await self.renew(store)
            task_status.started()  # type: ignore[attr-defined]
            while True:
                await trio.sleep(self.interval)
                await self.renew(store)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2.0):
                for name in list(self._held):
                    await self._drop(store, name)

    async def _drop(self, store: RateShareStore, name: str) -> None:
        self._held.discard(name)
        try:
            await store.drop_rate_share(TENANT_KEY_PREFIX + name, self.holder)
        except StoreError as exc:
            _log.warning("tenant rate share left to run out", tenant=name, error=str(exc))
