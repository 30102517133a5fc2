"""One segment kept as an ESME sent it: esm_class, data_coding, short_message, TLVs.

The SMPP server face stores each client submit as it came, so the upstream
submit_sm carries the client's own UDH or SAR TLVs and coding (a gateway that
split the text again would break the client's concatenation). The stored form
is submit_sm's own layout for these fields: esm_class, data_coding,
sm_length, short_message, then the TLVs in their wire form.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PduError
from .status import CommandStatus
from .tlv import Tag, Tlvs, decode_tlvs, encode_tlvs

__all__ = ["KEPT_TAGS", "SegmentPayload"]

#: Client TLVs that describe the message itself and go upstream with it; the rest
#: (its own receipt routing, network hints) is the gateway's to decide.
KEPT_TAGS = frozenset(
    {
        Tag.sar_msg_ref_num,
        Tag.sar_total_segments,
        Tag.sar_segment_seqnum,
        Tag.message_payload,
        Tag.dest_addr_subunit,
        Tag.user_message_reference,
        Tag.language_indicator,
        Tag.source_port,
        Tag.destination_port,
    }
)


@dataclass(frozen=True, slots=True)
class SegmentPayload:
    """A segment's content fields, as the client sent them."""

    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: Tlvs

    @classmethod
    def of(
        cls, esm_class: int, data_coding: int, short_message: bytes, tlvs: Tlvs
    ) -> SegmentPayload:
        """The segment of a client's PDU: its message mode and type bits, its UDHI,
        and the TLVs of :data:`KEPT_TAGS`."""
        kept = {tag: value for tag, value in tlvs.items() if tag in KEPT_TAGS}
        return cls(esm_class & 0x40, data_coding & 0xFF, short_message, kept)

    def encode(self) -> bytes:
        """The stored form; raises :class:`PduError` when a TLV cannot be encoded."""
        if len(self.short_message) > 255:
            raise PduError(
                "short_message over 255 octets",
                status=CommandStatus.ESME_RINVMSGLEN,
                field="short_message",
                value=len(self.short_message),
            )
        head = bytes((self.esm_class, self.data_coding, len(self.short_message)))
        return head + self.short_message + encode_tlvs(self.tlvs)

    @classmethod
    def decode(cls, data: bytes) -> SegmentPayload:
        """The segment of a stored form; raises :class:`PduError` when it is not one."""
        if len(data) < 3 or len(data) < 3 + data[2]:
            raise PduError(
                "stored segment cut short",
                status=CommandStatus.ESME_RINVMSGLEN,
                field="payload",
                value=len(data),
            )
        end = 3 + data[2]
        return cls(data[0], data[1], data[3:end], decode_tlvs(data, end, len(data)))
