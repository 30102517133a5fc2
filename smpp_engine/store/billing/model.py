"""What the billing stores hand back beyond the billing core's values: replies and notices
linked to the gateway messages that carry them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from billing_core import Charge, DeliveryState, Ledger, NoticeRecord, Outcome

from ..messages.accept import Lease
from ..messages.model import FINAL_STATES, ClaimedMessage, MessageState, NewMessage

__all__ = [
    "CLOSE_BATCH",
    "FAILED_STATES",
    "AnswerToSave",
    "ContextAsked",
    "ReplyLease",
    "SavedAnswer",
    "StoredNotice",
    "delivery_state",
]

#: Message states that mean the text did not reach the phone, as far as anyone knows:
#: the final ones but DELIVERED, QUARANTINED (kept aside after it may have been sent)
#: and PRESUMED_DELIVERED (no failure reported: no proof either way, so a notice
#: stays pending rather than be sent again).
FAILED_STATES = FINAL_STATES - {
    MessageState.DELIVERED,
    MessageState.QUARANTINED,
    MessageState.PRESUMED_DELIVERED,
}


def delivery_state(state: MessageState | None) -> DeliveryState:
    """A notice's fate as its message's state tells it (no message yet: pending)."""
    if state is MessageState.DELIVERED:
        return DeliveryState.DELIVERED
    if state in FAILED_STATES:
        return DeliveryState.FAILED
    return DeliveryState.PENDING


#: Accounts a period's close takes per transaction: each batch is locked, loaded,
#: computed and written at once, so a long close holds no lock for long.
CLOSE_BATCH = 500


#: Store the reply already claimed by ``owner`` until ``until`` (wall seconds): it is
#: accepted leased (see :mod:`..messages.accept`).
ReplyLease = Lease

#: An SMS's context asked for in a batch: (phone, account hint, MO id).
ContextAsked = tuple[str, str | None, str]


@dataclass(frozen=True, slots=True)
class AnswerToSave:
    """One SMS's answer in a batch save: its outcome and reply, saved as ``save_answer``
    saves them (``now`` the reply's accept time, ``lease`` to store it claimed;
    ``restate`` the reply instead, given the charges left out and the ledger saved)."""

    outcome: Outcome
    reply: NewMessage | None
    now: float
    lease: ReplyLease | None = None
    restate: Callable[[Sequence[Charge], Ledger], NewMessage | None] | None = None


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
