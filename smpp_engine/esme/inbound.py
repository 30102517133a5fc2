"""What the SMSC delivers to the application: MO messages and delivery receipts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import (
    DataSm,
    DeliverSm,
    Receipt,
    ReceiptError,
    is_intermediate_notification,
    is_receipt,
    parse_receipt,
)

__all__ = ["Inbound", "InboundSink", "read_inbound"]


@dataclass(slots=True)
class Inbound:
    """One deliver_sm or data_sm from the SMSC, taken by the application.

    ``receipt`` is the parsed receipt when esm_class marks one (a delivery receipt
    or an intermediate notification, ``receipt.intermediate``), else None (an MO
    message). ``receipt_error`` says why a PDU
    marked as a receipt could not be read; it is still delivered, with
    ``receipt`` None. ``bind`` is the name of the bind it came on,
    ``received_at`` the trio clock when it arrived.

    On a bind configured with ``ack_inbound``, the SMSC gets its deliver_sm_resp
    only when :meth:`ack` is called (ESME_ROK, or the configured error status
    with ``ok=False``); elsewhere the bind answered when the application took it
    and :meth:`ack` does nothing.

    Not frozen only for speed (one per inbound PDU): nothing changes one once made.
    """

    pdu: DeliverSm | DataSm
    receipt: Receipt | None
    bind: str
    received_at: float
    receipt_error: ReceiptError | None = None
    acknowledge: Callable[[bool], None] | None = None

    def ack(self, ok: bool = True) -> None:
        """Answer the SMSC now: it may forget the message (``ok``) or must retry it later.

        Only the first call counts; after the bind's deadline it is a no-op (the
        SMSC was already told to retry). Call it from the trio thread.
        """
        if self.acknowledge is not None:
            self.acknowledge(ok)

    @property
    def is_receipt(self) -> bool:
        """A delivery receipt or an intermediate notification: never an MO message."""
        return _is_report(self.pdu.esm_class)


#: Takes the inbound messages of a bind in batches (``on_inbound``), on the bind's own
#: task: it must return at once (count, match, hand over with ``send_nowait``). The
#: SMSC gets each one's deliver_sm_resp when it returns (or at :meth:`Inbound.ack`
#: with ``ack_inbound``); if it raises, the whole batch is answered with the bind's
#: ``deliver_error_status``, so the SMSC delivers them again later.
InboundSink = Callable[[list[Inbound]], None]


def _is_report(esm_class: int) -> bool:
    # An intermediate notification taken for an MO message would reach the
    # consumer's service (billing) as if the phone had sent its text.
    return esm_class & _MESSAGE_TYPE in _REPORT_TYPES


# esm_class's message type bits, and their values for a delivery receipt and for
# an intermediate notification (what is_receipt and is_intermediate_notification test).
_MESSAGE_TYPE = 0x3C
_REPORT_TYPES = frozenset(
    esm_class & _MESSAGE_TYPE
    for esm_class in range(256)
    if is_receipt(esm_class) or is_intermediate_notification(esm_class)
)


def read_inbound(
    pdu: DeliverSm | DataSm,
    bind: str,
    received_at: float,
    acknowledge: Callable[[bool], None] | None = None,
) -> Inbound:
    """Wrap a received PDU, parsing its receipt when it is one."""
    if not _is_report(pdu.esm_class):
        return Inbound(pdu, None, bind, received_at, None, acknowledge)
    short_message = pdu.short_message if isinstance(pdu, DeliverSm) else b""
    try:
        receipt = parse_receipt(pdu.esm_class, short_message, pdu.tlvs)
    except ReceiptError as exc:
        return Inbound(pdu, None, bind, received_at, exc, acknowledge)
    return Inbound(pdu, receipt, bind, received_at, None, acknowledge)
