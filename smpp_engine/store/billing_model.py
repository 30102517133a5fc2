"""What the billing stores hand back beyond the billing core's values: replies and notices
linked to the gateway messages that carry them.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing_core import DeliveryState, NoticeRecord

from .model import ClaimedMessage, MessageState, NewMessage

__all__ = [
    "FAILED_STATES",
    "ReplyLease",
    "SavedAnswer",
    "StoredNotice",
    "claimed",
    "delivery_state",
]

#: Message states that mean the text did not reach the phone, as far as anyone knows.
FAILED_STATES = frozenset(
    {
        MessageState.UNDELIVERABLE,
        MessageState.EXPIRED,
        MessageState.REJECTED,
        MessageState.DELETED,
        MessageState.UNKNOWN,
        MessageState.CANCELLED,
    }
)


def delivery_state(state: MessageState | None) -> DeliveryState:
    """A notice's fate as its message's state tells it (no message yet: pending)."""
    if state is MessageState.DELIVERED:
        return DeliveryState.DELIVERED
    if state in FAILED_STATES:
        return DeliveryState.FAILED
    return DeliveryState.PENDING


@dataclass(frozen=True, slots=True)
class ReplyLease:
    """Store the reply already claimed by ``owner`` until ``until`` (wall seconds)."""

    owner: str
    until: float


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """What saving an SMS's outcome with its reply did.

    ``saved`` False: the MO was stored already (a racing redelivery); nothing was
    written and no reply queued. ``reply_id`` is the reply's message id;
    ``claimed`` the reply as claimed under the lease asked for, ready to submit
    (None when no lease was asked for, or the reply was stored before).
    """

    saved: bool
    reply_id: int | None = None
    claimed: ClaimedMessage | None = None


@dataclass(frozen=True, slots=True)
class StoredNotice:
    """A notice as stored, and the gateway message that carries it (None: not queued)."""

    notice: NoticeRecord
    message_id: int | None


def claimed(message: NewMessage, message_id: int) -> ClaimedMessage:
    """``message`` as its first claim would return it, marked dispatched as it was stored.

    A reply stored claimed is handed to its route and sent at once; marked in the
    transaction that stored it, it costs no write of its own before it goes out.
    """
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
    )
