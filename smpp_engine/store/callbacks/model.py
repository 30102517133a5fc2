"""What the callback outbox keeps: events to post to a client's HTTP endpoint.

An event is written in the same transaction as the state change it tells (a
message accepted, submitted, delivered...; an MO routed to a tenant), so none is
lost whatever happens after the commit. It stays in the outbox until its
receiver answers 2xx (then it is deleted) or until it has been retried for the
configured time (then it is parked as a dead letter, to be listed and replayed).
Its id is the event's stable id: every retry and replay posts the same one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ..messages.model import MessageState

__all__ = [
    "ACCEPTED",
    "CALLBACK_EVENTS",
    "DEFAULT_CALLBACK_EVENTS",
    "MO_EVENT",
    "OutboxEvent",
    "OutboxSettlement",
    "OutboxStats",
    "OutboxStatus",
    "decode_events",
    "encode_events",
]

#: The event of a message made durable (not a state change of the store's).
ACCEPTED = "accepted"
#: The event of an MO message routed to a tenant's endpoint.
MO_EVENT = "mo"

#: The events a client may ask for: "accepted" and every message state a message
#: moves to after it (QUEUED and HELD are where it starts, not news).
CALLBACK_EVENTS: frozenset[str] = frozenset(
    {ACCEPTED}
    | {
        s.value
        for s in MessageState
        if s not in (MessageState.QUEUED, MessageState.HELD, MessageState.SUBMITTING)
    }
)

#: Without a choice: SUBMITTED (the SMSC took it) and every final state.
DEFAULT_CALLBACK_EVENTS: frozenset[str] = CALLBACK_EVENTS - {ACCEPTED}


def encode_events(events: Iterable[str]) -> str:
    """The stored form of a set of events: ``",delivered,submitted,"`` (sorted).

    Commas on both ends make a membership test one ``LIKE '%,state,%'`` in SQL.
    """
    return "," + ",".join(sorted(set(events))) + ","


def decode_events(stored: str | None) -> frozenset[str]:
    return frozenset(e for e in (stored or "").split(",") if e)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # to be posted (now or at next_at)
    DEAD = "dead"  # retried for the configured time: parked until replayed


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One event of the outbox. ``event_id`` is its row id: stable across retries.

    ``event`` is "accepted", a message state, or "mo"; ``payload`` is JSON text
    with what the event carries beyond the message id (an MO's sender and text).
    """

    event_id: int
    message_id: int | None
    tenant: str | None
    url: str
    event: str
    occurred_at: float
    payload: str | None
    status: OutboxStatus
    attempts: int
    next_at: float
    created_at: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The outbox now: events pending (``retrying`` of them failed before), dead letters,
    and when the oldest pending one was written (None: none pending)."""

    pending: int = 0
    retrying: int = 0
    dead: int = 0
    oldest_pending_at: float | None = None

    @classmethod
    def of(cls, rows: Iterable[tuple[str, bool, int, float | None]]) -> OutboxStats:
        """From the rows of :data:`.queries.STATS`."""
        pending = retrying = dead = 0
        oldest: float | None = None
        for status, failed_before, count, first in rows:
            if status == OutboxStatus.DEAD.value:
                dead += int(count)
                continue
            pending += int(count)
            if failed_before:
                retrying += int(count)
            if first is not None and (oldest is None or first < oldest):
                oldest = float(first)
        return cls(pending, retrying, dead, oldest)


@dataclass(frozen=True, slots=True)
class OutboxSettlement:
    """What became of one claimed event: posted (``delivered``), failed (``status``
    PENDING again at ``next_at``, or DEAD, with ``error``), or not tried (``deferred``:
    due again at ``next_at``, no attempt counted)."""

    event_id: int
    delivered: bool = False
    deferred: bool = False
    status: OutboxStatus = OutboxStatus.PENDING
    next_at: float = 0.0
    error: str | None = None
