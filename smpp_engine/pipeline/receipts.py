"""A delivery receipt from the ESME as the store update that settles a part's fate.

Only a DELIVRD receipt is proof of delivery. ACCEPTD (accepted on the
subscriber's behalf) and UNKNOWN are recorded as RECEIPT_UNKNOWN: a
disconnection warning must not count as delivered on their strength. An
intermediate notification (ENROUTE, SCHEDULED ... or the intermediate flag)
settles nothing: it goes into the message's history as it came.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from ..protocol import MessageIdPolicy, MessageState, Receipt, receipt_id_key
from ..store import PartState, ReceiptArrived, ReceiptNoted

__all__ = ["PART_STATE", "receipt_update"]

PART_STATE: dict[MessageState, PartState] = {
    MessageState.DELIVERED: PartState.DELIVERED,
    MessageState.EXPIRED: PartState.EXPIRED,
    MessageState.DELETED: PartState.DELETED,
    MessageState.UNDELIVERABLE: PartState.UNDELIVERABLE,
    MessageState.REJECTED: PartState.REJECTED,
    MessageState.SKIPPED: PartState.UNDELIVERABLE,
    MessageState.ACCEPTED: PartState.RECEIPT_UNKNOWN,
    MessageState.UNKNOWN: PartState.RECEIPT_UNKNOWN,
}


def receipt_update(
    smsc: str, receipt: Receipt, policy: MessageIdPolicy, received_at: float
) -> ReceiptArrived | ReceiptNoted:
    """The update for a receipt: final, or an intermediate one noted in the history.

    Raises :class:`~smpp_engine.protocol.MessageIdError` when the receipt's id does
    not fit the SMSC's id policy.
    """
    if receipt.intermediate or not receipt.state.final:
        return ReceiptNoted(
            smsc=smsc,
            smsc_message_id=receipt_id_key(receipt.message_id, policy),
            state=receipt.state.name,
            received_at=received_at,
        )
    done = receipt.done_date
    return ReceiptArrived(
        smsc=smsc,
        smsc_message_id=receipt_id_key(receipt.message_id, policy),
        state=PART_STATE[receipt.state],
        received_at=received_at,
        error=receipt.error,
        done_at=_utc_seconds(done) if done is not None else None,
    )


# Receipts arriving together carry the same few done dates (to the minute or the
# second): each is converted once.
@lru_cache(maxsize=1024)
def _utc_seconds(done: datetime) -> float:
    """``done``, the SMSC's clock taken as UTC (receipts carry no zone), in epoch seconds."""
    return done.replace(tzinfo=UTC).timestamp()
