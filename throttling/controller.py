"""The rate controller a bind consults before each submit and tells about throttling.

The ESME client depends only on :class:`RateController`; the adaptive (AIMD)
controller of the delivery pipeline plugs in the same way.
"""

from __future__ import annotations

from typing import Protocol

from .token_bucket import TokenBucket


class RateController(Protocol):
    def acquire(self, segments: int, now: float) -> float:
        """Seconds to wait before sending ``segments`` (0.0: send now, they are counted)."""
        ...

    def throttled(self, status: int, now: float) -> float:
        """The SMSC answered ESME_RTHROTTLED or ESME_RMSGQFUL: seconds to pause the bind."""
        ...

    def accepted(self, now: float) -> None:
        """A submit went through: the SMSC is not throttling now."""
        ...


class Unlimited:
    """No rate limit; throttle answers still pause the bind with a doubling back-off."""

    def __init__(self, pause: float = 1.0, max_pause: float = 30.0) -> None:
        self._backoff = _PauseBackoff(pause, max_pause)

    def acquire(self, segments: int, now: float) -> float:
        return 0.0

    def throttled(self, status: int, now: float) -> float:
        return self._backoff.next()

    def accepted(self, now: float) -> None:
        self._backoff.reset()


class TokenBucketController:
    """A fixed rate in segments per second, and a doubling pause on throttle answers."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        now: float,
        pause: float = 1.0,
        max_pause: float = 30.0,
    ) -> None:
        self.bucket = TokenBucket(rate, burst, now=now)
        self._backoff = _PauseBackoff(pause, max_pause)

    def acquire(self, segments: int, now: float) -> float:
        return self.bucket.take(segments, now=now)

    def throttled(self, status: int, now: float) -> float:
        return self._backoff.next()

    def accepted(self, now: float) -> None:
        self._backoff.reset()


class _PauseBackoff:
    """pause, 2*pause, 4*pause ... up to max_pause, reset by a success."""

    def __init__(self, pause: float, max_pause: float) -> None:
        if pause <= 0 or max_pause < pause:
            raise ValueError(f"need 0 < pause <= max_pause, got {pause!r}, {max_pause!r}")
        self.pause = pause
        self.max_pause = max_pause
        self._next = pause

    def next(self) -> float:
        current = self._next
        self._next = min(self.max_pause, current * 2)
        return current

    def reset(self) -> None:
        self._next = self.pause
