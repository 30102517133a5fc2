"""One SMSC account's rate across gateway processes: each holds a share, renewed in the store.

The operator's limit is the account's, whatever the number of processes sending
for it. Each process's dispatcher of the route holds a row in the store
(:class:`~smpp_engine.store.RateShareStore`), renewed every ``interval`` seconds
by a background task; the rows not run out are the account's live holders, and
each sends at the account's rate divided by their number. The per-message limiter
stays in the process (the adaptive controller and its GCRA): nothing on the hot
path waits for the store.

- A process that dies stops renewing; its row runs out ``ttl`` seconds after
  its last renewal, and the others take its share at their next renewal: the
  account is back to its full rate between ``ttl - interval`` and
  ``ttl + interval`` seconds after the death.
- A process that joins registers, then waits one ``interval`` before it sends:
  by then every holder has renewed and counts it, so the total never goes over
  the limit while the shares change hands. One that stops cleanly deletes its
  row: the others get its share at their next renewal.
- A process whose binds are all down holds no share (its row is deleted), so
  the processes that can send get the whole rate.
- A process that cannot renew (the store does not answer) stops sending once
  its row may have run out for the others (a quarter of ``ttl`` early, for
  clocks that differ between hosts): they may have taken its share.
- A cut of the adaptive controller on the SMSC's push-back is published with
  the row (its level and when); the other holders follow it at their next
  renewal, so the cut applies to the account's total rate, not only to the
  process that got the throttle answer. Recovery then runs in step in each
  process (the same increase per second, relative to each share).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import structlog
import trio

from metrics import RATE_SHARE_HOLDERS, child
from throttling import AdaptiveController, AdaptiveState

from ..store import RateShare, RateShareStore, StoreError

__all__ = ["SharedRate"]

#: Seconds between renewals of a process's share.
INTERVAL = 1.0
#: Seconds a share holds without renewal: after it the holder counts as dead.
TTL = 3.0
# Bound on the wait a closed gate answers: the bind asks again this soon.
_GATE_POLL = 0.1
# A clean stop gives the share back within this many seconds, or leaves it to run out.
_DROP_TIMEOUT = 2.0


class SharedRate:
    """A :class:`~throttling.RateController` (and ``CongestionAware``) for route ``route``
    whose account's rate ``controller`` (sized for the whole account) is shared with
    the other processes holding a share of it.

    ``holder`` names this process (unique among the processes on one store);
    ``clock`` is wall time, the store's. The controller runs on trio's clock.
    """

    def __init__(
        self,
        route: str,
        holder: str,
        controller: AdaptiveController,
        clock: Callable[[], float],
        *,
        interval: float = INTERVAL,
        ttl: float = TTL,
    ) -> None:
        if not 0 < interval < ttl * 3 / 4:
            raise ValueError(
                f"interval must be positive and under three quarters of ttl ({ttl!r}), "
                f"got {interval!r}"
            )
        self.route = route
        self.holder = holder
        self.controller = controller
        self.clock = clock
        self.interval = interval
        self.ttl = ttl
        #: Live holders at the last renewal, this process included (0: none yet).
        self.holders = 0
        # Trio times: sending may start at _open_at and must stop at _valid_until.
        self._open_at = math.inf
        self._valid_until = -math.inf
        self._registered = False
        # Per other holder, the cut (its cut_at) already followed.
        self._followed: dict[str, float] = {}
        self._log = structlog.get_logger("smpp_engine.pipeline").bind(smsc=route)
        self._holders_gauge = child(RATE_SHARE_HOLDERS, route)

    # --- RateController and CongestionAware ------------------------------------------

    @property
    def rate(self) -> float:
        """This process's rate now (its share of the account's, as cut)."""
        return self.controller.rate

    @property
    def state(self) -> AdaptiveState:
        return self.controller.state

    def sending(self, now: float) -> bool:
        """Whether this process holds a share it may send with at trio time ``now``."""
        return self._open_at <= now < self._valid_until

    def acquire(self, segments: int, now: float) -> float:
        if not self.sending(now):
            return _GATE_POLL
        return self.controller.acquire(segments, now)

    def throttled(self, status: int, now: float) -> float:
        return self.controller.throttled(status, now)

    def accepted(self, now: float) -> None:
        self.controller.accepted(now)

    def congestion(self, state: int, now: float) -> float:
        return self.controller.congestion(state, now)

    # --- the share in the store ------------------------------------------------------

    async def keep_renewed(self, store: RateShareStore, active: Callable[[], bool]) -> None:
        """Renew the share every ``interval`` while ``active()`` (a bind is up); hold
        none while it is not. The share is given back when this task ends."""
        try:
            while True:
                if active():
                    await self.renew(store)
                elif self._registered:
                    await self._drop(store)
                await trio.sleep(self.interval)
        finally:
            if self._registered:
                with trio.CancelScope(shield=True), trio.move_on_after(_DROP_TIMEOUT):
                    await self._drop(store)

    async def renew(self, store: RateShareStore) -> None:
        """Renew the share once and take the share and the cuts the holders say."""
        now = trio.current_time()
        wall = self.clock()
        cut = self.controller.last_cut
        share = RateShare(
            self.route,
            self.holder,
            wall + self.ttl,
            self.controller.level,
            None if cut == -math.inf else wall - (now - cut),
        )
        try:
            rows = await store.renew_rate_share(share, now=wall)
        except StoreError as exc:
            self._log.warning("rate share not renewed", error=str(exc), holders=self.holders)
            return
        # Measured from before the call: the others count the row from what it says.
        self._valid_until = now + self.ttl * 3 / 4
        if not self._registered:
            self._registered = True
            self._open_at = now + self.interval
        self.take(rows, trio.current_time())

    def take(self, rows: Sequence[RateShare], now: float) -> None:
        """Size this process's share from the live ``rows`` of the route and follow the
        cuts the other holders made since the last renewal (trio time ``now``)."""
        others = [row for row in rows if row.holder != self.holder]
        holders = len(others) + 1
        if holders != self.holders:
            self._log.info("rate shared", holders=holders, share=1 / holders)
        self.holders = holders
        self._holders_gauge.set(holders)
        self.controller.share(1 / holders, now)
        followed = self._followed
        new_cuts = [
            row.level
            for row in others
            if row.cut_at is not None and row.cut_at > followed.get(row.holder, -math.inf)
        ]
        self._followed = {
            row.holder: row.cut_at if row.cut_at is not None else -math.inf for row in others
        }
        if new_cuts and self.controller.follow_cut(min(new_cuts), now):
            self._log.info(
                "rate cut by another process followed", level=round(self.controller.level, 3)
            )

    async def _drop(self, store: RateShareStore) -> None:
        self._registered = False
        self.holders = 0
        self._holders_gauge.set(0)
        self._open_at = math.inf
        self._valid_until = -math.inf
        try:
            await store.drop_rate_share(self.route, self.holder)
        except StoreError as exc:
            self._log.warning("rate share left to run out", error=str(exc))
