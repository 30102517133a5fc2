"""A message's final state as the deliver_sm receipt its client is sent.

The receipt names the message by the gateway's id, written as the account was
given it in submit_sm_resp (hex or decimal), whatever ids the upstream SMSC
used: the client never sees those. A submit_multi_resp carries one message_id
(SMPP 3.4 §4.5.2) for all its destinations, each stored as its own message: the
receipts of all of them name that id (the first destination's), and their
source_addr (the destination the message went to) tells them apart. It carries
the receipt text of SMPP 3.4 Appendix B and the receipted_message_id and message_state TLVs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..protocol import DeliverSm, Receipt, format_receipt_text, receipt_tlvs
from ..protocol import MessageState as ReceiptState
from ..store import MessageState

__all__ = ["RECEIPT_STATE", "MessageFacts", "receipt_pdu"]

#: The store's final states as receipt states (cancelled and quarantined messages
#: never reached a handset: DELETED and UNKNOWN are what a client understands).
RECEIPT_STATE: dict[str, ReceiptState] = {
    MessageState.DELIVERED.value: ReceiptState.DELIVERED,
    MessageState.UNDELIVERABLE.value: ReceiptState.UNDELIVERABLE,
    MessageState.EXPIRED.value: ReceiptState.EXPIRED,
    MessageState.REJECTED.value: ReceiptState.REJECTED,
    MessageState.DELETED.value: ReceiptState.DELETED,
    MessageState.UNKNOWN.value: ReceiptState.UNKNOWN,
    MessageState.CANCELLED.value: ReceiptState.DELETED,
    MessageState.QUARANTINED.value: ReceiptState.UNKNOWN,
}

_RECEIPT = 0x04


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a receipt repeats of its message."""

    source: str
    source_ton: int
    source_npi: int
    destination: str
    dest_ton: int
    dest_npi: int
    submitted_at: float
    text: str
    #: The id the client was given for the message when not its own (a submit_multi's
    #: other destinations: its one id); None: its own.
    receipt_id: int | None = None


def receipt_pdu(message_id: str, state: str, facts: MessageFacts, done_at: float) -> DeliverSm:
    """The deliver_sm telling ``state`` of the message the client knows as ``message_id``."""
    receipt_state = RECEIPT_STATE.get(state, ReceiptState.UNKNOWN)
    delivered = receipt_state is ReceiptState.DELIVERED
    receipt = Receipt(
        message_id=message_id,
        state=receipt_state,
        error="000" if delivered else None,
        submitted=1,
        delivered=1 if delivered else 0,
        submit_date=_naive(facts.submitted_at),
        done_date=_naive(done_at),
        text=facts.text[:20],
    )
    return DeliverSm(
        # From the handset back to the client: the message's addresses swapped.
        source_addr_ton=facts.dest_ton,
        source_addr_npi=facts.dest_npi,
        source_addr=facts.destination,
        dest_addr_ton=facts.source_ton,
        dest_addr_npi=facts.source_npi,
        destination_addr=facts.source,
        esm_class=_RECEIPT,
        short_message=format_receipt_text(receipt),
        tlvs=receipt_tlvs(receipt),
    )


def _naive(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)
