"""Delays between reconnect attempts: exponential, capped, with jitter."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """``first``, ``first*multiplier``... up to ``cap``, each less up to ``jitter`` of itself.

    :meth:`reset` after a success starts the sequence again. Pure: the random
    source is injected, nothing sleeps here.
    """

    def __init__(
        self,
        first: float,
        cap: float,
        *,
        multiplier: float = 2.0,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        if first <= 0 or cap < first or multiplier < 1 or not 0 <= jitter <= 1:
            raise ValueError(
                f"need 0 < first <= cap, multiplier >= 1, 0 <= jitter <= 1; got "
                f"{first!r}, {cap!r}, {multiplier!r}, {jitter!r}"
            )
        self.first = first
        self.cap = cap
        self.multiplier = multiplier
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._base = first
        self.failures = 0

    def next(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        base = self._base
        self._base = min(self.cap, base * self.multiplier)
        self.failures += 1
        if self.jitter:
            return base * (1.0 - self.jitter * self._rng.random())
        return base

    def reset(self) -> None:
        self._base = self.first
        self.failures = 0
