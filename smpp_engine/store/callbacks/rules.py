"""The outbox's rules, for both stores: which state changes become events, and the back-off.

A message's state changes become events when it has a callback URL and the
change is one it asked for. The store moves a message, possibly several times
in one batch (submitted, then delivered); each move is an event, in order.
Delivery is at-least-once and in order per message: an event is not posted while
an earlier pending event of its message waits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "OutboxRow", "wanted"]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An event to write in the transaction of its state change."""

    message_id: int | None
    tenant: str | None
    url: str
    event: str
    occurred_at: float
    payload: str | None = None


def wanted(stored_events: str | None, event: str) -> bool:
    """Whether a message whose callback_events are ``stored_events`` asked for ``event``."""
    return stored_events is not None and f",{event}," in stored_events


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between attempts: ``first`` seconds, times ``factor`` each time, at most
    ``longest``, with up to ``jitter`` of it added at random so that the events of a
    receiver that came back are not all retried at one instant. After ``give_up_after``
    seconds since the event was written (or replayed) it is a dead letter."""

    first: float = 1.0
    factor: float = 2.0
    longest: float = 300.0
    give_up_after: float = 86_400.0
    jitter: float = 0.1

    def delay(self, attempts: int, rand: random.Random | None = None) -> float:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        base = min(self.longest, self.first * self.factor ** max(0, attempts - 1))
        r = (rand or random).random()
        return base * (1.0 + self.jitter * r)

    def dead(self, created_at: float, now: float) -> bool:
        return now - created_at >= self.give_up_after
