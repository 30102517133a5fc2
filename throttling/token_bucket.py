"""A token bucket with an injected clock: ``rate`` tokens per second, ``burst`` at most.

Tokens count SMS segments, not logical messages: a three-part message takes three.
"""

from __future__ import annotations

from ._arguments import at_least_one, non_negative, positive
from .limiter import EPSILON, resolvable


class TokenBucket:
    """Allow ``rate`` units per second with bursts up to ``burst``.

    :meth:`take` never blocks: it answers how long the caller must wait (0.0 when
    the units were taken now). A caller that waits that long and asks again gets
    its units, so the long-run rate is exact whatever the call pattern.
    """

    __slots__ = ("_level", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None, *, now: float) -> None:
        self.rate = positive("rate", rate)
        self.burst = at_least_one("burst", burst if burst is not None else max(rate, 1.0))
        self._level = self.burst
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._level = min(self.burst, self._level + (now - self._updated) * self.rate)
            self._updated = now

    def _wait(self, units: float, now: float) -> float:
        non_negative("units", units)
        # More than a burst can never be available at once: let it through as soon
        # as the bucket is full, and go into debt, so the rate still holds.
        units_needed = min(units, self.burst)
        self._refill(now)
        # Rounding leaves a caller that waited exactly as told a hair short: the
        # tolerance spares it a second, microscopic wait.
        if self._level >= units_needed - EPSILON:
            return 0.0
        return resolvable((units_needed - self._level) / self.rate, now)

    def wait(self, units: float = 1.0, *, now: float) -> float:
        """Seconds until ``units`` could be taken (0.0: now); takes nothing."""
        return self._wait(units, now)

    def take(self, units: float = 1.0, *, now: float) -> float:
        """Take ``units`` if available now (returns 0.0), else the seconds to wait."""
        wait = self._wait(units, now)
        if wait == 0.0:
            self._level -= units
        return wait

    def set_rate(self, rate: float, *, now: float, burst: float | None = None) -> None:
        """Change the rate (and the burst, if given) from ``now`` on.

        Tokens already earned (or owed) are kept; a smaller burst caps them.
        """
        rate = positive("rate", rate)
        new_burst = self.burst if burst is None else at_least_one("burst", burst)
        self._refill(now)
        self.rate = rate
        self.burst = new_burst
        self._level = min(self._level, new_burst)

    def available(self, now: float) -> float:
        """Tokens in the bucket now (negative while a large request is in debt)."""
        self._refill(now)
        return self._level

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate!r}, burst={self.burst!r})"
