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
    """Higher values go first.

    The one type of a message's priority from the HTTP body to the lane: the
    settings and the API write it by :attr:`label` (``"bulk"``) and read it with
    :meth:`named`; the stores keep its value.
    """

    BULK = 0  # mass notices, scheduled reminders
    TRANSACTIONAL = 1  # payment confirmations, disconnection warnings
    INTERACTIVE = 2  # replies to a consumer's SMS (billing answers)

    @property
    def label(self) -> str:
        """Its name in settings and the HTTP API: ``"interactive"``, ``"bulk"``, ..."""
        return self.name.lower()

    @classmethod
    def named(cls, label: str) -> Priority:
        """The priority whose :attr:`label` is ``label``; ValueError naming the choices."""
        try:
            return _BY_LABEL[label]
        except (KeyError, TypeError):  # TypeError: an unhashable value from untyped input
            choices = ", ".join(_BY_LABEL)
            raise ValueError(f"expected one of {choices}, got {label!r}") from None


_HIGHEST_FIRST = tuple(sorted(Priority, reverse=True))
_BY_LABEL = {p.label: p for p in _HIGHEST_FIRST}


def _unknown(priority: object) -> ValueError:
    names = ", ".join(f"{p.name}={p.value}" for p in _HIGHEST_FIRST)
    return ValueError(f"priority must be one of {names}, got {priority!r}")


class PriorityLanes(Generic[T]):
    """One FIFO lane per :class:`Priority`; :meth:`pop` serves the highest non-empty lane.

    Items may not be None: :meth:`pop` answers None for an empty queue.
    """

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        self._lanes: dict[Priority, deque[T]] = {p: deque() for p in _HIGHEST_FIRST}

    def push(self, item: T, priority: Priority) -> None:
        """Queue ``item`` at the back of its lane."""
        self._lane(item, priority).append(item)

    def requeue(self, item: T, priority: Priority) -> None:
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

    def count(self, priority: Priority) -> int:
        """Items waiting in one lane."""
        try:
            return len(self._lanes[priority])
        except KeyError:
            raise _unknown(priority) from None

    def counts(self) -> dict[Priority, int]:
        """Items waiting per lane, highest first (for a queue-depth gauge)."""
        return {p: len(lane) for p, lane in self._lanes.items()}

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def __bool__(self) -> bool:
        return any(self._lanes.values())

    def _lane(self, item: T, priority: Priority) -> deque[T]:
        if item is None:
            raise ValueError("item must not be None: pop() answers None for an empty queue")
        try:
            return self._lanes[priority]
        except KeyError:  # only from untyped callers: a Priority always has its lane
            raise _unknown(priority) from None

    def __repr__(self) -> str:
        inside = ", ".join(f"{p.name}={n}" for p, n in self.counts().items())
        return f"PriorityLanes({inside})"
