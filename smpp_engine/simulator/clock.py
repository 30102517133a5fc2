"""The simulator's clocks: trio's (for every delay, so tests can use a mock clock)
and the wall clock derived from it (for receipt dates and record times)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import trio


class SimClock:
    """Maps trio's clock to wall-clock time, fixed when the simulator starts."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def start(self) -> None:
        """Call inside trio when the simulator starts."""
        self._offset = time.time() - trio.current_time()

    def now(self) -> float:
        return trio.current_time()

    def wall(self, now: float) -> float:
        """Seconds since the epoch at trio time ``now``."""
        return now + self._offset

    def datetime(self, now: float) -> datetime:
        """The wall-clock time at trio time ``now``, in UTC, without tzinfo."""
        return datetime.fromtimestamp(now + self._offset, UTC).replace(tzinfo=None)
