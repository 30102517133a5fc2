"""An MO message routed to a tenant's SMPP binds, as the deliver_sm its client is sent.

A plain deliver_sm (esm_class 0: not a receipt), from the consumer's number to
the number they texted, in the data_coding the message came in. Long MO arrive
joined upstream; how they go down depends on what the client bound with:

- interface_version 0x34 or above: one deliver_sm, the whole text in the
  message_payload TLV (SMPP 3.4 §4.6.1 lists message_payload among deliver_sm's
  optional parameters; short_message is then empty, §5.2.21). One PDU, one
  answer: the client never has to join parts again.
- below 0x34 (SMPP 3.3 has no optional parameters): concatenated parts, each a
  deliver_sm with a UDH (esm_class UDHI 0x40, IE 0x00, 8-bit reference), which a
  3.3 client passes on as any handset message.

A text that fits one SMS always goes as a plain short_message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..protocol import DeliverSm, PduError, sender_address
from ..protocol.coding import choose_coding, encode_text
from ..protocol.segmentation import ESM_CLASS_UDHI, Concatenation, plan_text, split_text

__all__ = ["mo_pdus"]

_TLVS_FROM = 0x34


def mo_pdus(payload: str | None, interface_version: int) -> list[DeliverSm]:
    """The deliver_sm carrying the MO of the outbox ``payload`` to a client bound with
    ``interface_version`` (more than one: UDH parts, in order)."""
    fields: Mapping[str, Any] = json.loads(payload or "{}")
    text = str(fields["text"])
    source = str(fields["from"])
    destination = str(fields["to"])
    coding = int(fields.get("data_coding", 0))
    try:
        encode_text(text, coding)
    except PduError:
        # The text as decoded upstream cannot go back in its coding: the one it needs.
        coding = choose_coding(text)[1]
    method = Concatenation.PAYLOAD if interface_version >= _TLVS_FROM else Concatenation.UDH8
    single = plan_text(text, method=Concatenation.UDH8, data_coding=coding).parts == 1
    if single:
        method = Concatenation.UDH8  # one part: a plain short_message
    reference = int(fields.get("id", 0)) & 0xFF
    segments = split_text(text, method=method, data_coding=coding, reference=reference)
    source_ton, source_npi, source = _address(source)
    dest_ton, dest_npi, destination = _address(destination)
    return [
        DeliverSm(
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=ESM_CLASS_UDHI if segment.esm_class_udhi else 0,
            data_coding=segment.data_coding,
            short_message=segment.short_message,
            tlvs=dict(segment.tlvs),
        )
        for segment in segments
    ]


def _address(number: str) -> tuple[int, int, str]:
    try:
        ton, npi, address = sender_address(number)
        return int(ton), int(npi), address
    except PduError:
        return 0, 0, number  # unknown type and plan: the number as the SMSC gave it
