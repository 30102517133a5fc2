"""The rate controller a bind consults before each submit and tells about throttling.

The ESME client depends only on :class:`RateController`; the adaptive (AIMD)
controller and the per-bind controllers of an account limit plug in the same way.
Controllers that also read the SMSC's ``congestion_state`` meet
:class:`CongestionAware`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._backoff import PauseBackoff
from .token_bucket import TokenBucket


class RateController(Protocol):
    """Told the time on every call; never blocks, never reads a clock."""

    def acquire(self, segments: int, now: float) -> float:
        """Seconds to wait before sending ``segments`` (0.0: send now, they are counted).

        A positive answer counts nothing: the caller waits and asks again.
        """
        ...

    def throttled(self, status: int, now: float) -> float:
        """The SMSC answered ESME_RTHROTTLED or ESME_RMSGQFUL: seconds to pause the bind."""
        ...

    def accepted(self, now: float) -> None:
        """A submit went through: the SMSC is not throttling now."""
        ...


@runtime_checkable
class CongestionAware(Protocol):
    """Checkable with isinstance(): a bind forwards the TLV only to controllers that read it."""

    def congestion(self, state: int, now: float) -> float:
        """The SMSC reported ``congestion_state`` (0-100): seconds to pause the bind, or 0.0."""
        ...


class Unlimited:
    """No rate limit; throttle answers still pause the bind with a doubling back-off."""

    def __init__(self, pause: float = 1.0, max_pause: float = 30.0) -> None:
        self._backoff = PauseBackoff(pause, max_pause)

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
        self._backoff = PauseBackoff(pause, max_pause)

    def acquire(self, segments: int, now: float) -> float:
        return self.bucket.take(segments, now=now)

    def throttled(self, status: int, now: float) -> float:
        return self._backoff.next()

    def accepted(self, now: float) -> None:
        self._backoff.reset()
