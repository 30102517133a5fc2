"""A token bucket with an injected clock: ``rate`` tokens per second, ``burst`` at most.

Tokens count SMS segments, not logical messages: a three-part message takes three.
"""

from __future__ import annotations

_EPSILON = 1e-6


class TokenBucket:
    """Allow ``rate`` units per second with bursts up to ``burst``.

    :meth:`take` never blocks: it answers how long the caller must wait (0.0 when
    the units were taken now). A caller that waits that long and asks again gets
    its units, so the long-run rate is exact whatever the call pattern.
    """

    __slots__ = ("_level", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float | None = None, *, now: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, 1.0))
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self._level = self.burst
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._level = min(self.burst, self._level + (now - self._updated) * self.rate)
            self._updated = now

    def take(self, units: float = 1.0, *, now: float) -> float:
        """Take ``units`` if available now (returns 0.0), else the seconds to wait."""
        # More than a burst can never be available at once: let it through as soon
        # as the bucket is full, and go into debt, so the rate still holds.
        units_needed = min(units, self.burst)
        self._refill(now)
        # The tolerance matters: a wait of a few ulps added to a large clock value
        # leaves it unchanged, and a caller waiting as told would spin for ever.
        if self._level >= units_needed - _EPSILON:
            self._level -= units
            return 0.0
        return (units_needed - self._level) / self.rate

    def set_rate(self, rate: float, *, now: float) -> None:
        """Change the rate from ``now`` on (tokens already earned are kept)."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self._refill(now)
        self.rate = float(rate)

    def available(self, now: float) -> float:
        self._refill(now)
        return self._level
