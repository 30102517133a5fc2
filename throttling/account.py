"""One SMSC account's limit, shared by all its binds, and each bind's own limit on top.

The operator's rate covers every bind of an account together. A bind sends only
when both its own limit (if it has one) and the account's let it; when either
says wait, neither counts the units, so nothing is lost or counted twice.
This is the limit within one process; processes sending for one account share
its limit through the store (:mod:`smpp_engine.pipeline.rate_share`), each
process's controller sized to its share.
"""

from __future__ import annotations

from ._backoff import PauseBackoff
from .adaptive import AdaptiveController
from .congestion import CongestionBand, congestion_band
from .gcra import GCRA
from .limiter import Limiter


class AccountLimiter:
    """``rate`` segments per second with bursts up to ``burst`` for the whole account.

    :meth:`adaptive` makes an account whose rate adapts to the SMSC's push-back
    on any of its binds.
    """

    def __init__(self, rate: float, burst: float | None = None, *, now: float) -> None:
        self._limiter: Limiter = GCRA(rate, burst, now=now)
        self._adaptive: AdaptiveController | None = None
        self._created = now

    @classmethod
    def adaptive(cls, controller: AdaptiveController, *, now: float) -> AccountLimiter:
        """An account limited by ``controller``: a throttle answer on any bind cuts the
        account's rate and pauses its binds together."""
        account = cls.__new__(cls)
        account._limiter = controller.limiter
        account._adaptive = controller
        account._created = now
        return account

    @property
    def rate(self) -> float:
        """The account's rate now, in segments per second."""
        return self._limiter.rate

    @property
    def controller(self) -> AdaptiveController | None:
        """The adaptive controller, for its state metric (None: a fixed rate)."""
        return self._adaptive

    def for_bind(
        self,
        name: str,
        bind_rate: float | None = None,
        bind_burst: float | None = None,
        *,
        pause: float = 1.0,
        max_pause: float = 30.0,
    ) -> AccountBind:
        """The controller for bind ``name``: the account's limit and, with ``bind_rate``,
        its own. ``pause`` / ``max_pause`` are the bind's back-off on throttle answers
        when the account is not adaptive (an adaptive account pauses all binds)."""
        if bind_rate is None and bind_burst is not None:
            raise ValueError(f"bind_burst needs a bind_rate, got bind_burst={bind_burst!r}")
        # A fresh limiter is idle whatever its start time: the account's will do.
        limit = GCRA(bind_rate, bind_burst, now=self._created) if bind_rate is not None else None
        return AccountBind(self, name, limit, PauseBackoff(pause, max_pause))

    def _take(self, segments: int, now: float) -> float:
        if self._adaptive is not None:
            return self._adaptive.acquire(segments, now)
        return self._limiter.take(segments, now=now)

    def __repr__(self) -> str:
        kind = "adaptive" if self._adaptive is not None else "fixed"
        return f"AccountLimiter(rate={self.rate!r}, {kind})"


class AccountBind:
    """A bind's :class:`~throttling.RateController` (and ``CongestionAware``) within an account.

    Made by :meth:`AccountLimiter.for_bind`.
    """

    def __init__(
        self,
        account: AccountLimiter,
        name: str,
        limit: GCRA | None,
        backoff: PauseBackoff,
    ) -> None:
        self.account = account
        self.name = name
        self.limit = limit
        self._backoff = backoff

    def acquire(self, segments: int, now: float) -> float:
        limit = self.limit
        if limit is not None:
            wait = limit.wait(segments, now=now)
            if wait > 0.0:
                return wait
        wait = self.account._take(segments, now)
        if wait > 0.0 or limit is None:
            return wait
        # Granted by wait() at this same instant, so this take cannot refuse.
        limit.take(segments, now=now)
        return 0.0

    def throttled(self, status: int, now: float) -> float:
        adaptive = self.account.controller
        if adaptive is not None:
            return adaptive.throttled(status, now)
        return self._backoff.next()

    def accepted(self, now: float) -> None:
        adaptive = self.account.controller
        if adaptive is not None:
            adaptive.accepted(now)
        else:
            self._backoff.reset()

    def congestion(self, state: int, now: float) -> float:
        """Seconds to pause for ``congestion_state``; a fixed account pauses only at 100."""
        adaptive = self.account.controller
        if adaptive is not None:
            return adaptive.congestion(state, now)
        if congestion_band(state) is CongestionBand.CONGESTED:
            return self._backoff.next()
        return 0.0

    def __repr__(self) -> str:
        rate = None if self.limit is None else self.limit.rate
        return f"AccountBind({self.name!r}, bind_rate={rate!r}, account={self.account!r})"
