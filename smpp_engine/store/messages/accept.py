"""What an accepted message is, whichever store keeps it (see :meth:`Store.accept`).

A message is accepted in the state asked for (QUEUED; HELD for a campaign that
waits) with no attempt and no lease; or already leased to the route that sends
it at once (a billing reply): SUBMITTING under that lease, one attempt, and
dispatched, since it goes out without a mark of its own. Its "accepted" event
names its parts and priority. The first message of an idempotency key is
stored; any later one, in the same batch or after, is a duplicate of it and
changes nothing.

Both stores write the rows :func:`message_rows` builds (columns by name) and
answer with :func:`accepted`; they only draw the ids and look up the keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..callbacks.model import ACCEPTED, encode_events
from ..callbacks.rules import OutboxRow, wanted
from .model import Accepted, ClaimedMessage, MessageState, NewMessage
from .plans import encode_plan

__all__ = [
    "ACCEPTED_EVENT",
    "AcceptBatch",
    "Lease",
    "accepted",
    "accepted_callbacks",
    "accepted_detail",
    "check_new",
    "claimed_on_accept",
    "message_rows",
]

ACCEPTED_EVENT = "accepted"


def check_new(messages: Sequence[NewMessage]) -> None:
    """Refuse (ValueError) a message no store may accept, before anything is written."""
    for message in messages:
        if message.parts < 1:
            raise ValueError(f"NewMessage.parts must be at least 1, got {message.parts}")


def accepted_detail(parts: int, priority: int) -> str:
    """The detail of a message's "accepted" event."""
    return f"parts={int(parts)} priority={int(priority)}"


@dataclass(frozen=True, slots=True)
class Lease:
    """Accept the message already claimed by ``owner`` until ``until`` (wall seconds)."""

    owner: str
    until: float


@dataclass(frozen=True, slots=True)
class AcceptBatch:
    """The messages of one accept that reach the store: the first of each key.

    ``slots`` says, per message given, which of ``distinct`` it is and whether
    it repeats a key given before it in the batch.
    """

    distinct: list[NewMessage]
    slots: list[tuple[int, bool]]

    @classmethod
    def of(cls, messages: Sequence[NewMessage]) -> AcceptBatch:
        distinct: list[NewMessage] = []
        slots: list[tuple[int, bool]] = []
        first_of_key: dict[str, int] = {}
        for message in messages:
            key = message.idempotency_key
            if key is not None and key in first_of_key:
                slots.append((first_of_key[key], True))
                continue
            if key is not None:
                first_of_key[key] = len(distinct)
            slots.append((len(distinct), False))
            distinct.append(message)
        return cls(distinct, slots)

    def keys(self) -> list[str]:
        return [m.idempotency_key for m in self.distinct if m.idempotency_key is not None]


def message_rows(
    messages: Sequence[NewMessage],
    now: float,
    *,
    state: MessageState = MessageState.QUEUED,
    campaign_id: int | None = None,
    lease: Lease | None = None,
) -> list[dict[str, Any]]:
    """The ``messages`` table rows of accepted ``messages``, by column (without their ids).

    ``campaign_id`` set: every message gets it, whatever it carries. ``lease``
    set: each is stored claimed under it (``state`` must be QUEUED then).
    """
    if lease is not None and state is not MessageState.QUEUED:
        raise ValueError(f"a message accepted leased is SUBMITTING, not {state.value}")
    stored = MessageState.SUBMITTING if lease is not None else state
    owner = None if lease is None else lease.owner
    until = None if lease is None else lease.until
    return [
        {
            "smsc": m.smsc,
            "source": m.source,
            "source_ton": m.source_ton,
            "source_npi": m.source_npi,
            "destination": m.destination,
            "dest_ton": m.dest_ton,
            "dest_npi": m.dest_npi,
            "text": m.text,
            "parts": m.parts,
            "priority": int(m.priority),
            "registered_delivery": m.registered_delivery,
            "not_before": m.not_before,
            "expires_at": m.expires_at,
            "idempotency_key": m.idempotency_key,
            "campaign_id": m.campaign_id if campaign_id is None else campaign_id,
            "state": stored.value,
            "attempts": 0 if lease is None else 1,
            "lease_owner": owner,
            "lease_until": until,
            "dispatched": lease is not None,
            "created_at": now,
            "updated_at": now,
            "route_rule": m.route_rule,
            "route_plan": encode_plan(m.route_plan),
            "tenant": m.tenant,
            "callback_url": m.callback_url,
            "callback_events": (
                None if m.callback_url is None else encode_events(m.callback_events)
            ),
            "payload": m.payload,
            "flash": m.flash,
            "send_at": m.send_at,
        }
        for m in messages
    ]


def accepted_callbacks(rows: Sequence[dict[str, Any]]) -> list[OutboxRow]:
    """The "accepted" events of freshly stored ``rows`` (with their ids) that asked for one."""
    return [
        OutboxRow(r["id"], r["tenant"], r["callback_url"], ACCEPTED, r["created_at"])
        for r in rows
        if r["callback_url"] is not None and wanted(r["callback_events"], ACCEPTED)
    ]


def accepted(batch: AcceptBatch, ids: Sequence[tuple[int, bool]]) -> list[Accepted]:
    """What accept answers, given per distinct message its id and whether it was
    stored before."""
    return [
        Accepted(ids[row][0], duplicate=True) if repeat else Accepted(*ids[row])
        for row, repeat in batch.slots
    ]


def claimed_on_accept(message: NewMessage, message_id: int) -> ClaimedMessage:
    """``message``, accepted leased, as its first claim would return it: dispatched."""
    return ClaimedMessage(
        message_id=message_id,
        smsc=message.smsc,
        source=message.source,
        destination=message.destination,
        text=message.text,
        parts=message.parts,
        priority=message.priority,
        registered_delivery=message.registered_delivery,
        expires_at=message.expires_at,
        attempts=0,
        possible_duplicate=False,
        campaign_id=message.campaign_id,
        pending_parts=tuple(range(message.parts)),
        source_ton=message.source_ton,
        source_npi=message.source_npi,
        dest_ton=message.dest_ton,
        dest_npi=message.dest_npi,
        dispatched=True,
        route_plan=message.route_plan,
        payload=message.payload,
        flash=message.flash,
        send_at=message.send_at,
    )
