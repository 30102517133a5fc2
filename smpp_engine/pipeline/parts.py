"""A claimed message as the submit_sm PDUs of its parts.

The concatenation reference comes from the message id, not from an allocator:
a long message resumed after a crash resends only its missing parts, and they
must carry the reference the parts already delivered carry, or the handset
never joins them.

What the SMSC is told beyond the text is the route's choice (:class:`SubmitOptions`):
whether the message's validity is sent as its validity_period (else the SMSC's
own default applies; the gateway still does not submit a message past its
expiry), the receipts asked for, the most parts a message may have, and whether
a message may go as a flash SMS.

A flash message goes with the GSM 03.38 (TS 23.038) general data coding group and
message class 0 in data_coding: 0x10 for GSM 7-bit, 0x18 for UCS-2, on every part.
The alphabet stays the one the route's text profile chose, so the parts split as
planned. Latin-1 (3) and IA5 (1) have no class form, so a route that allows flash
must write its text as GSM 7-bit or UCS-2 only (:func:`check_flash_profile`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..protocol import (
    DEFAULT_PROFILE,
    MAX_PARTS,
    Alphabet,
    Concatenation,
    PduError,
    SegmentPayload,
    SubmitSm,
    TextProfile,
    format_absolute,
    format_relative,
    split_text,
)
from ..store import ClaimedMessage

__all__ = [
    "PartCountError",
    "ReceiptLevel",
    "ScheduleForm",
    "SubmitOptions",
    "ValidityForm",
    "check_flash_profile",
    "concatenation_reference",
    "flash_coding",
    "submit_parts",
]

_UDHI = 0x40
#: The longest schedule lead: an hour bounds what is out of the gateway's hands early.
_MAX_LEAD = 3600.0
#: A relative validity_period counts whole seconds, at least one, at most 99 days.
_MAX_RELATIVE = timedelta(days=99, hours=23, minutes=59, seconds=59)


class ValidityForm(enum.StrEnum):
    """How a message's expiry goes into submit_sm's validity_period."""

    NONE = "none"  # not sent: the SMSC's default validity
    RELATIVE = "relative"  # the time left, as YYMMDDhhmmss000R
    ABSOLUTE = "absolute"  # the moment, in UTC


class ScheduleForm(enum.StrEnum):
    """Who holds a message with a client send time (send_at) until that time.

    ``gateway``: the gateway, which submits it once the time has come (a cancel, an
    opt-out or a paused route still stop it, and the route's rate paces it). ``smsc``:
    it is submitted up to the route's ``schedule_lead`` seconds before, with
    schedule_delivery_time = send_at, and the SMSC holds it: once handed over nothing
    the gateway does stops it, and the SMSC releases what it holds at its own pace.
    """

    GATEWAY = "gateway"
    SMSC = "smsc"


class ReceiptLevel(enum.StrEnum):
    """Which receipts a message that wants one asks the SMSC for (registered_delivery).

    ``failure``: only a failed delivery is reported, so a message with no receipt
    by the route's receipt timeout is presumed delivered (PRESUMED_DELIVERED, never
    proof of delivery). ``intermediate``: the final receipt and the SMSC's
    intermediate notifications, which go into the message's history.
    """

    FINAL = "final"  # 0x01: success or failure
    FAILURE = "failure"  # 0x02: failure only
    INTERMEDIATE = "intermediate"  # 0x11: final, and intermediate notifications

    @property
    def registered_delivery(self) -> int:
        return _REGISTERED_DELIVERY[self]


_REGISTERED_DELIVERY = {
    ReceiptLevel.FINAL: 0x01,
    ReceiptLevel.FAILURE: 0x02,
    ReceiptLevel.INTERMEDIATE: 0x11,
}


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """A route's choices for every submit_sm it sends (settings: ``[[smsc]]
    validity_period``, ``receipts``, ``max_parts``)."""

    validity: ValidityForm = ValidityForm.NONE
    max_parts: int = MAX_PARTS
    receipts: ReceiptLevel = ReceiptLevel.FINAL
    #: Whether a message may ask to go as a flash SMS on this route.
    flash: bool = False
    schedule: ScheduleForm = ScheduleForm.GATEWAY
    #: With ``schedule`` SMSC: how many seconds before its send time a message is handed over.
    schedule_lead: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_parts <= MAX_PARTS:
            raise ValueError(f"max_parts must be 1-{MAX_PARTS}, not {self.max_parts!r}")
        if not 0 < self.schedule_lead <= _MAX_LEAD:
            raise ValueError(f"schedule_lead must be 0-{_MAX_LEAD:g} s, not {self.schedule_lead!r}")

    @property
    def claim_early(self) -> float:
        """How long before its send time a message may be claimed (0: not before)."""
        return self.schedule_lead if self.schedule is ScheduleForm.SMSC else 0.0

    def schedule_delivery_time(self, send_at: float | None, now: float) -> str:
        """The schedule_delivery_time for a message with client send time ``send_at``
        sent at ``now``: the moment in absolute form (UTC, offset ``00+``) while it is
        still ahead and the route schedules at the SMSC; else empty (deliver at once)."""
        if self.schedule is not ScheduleForm.SMSC or send_at is None or send_at <= now:
            return ""
        return format_absolute(datetime.fromtimestamp(send_at, UTC))

    def validity_period(self, expires_at: float | None, now: float) -> str:
        """The validity_period for a message expiring at ``expires_at`` sent at ``now``
        (both seconds since the epoch); empty when not sent."""
        if expires_at is None or self.validity is ValidityForm.NONE:
            return ""
        if self.validity is ValidityForm.ABSOLUTE:
            return format_absolute(datetime.fromtimestamp(expires_at, UTC))
        left = timedelta(seconds=max(1, int(expires_at - now)))
        return format_relative(min(left, _MAX_RELATIVE))


DEFAULT_OPTIONS = SubmitOptions()

#: data_coding -> the same alphabet with message class 0 (TS 23.038 general data coding:
#: bit 4 says the class bits count, bits 3-2 the character set, bits 1-0 the class).
_FLASH_CODING = {0x00: 0x10, 0x08: 0x18}


def check_flash_profile(profile: TextProfile) -> None:
    """Raise ValueError unless every data_coding ``profile`` writes can carry a class."""
    if profile.default_alphabet is not Alphabet.GSM7 or profile.allow_latin1:
        raise ValueError(
            "flash needs text written as GSM 7-bit or UCS-2 (data_coding 0 or 8): "
            f"default_alphabet = {profile.default_alphabet.value!r} and allow_latin1 = "
            f"{str(profile.allow_latin1).lower()} write data_coding that has no message class"
        )


def flash_coding(data_coding: int) -> int:
    """``data_coding`` with message class 0 (flash); PduError for one without a class form."""
    try:
        return _FLASH_CODING[data_coding]
    except KeyError:
        raise PduError(
            f"data_coding {data_coding:#04x} has no message class form for flash",
            field="data_coding",
            value=data_coding,
        ) from None


class PartCountError(ValueError):
    """The text splits into another number of parts than the message was stored with,
    or into more than the route allows (``allowed``)."""

    def __init__(self, message_id: int, stored: int, now: int, allowed: int | None = None) -> None:
        self.message_id = message_id
        self.stored = stored
        self.now = now
        self.allowed = allowed
        if allowed is not None:
            reason = f"{now} parts, the route allows at most {allowed} (max_parts)"
        else:
            reason = (
                f"parts = {stored} when stored, {now} with this route's text profile and "
                "concatenation method"
            )
        super().__init__(f"message {message_id}: {reason}")


def concatenation_reference(message_id: int, method: Concatenation) -> int:
    """The reference every part of ``message_id`` carries (8 bits for UDH8, else 16)."""
    return message_id % 256 if method is Concatenation.UDH8 else message_id % 65536


def submit_parts(
    message: ClaimedMessage,
    *,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
    options: SubmitOptions = DEFAULT_OPTIONS,
    now: float = 0.0,
) -> list[tuple[int, SubmitSm]]:
    """``(part, pdu)`` for each of the message's pending parts, 0-based, in order.

    ``now`` (seconds since the epoch) is when they are sent: a relative validity
    counts from it. Raises :class:`~smpp_engine.protocol.PduError` when the text
    cannot be sent (more parts than the route allows included) and
    :class:`PartCountError` when it no longer splits as it did at accept time;
    the caller records either as a permanent failure.

    A message stored with its segment as a client sent it (``payload``: the SMPP
    server face) is that one submit_sm, never split again: its UDH or SAR TLVs
    join it to the client's other parts.
    """
    if message.payload is not None:
        return _as_sent(message, options, now)
    if message.flash and not options.flash:
        # Accepted on a route that allows flash, then moved (failover, a reload): the
        # SMSC of this route was not agreed to take it, so it fails with the reason.
        raise PduError("flash is not allowed on this route ([[smsc]] flash)", field="data_coding")
    if message.parts > options.max_parts:
        raise PartCountError(message.message_id, message.parts, message.parts, options.max_parts)
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
    registered = options.receipts.registered_delivery if message.registered_delivery else 0
    validity = options.validity_period(message.expires_at, now)
    schedule = options.schedule_delivery_time(message.send_at, now)
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
                    schedule_delivery_time=schedule,
                    validity_period=validity,
                    data_coding=(
                        flash_coding(segment.data_coding) if message.flash else segment.data_coding
                    ),
                    short_message=segment.short_message,
                    tlvs=segment.tlvs,
                ),
            )
        )
    return result


def _as_sent(
    message: ClaimedMessage, options: SubmitOptions, now: float
) -> list[tuple[int, SubmitSm]]:
    assert message.payload is not None
    segment = SegmentPayload.decode(message.payload)
    if message.parts != 1:
        raise PartCountError(message.message_id, message.parts, 1)
    if 0 not in message.pending_parts:
        return []
    return [
        (
            0,
            SubmitSm(
                source_addr_ton=message.source_ton,
                source_addr_npi=message.source_npi,
                source_addr=message.source,
                dest_addr_ton=message.dest_ton,
                dest_addr_npi=message.dest_npi,
                destination_addr=message.destination,
                esm_class=segment.esm_class,
                registered_delivery=1 if message.registered_delivery else 0,
                validity_period=options.validity_period(message.expires_at, now),
                data_coding=segment.data_coding,
                short_message=segment.short_message,
                tlvs=dict(segment.tlvs),
            ),
        )
    ]
