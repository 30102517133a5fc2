"""AIMD: cut the rate when the SMSC pushes back, win it back slowly while it does not.

Multiplicative decrease on ESME_RTHROTTLED / ESME_RMSGQFUL and on a
``congestion_state`` above the optimum band; additive increase per second of
clean traffic (not per message, so a fast sender recovers no faster than a slow
one), up to the configured ceiling: the operator's contracted rate.
"""

from __future__ import annotations

import math
from typing import Literal

from ._arguments import fraction, non_negative, positive
from ._backoff import PauseBackoff
from .congestion import CongestionBand, congestion_band
from .limiter import Limiter, resolvable

AdaptiveState = Literal["steady", "backing_off", "recovering"]


class AdaptiveController:
    """A :class:`~throttling.RateController` (and ``CongestionAware``) whose rate adapts.

    ``limiter`` (a TokenBucket or a GCRA) enforces the current rate; its rate and
    burst when handed over are the ceiling and the burst at the ceiling (the burst
    shrinks in proportion with the rate). From then on only this controller sets them.

    - A throttle answer starts an episode: the rate is multiplied by ``decrease``
      (never below ``min_rate``) and the bind pauses for ``pause`` seconds, doubling
      for each further episode up to ``max_pause`` until a submit is accepted after
      a pause. Answers that arrive during the pause belong to the same episode: they
      cut nothing and get the rest of the pause, so binds sharing one controller
      pause together.
    - ``congestion_state`` 80-89 (optimum) holds the rate for ``settle`` seconds;
      90-99 cuts it at most once per ``settle`` seconds, without a pause; 100 counts
      as a throttle answer.
    - Each accepted submit adds ``increase`` (default: a sixtieth of the ceiling)
      per second since the previous one. A longer gap than max(1 s, two sends at the
      current rate) counts as only that long: an idle bind learns nothing.

    When several processes send for one account, each holds a share of it
    (:meth:`share`: the ceiling, floor, increase, burst and the rate now all scale
    with it), and a cut one of them makes is followed by the others
    (:meth:`follow_cut`), so that it cuts the account's total.
    """

    def __init__(
        self,
        limiter: Limiter,
        *,
        min_rate: float | None = None,
        decrease: float = 0.5,
        increase: float | None = None,
        pause: float = 1.0,
        max_pause: float = 30.0,
        settle: float = 1.0,
    ) -> None:
        self.limiter = limiter
        self._ceiling = ceiling = limiter.rate
        self._full_burst = limiter.burst
        self._min_rate = positive(
            "min_rate", min_rate if min_rate is not None else min(1.0, ceiling)
        )
        if self._min_rate > ceiling:
            raise ValueError(f"min_rate must not exceed the ceiling {ceiling!r}, got {min_rate!r}")
        self._decrease = fraction("decrease", decrease)
        self._increase = positive("increase", increase if increase is not None else ceiling / 60)
        self._backoff = PauseBackoff(pause, max_pause)
        self._settle = non_negative("settle", settle)
        self._rate = ceiling
        # The account's figures; the ones above are this controller's share of them.
        self._share = 1.0
        self._account = (ceiling, self._min_rate, self._increase, self._full_burst)
        self._paused_until = -math.inf
        # Clean traffic counts toward the increase from this time on.
        self._credit_from = -math.inf
        self._last_cut = -math.inf
        self._backing_off = False

    @property
    def rate(self) -> float:
        """The rate allowed now, in segments per second."""
        return self._rate

    @property
    def ceiling(self) -> float:
        return self._ceiling

    @property
    def min_rate(self) -> float:
        return self._min_rate

    @property
    def level(self) -> float:
        """The rate now as a fraction of the ceiling (1.0: not cut)."""
        return self._rate / self._ceiling

    @property
    def last_cut(self) -> float:
        """When this controller last cut its rate itself (-inf: never); a followed cut
        (:meth:`follow_cut`) does not count."""
        return self._last_cut

    @property
    def paused_until(self) -> float:
        """End of the current throttle pause (-inf: none yet)."""
        return self._paused_until

    @property
    def state(self) -> AdaptiveState:
        """``backing_off`` from a cut until the rate grows again, then ``recovering``
        until it is back at the ceiling: ``steady``."""
        if self._backing_off:
            return "backing_off"
        return "steady" if self._rate >= self._ceiling else "recovering"

    # --- RateController ------------------------------------------------------------

    def wait(self, segments: int, now: float) -> float:
        """Seconds until ``segments`` could go (0.0: now); counts nothing."""
        if now < self._paused_until:
            return resolvable(self._paused_until - now, now)
        return self.limiter.wait(segments, now=now)

    def acquire(self, segments: int, now: float) -> float:
        """Seconds to wait before sending ``segments``; 0.0 counts them as sent."""
        # Binds sharing this controller all hold back while one of them is paused.
        if now < self._paused_until:
            return resolvable(self._paused_until - now, now)
        return self.limiter.take(segments, now=now)

    def throttled(self, status: int, now: float) -> float:
        """Any status counts: the caller passes only throttle answers."""
        return self._episode(now)

    def accepted(self, now: float) -> None:
        if now < self._paused_until:
            return  # the answer to a request sent before the pause: proves nothing
        self._backoff.reset()
        if now <= self._credit_from:
            return
        credit = min(now - self._credit_from, max(1.0, 2.0 / self._rate))
        self._credit_from = now
        self._backing_off = False
        if self._rate < self._ceiling:
            self._set_rate(min(self._ceiling, self._rate + self._increase * credit), now)

    # --- CongestionAware -----------------------------------------------------------

    def congestion(self, state: int, now: float) -> float:
        """React to a ``congestion_state`` report: seconds to pause the bind, or 0.0."""
        band = congestion_band(state)
        if band is CongestionBand.CONGESTED:
            return self._episode(now)
        if band is CongestionBand.NEARING_CONGESTION:
            if now >= self._paused_until and now >= self._last_cut + self._settle:
                self._cut(now)
                self._credit_from = max(self._credit_from, now + self._settle)
        elif band is CongestionBand.OPTIMUM:
            self._credit_from = max(self._credit_from, now + self._settle)
        return 0.0

    # --- sharing an account between processes -----------------------------------------

    def share(self, fraction: float, now: float) -> None:
        """Hold ``fraction`` (0 < fraction <= 1) of the account from ``now`` on.

        The ceiling, the floor, the increase and the burst become that fraction of
        the account's, and the rate now keeps its level: a cut in force stays in force.
        """
        fraction = positive("fraction", fraction)
        if fraction > 1.0:
            raise ValueError(f"fraction must be at most 1, got {fraction!r}")
        if fraction == self._share:
            return
        level = self.level
        ceiling, min_rate, increase, burst = self._account
        self._share = fraction
        self._ceiling = ceiling * fraction
        self._min_rate = min_rate * fraction
        self._increase = increase * fraction
        self._full_burst = max(1.0, burst * fraction)
        self._set_rate(max(self._min_rate, min(self._ceiling, level * self._ceiling)), now)

    def follow_cut(self, level: float, now: float) -> bool:
        """Another process of the account cut its rate to ``level`` of its ceiling: cut
        this one to the same level if it is higher, and join the episode (a pause of
        ``pause``, not grown), so that the throttle answers to what this one sent
        before it knew count as that episode rather than cut again. True when cut."""
        rate = max(self._min_rate, level * self._ceiling)
        if rate >= self._rate:
            return False
        self._set_rate(rate, now)
        self._backing_off = True
        self._paused_until = max(self._paused_until, now + self._backoff.pause)
        self._credit_from = max(self._credit_from, self._paused_until)
        return True

    # --- internals -----------------------------------------------------------------

    def _episode(self, now: float) -> float:
        """Start a throttle episode (cut and pause), or join the one under way."""
        if now < self._paused_until:
            return self._paused_until - now
        self._cut(now)
        pause = self._backoff.next()
        self._paused_until = now + pause
        self._credit_from = max(self._credit_from, self._paused_until)
        return pause

    def _cut(self, now: float) -> None:
        self._set_rate(max(self._min_rate, self._rate * self._decrease), now)
        self._last_cut = now
        self._backing_off = True

    def _set_rate(self, rate: float, now: float) -> None:
        self._rate = rate
        # The burst shrinks with the rate: the end of a pause must not release a
        # burst sized for the ceiling into an SMSC that just pushed back.
        if rate >= self._ceiling:
            burst = self._full_burst
        else:
            burst = max(1.0, self._full_burst * rate / self._ceiling)
        self.limiter.set_rate(rate, now=now, burst=burst)

    def __repr__(self) -> str:
        return (
            f"AdaptiveController(rate={self._rate!r}, ceiling={self._ceiling!r}, "
            f"state={self.state!r})"
        )
