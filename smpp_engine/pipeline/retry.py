"""When to try a refused or unanswered submit again, and when to stop."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off between attempts, capped, for a bounded number of attempts.

    ``attempts`` counts submissions already made (the first is 1). Throttling
    answers get ``throttled_delay``: the bind is already paused by the rate
    controller, so the message only needs to step out of the way briefly.
    """

    first_delay: float = 5.0
    factor: float = 2.0
    max_delay: float = 600.0
    max_attempts: int = 10
    throttled_delay: float = 1.0

    def __post_init__(self) -> None:
        for name in ("first_delay", "max_delay", "throttled_delay"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"RetryPolicy.{name} must be positive, got {value!r}")
        if self.factor < 1:
            raise ValueError(f"RetryPolicy.factor must be at least 1, got {self.factor!r}")
        if self.max_delay < self.first_delay:
            raise ValueError(
                f"RetryPolicy.max_delay ({self.max_delay!r}) is below first_delay "
                f"({self.first_delay!r})"
            )
        if self.max_attempts < 1:
            raise ValueError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts!r}"
            )

    def retry_at(
        self, attempts: int, now: float, *, throttled: bool = False, expires_at: float | None = None
    ) -> float | None:
        """When to try again after ``attempts`` submissions, or None to give up.

        None when the attempts are used up, or when the next try would come after
        ``expires_at`` (the message's validity).
        """
        if attempts >= self.max_attempts:
            return None
        if throttled:
            delay = self.throttled_delay
        else:
            delay = min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))
        at = now + delay
        if expires_at is not None and at >= expires_at:
            return None
        return at
