"""Priority lanes for outgoing messages: replies first, bulk last, strictly.

A consumer waiting for the answer to a meter reading must never wait behind a
mass debt notice. So the scheduler is strict: a lower lane is served only when
every higher lane is empty. Under sustained interactive or transactional load
bulk starves; that is intended, because bulk is the traffic that can wait
(the pipeline's rate limits, not this queue, keep the total within bounds).
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Priority(enum.IntEnum):
    """Higher values go first."""

    BULK = 0  # mass notices, scheduled reminders
    TRANSACTIONAL = 1  # payment confirmations, disconnection warnings
    INTERACTIVE = 2  # replies to a consumer's SMS (billing answers)


_HIGHEST_FIRST = tuple(sorted(Priority, reverse=True))


def _priority(priority: int) -> Priority:
    try:
        return Priority(priority)
    except ValueError:
        names = ", ".join(f"{p.name}={p.value}" for p in _HIGHEST_FIRST)
        raise ValueError(f"priority must be one of {names}, got {priority!r}") from None


class PriorityLanes(Generic[T]):
    """One FIFO lane per :class:`Priority`; :meth:`pop` serves the highest non-empty lane.

    Items may not be None: :meth:`pop` answers None for an empty queue.
    """

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        self._lanes: dict[Priority, deque[T]] = {p: deque() for p in _HIGHEST_FIRST}

    def push(self, item: T, priority: int) -> None:
        """Queue ``item`` at the back of its lane."""
        self._lane(item, priority).append(item)

    def requeue(self, item: T, priority: int) -> None:
        """Put ``item`` back at the front of its lane (a send that never left keeps its turn)."""
        self._lane(item, priority).appendleft(item)

    def pop(self) -> T | None:
        """The oldest item of the highest non-empty lane, or None when all are empty."""
        for lane in self._lanes.values():
            if lane:
                return lane.popleft()
        return None

    def pop_batch(self, n: int) -> list[T]:
        """Up to ``n`` items in :meth:`pop` order."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        batch: list[T] = []
        for lane in self._lanes.values():
            while lane and len(batch) < n:
                batch.append(lane.popleft())
            if len(batch) == n:
                break
        return batch

    def count(self, priority: int) -> int:
        """Items waiting in one lane."""
        return len(self._lanes[_priority(priority)])

    def counts(self) -> dict[Priority, int]:
        """Items waiting per lane, highest first (for a queue-depth gauge)."""
        return {p: len(lane) for p, lane in self._lanes.items()}

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def __bool__(self) -> bool:
        return any(self._lanes.values())

    def _lane(self, item: T, priority: int) -> deque[T]:
        if item is None:
            raise ValueError("item must not be None: pop() answers None for an empty queue")
        return self._lanes[_priority(priority)]

    def __repr__(self) -> str:
        inside = ", ".join(f"{p.name}={n}" for p, n in self.counts().items())
        return f"PriorityLanes({inside})"
