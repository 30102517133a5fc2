"""GCRA, the generic cell rate algorithm: a limiter that keeps one theoretical arrival time.

The theoretical arrival time (TAT) is when the units granted so far would have
been earned at ``rate``. A request fits if granting it keeps the TAT within
``burst`` units of ``now``. This is the token bucket seen from the other side;
it keeps the TAT as an anchor time plus a count of units granted since, so a long
busy run adds no rounding error and the long-run rate stays exact.
"""

from __future__ import annotations

from ._arguments import at_least_one, non_negative, positive
from .limiter import EPSILON, resolvable


class GCRA:
    """Allow ``rate`` units per second with bursts up to ``burst`` (default: one second's worth).

    A request larger than ``burst`` goes as soon as the limiter is idle and puts
    it in debt, so it is never refused for ever and the rate still holds.
    """

    __slots__ = ("_anchor", "_burst", "_granted", "_rate")

    def __init__(self, rate: float, burst: float | None = None, *, now: float) -> None:
        self._rate = positive("rate", rate)
        self._burst = at_least_one("burst", burst if burst is not None else max(rate, 1.0))
        self._anchor = float(now)
        self._granted = 0.0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def theoretical_arrival_time(self, now: float) -> float:
        """When the units granted so far are earned (``now`` if they already are)."""
        self._backlog(now)  # re-anchors an idle limiter at ``now``
        return self._anchor + self._granted / self._rate

    def _backlog(self, now: float) -> float:
        """Units granted but not yet earned at ``now``; an idle limiter re-anchors at ``now``."""
        # A ``now`` before the anchor (a stale reading) earns nothing and costs nothing.
        elapsed = now - self._anchor
        if elapsed <= 0.0:
            return self._granted
        backlog = self._granted - elapsed * self._rate
        if backlog <= 0.0:
            self._anchor = now
            self._granted = 0.0
            return 0.0
        return backlog

    def _wait(self, units: float, now: float) -> float:
        non_negative("units", units)
        # More than a burst can never fit at once: it waits for an idle limiter.
        shortfall = self._backlog(now) + min(units, self._burst) - self._burst
        if shortfall <= EPSILON:
            return 0.0
        return resolvable(shortfall / self._rate, now)

    def wait(self, units: float = 1.0, *, now: float) -> float:
        """Seconds until ``units`` could be taken (0.0: now); takes nothing."""
        return self._wait(units, now)

    def take(self, units: float = 1.0, *, now: float) -> float:
        """Take ``units`` if allowed now (returns 0.0), else the seconds to wait."""
        wait = self._wait(units, now)
        if wait == 0.0:
            self._granted += units
        return wait

    def set_rate(self, rate: float, *, now: float, burst: float | None = None) -> None:
        """Change the rate (and the burst, if given) from ``now`` on.

        Units already earned or owed are kept; a smaller burst caps what was earned.
        """
        rate = positive("rate", rate)
        new_burst = self._burst if burst is None else at_least_one("burst", burst)
        # Keep what is available now (up to the new burst), not what is owed.
        backlog = max(0.0, self._backlog(now) + new_burst - self._burst)
        self._anchor = max(now, self._anchor)
        self._granted = backlog
        self._rate = rate
        self._burst = new_burst

    def available(self, now: float) -> float:
        """Units that could go at once now (negative while a large request is in debt)."""
        return self._burst - self._backlog(now)

    def __repr__(self) -> str:
        return f"GCRA(rate={self._rate!r}, burst={self._burst!r})"
