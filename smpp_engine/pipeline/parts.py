"""A claimed message as the submit_sm PDUs of its parts.

The concatenation reference comes from the message id, not from an allocator:
a long message resumed after a crash resends only its missing parts, and they
must carry the reference the parts already delivered carry, or the handset
never joins them.
"""

from __future__ import annotations

from ..protocol import (
    DEFAULT_PROFILE,
    Concatenation,
    SubmitSm,
    TextProfile,
    split_text,
)
from ..store import ClaimedMessage

__all__ = ["PartCountError", "concatenation_reference", "submit_parts"]

_UDHI = 0x40


class PartCountError(ValueError):
    """The text splits into another number of parts than the message was stored with."""

    def __init__(self, message_id: int, stored: int, now: int) -> None:
        self.message_id = message_id
        self.stored = stored
        self.now = now
        super().__init__(
            f"message {message_id}: parts = {stored} when stored, {now} with this route's "
            "text profile and concatenation method"
        )


def concatenation_reference(message_id: int, method: Concatenation) -> int:
    """The reference every part of ``message_id`` carries (8 bits for UDH8, else 16)."""
    return message_id % 256 if method is Concatenation.UDH8 else message_id % 65536


def submit_parts(
    message: ClaimedMessage,
    *,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
) -> list[tuple[int, SubmitSm]]:
    """``(part, pdu)`` for each of the message's pending parts, 0-based, in order.

    Raises :class:`~smpp_engine.protocol.PduError` when the text cannot be sent
    and :class:`PartCountError` when it no longer splits as it did at accept
    time; the caller records either as a permanent failure.
    """
    segments = split_text(
        message.text,
        profile,
        method,
        reference=concatenation_reference(message.message_id, method),
    )
    if len(segments) != message.parts:
        # Planned with another profile or method than this route's: the parts
        # already sent would not join the new ones, so refuse rather than guess.
        raise PartCountError(message.message_id, message.parts, len(segments))
    registered = 1 if message.registered_delivery else 0
    result = []
    for index in message.pending_parts:
        segment = segments[index]
        result.append(
            (
                index,
                SubmitSm(
                    source_addr_ton=message.source_ton,
                    source_addr_npi=message.source_npi,
                    source_addr=message.source,
                    dest_addr_ton=message.dest_ton,
                    dest_addr_npi=message.dest_npi,
                    destination_addr=message.destination,
                    esm_class=_UDHI if segment.esm_class_udhi else 0,
                    registered_delivery=registered,
                    data_coding=segment.data_coding,
                    short_message=segment.short_message,
                    tlvs=segment.tlvs,
                ),
            )
        )
    return result
