"""One timer task for the whole simulator: a heap of due times.

Delayed receipts, delayed responses, scheduled MO, phase switches and the end of
timed faults are all entries in one heap, fired by one task; nothing starts a
task per message. An entry is ``(when, counter, function, argument)`` and fires
as ``function(argument, now)``; entries due at the same time fire in the order
they were added.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

import structlog
import trio

_log = structlog.get_logger("smpp_engine.simulator")

#: Entries fired before the task yields to others, so a burst cannot starve I/O.
BATCH = 2000

Action = Callable[[Any, float], None]


class Scheduler:
    """Runs ``function(argument, now)`` at ``when`` (trio's clock)."""

    __slots__ = ("_counter", "_heap", "_wake", "fired")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Action, Any]] = []
        self._counter = count()
        self._wake = trio.Event()
        self.fired = 0

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, when: float, function: Action, argument: Any = None) -> None:
        heap = self._heap
        entry = (when, next(self._counter), function, argument)
        heappush(heap, entry)
        if heap[0] is entry:
            self._wake.set()

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    async def run(self) -> None:
        """Fire entries as they come due, until cancelled."""
        heap = self._heap
        while True:
            now = trio.current_time()
            fired = 0
            while heap and heap[0][0] <= now and fired < BATCH:
                _, _, function, argument = heappop(heap)
                fired += 1
                try:
                    function(argument, now)
                except Exception:  # one bad entry must not stop every timer
                    _log.exception("scheduled action failed", action=repr(function))
            self.fired += fired
            if fired >= BATCH:
                await trio.lowlevel.checkpoint()
                continue
            self._wake = trio.Event()
            deadline = heap[0][0] if heap else math.inf
            with trio.move_on_at(deadline):
                await self._wake.wait()
