"""Long messages: split a text into SMS-sized parts, and read the parts' headers back.

Sizes (TS 23.040): one SMS carries 140 octets of user data, i.e. 160 GSM septets,
140 octets or 70 UCS-2 units. A concatenation header (UDH) takes 6 octets with an
8-bit reference (IE 0x00) and 7 with a 16-bit one (IE 0x08), leaving 153 / 134 / 67
and 152 / 133 / 66. SMPP carries GSM text unpacked, so a UDH part is the UDH octets
followed by up to 153 septet octets; the SMSC adds the fill bits when packing.

A part never ends between an escape and its extension character, nor between the
two halves of a surrogate pair: such a part is one unit shorter instead.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from .coding import (
    DEFAULT_PROFILE,
    Alphabet,
    TextProfile,
    alphabet_of,
    choose_coding,
    encode_text,
    writes_septets,
)
from .errors import PduError
from .gsm import ESCAPE, decode_gsm, encode_gsm, gsm_septets
from .status import CommandStatus
from .tlv import Tag, Tlvs, TlvValue

ESM_CLASS_UDHI: Final = 0x40
MAX_PARTS: Final = 255
#: The largest message_payload TLV value (its length field is 16 bits).
MAX_PAYLOAD_OCTETS: Final = 0xFFFF

_USER_DATA_OCTETS = 140
_UDH8_OCTETS = 6  # UDHL, IEI 0x00, IEL 3, reference, total, seqnum
_UDH16_OCTETS = 7  # UDHL, IEI 0x08, IEL 4, reference (2), total, seqnum
_IE_CONCAT_8 = 0x00
_IE_CONCAT_16 = 0x08


class Concatenation(enum.Enum):
    """How the parts of a long message are tied together."""

    UDH8 = "udh8"  # UDH in short_message, IE 0x00, 8-bit reference
    UDH16 = "udh16"  # UDH in short_message, IE 0x08, 16-bit reference
    SAR = "sar"  # sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs
    PAYLOAD = "payload"  # one PDU, the whole text in message_payload; the SMSC splits


def _units(octets: int, alphabet: Alphabet) -> int:
    if alphabet is Alphabet.GSM7:
        return octets * 8 // 7
    if alphabet is Alphabet.UCS2:
        return octets // 2
    return octets


def units_per_sms(alphabet: Alphabet, udh_octets: int = 0) -> int:
    """Septets, octets or UCS-2 units one SMS carries after a UDH of ``udh_octets``.

    >>> units_per_sms(Alphabet.GSM7), units_per_sms(Alphabet.GSM7, 6)
    (160, 153)
    """
    return _units(_USER_DATA_OCTETS - udh_octets, alphabet)


def _udh_octets(method: Concatenation) -> int:
    # SAR parts carry no UDH over SMPP, but the SMSC adds one on the air, so they
    # must fit after it. sar_msg_ref_num is 16 bits wide and the SMSC alone picks
    # IE 0x00 or 0x08; sizing for the 7-octet IE 0x08 fits either, where sizing for
    # IE 0x00 would overflow on an SMSC that always uses 0x08. The price is at most
    # one unit per part.
    return _UDH8_OCTETS if method is Concatenation.UDH8 else _UDH16_OCTETS


class TextTooLongError(PduError):
    """A text that needs more than 255 parts, or more octets than message_payload holds.

    ``length`` is the text's size in ``unit`` (septets, octets or UCS-2 units).
    """

    def __init__(self, reason: str, *, field: str, length: int, unit: str) -> None:
        self.length = length
        self.unit = unit
        super().__init__(
            f"{reason} ({length} {unit})",
            status=CommandStatus.ESME_RINVMSGLEN,
            field=field,
            value=length,
        )


class ConcatenationError(PduError):
    """A UDH or a set of SAR TLVs that cannot be read."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One PDU's worth of a message.

    When ``esm_class_udhi`` is true, ``short_message`` starts with a UDH and the
    caller's submit_sm must set esm_class bit 0x40. ``tlvs`` holds the SAR or
    message_payload TLVs to add to the PDU (a fresh dict per segment).
    """

    short_message: bytes
    data_coding: int
    esm_class_udhi: bool
    part: int
    total: int
    tlvs: Tlvs = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextPlan:
    """How a text goes out: alphabet, data_coding and how many parts.

    ``units`` is the whole text in septets (GSM7), octets (LATIN1) or UTF-16
    units (UCS2) and ``units_per_part`` the most one SMS of the plan carries.
    ``parts`` is the number of PDUs :func:`split_text` makes. ``air_parts`` is
    the number of SMS on the air: the same as ``parts`` except for PAYLOAD,
    where the SMSC splits and it is an estimate: the count with 16-bit reference
    UDHs, the most an SMSC that splits as this module does would send.
    """

    alphabet: Alphabet
    data_coding: int
    method: Concatenation
    parts: int
    units: int
    units_per_part: int
    air_parts: int


class ConcatInfo(NamedTuple):
    """The concatenation data of one received part."""

    reference: int
    total: int
    seqnum: int
    payload: bytes  # the part's user data without the UDH
    method: Concatenation  # UDH8, UDH16 or SAR


class InformationElement(NamedTuple):
    """One UDH information element (TS 23.040 9.2.3.24)."""

    iei: int
    data: bytes


_UNIT_NAMES: Final = {
    Alphabet.GSM7: "septets",
    Alphabet.LATIN1: "octets",
    Alphabet.UCS2: "UCS-2 units",
    Alphabet.BINARY: "octets",
    Alphabet.IA5: "septets",
}


class _Encoded(NamedTuple):
    alphabet: Alphabet
    data_coding: int
    # The text in its counting form, where parts are cut: septets for GSM7,
    # UTF-16BE for UCS2, octets otherwise.
    stream: bytes
    width: int  # octets per unit in ``stream``
    units: int
    chars: int  # len(text); equal to ``units`` when no unit needs care at a cut
    wire: bytes  # the PDU form; differs from ``stream`` for GSM7 written as Latin-1/IA5


def _coding_for(text: str, profile: TextProfile, data_coding: int | None) -> tuple[Alphabet, int]:
    if data_coding is None:
        return choose_coding(text, profile)
    alphabet = alphabet_of(data_coding, profile)
    if alphabet is None or alphabet is Alphabet.BINARY:
        raise PduError(
            "data_coding is not a text coding this engine writes",
            status=CommandStatus.ESME_RINVDCS,
            field="data_coding",
            value=data_coding,
        )
    return alphabet, data_coding


def _encode(text: str, profile: TextProfile, data_coding: int | None) -> _Encoded:
    alphabet, coding = _coding_for(text, profile, data_coding)
    wire = encode_text(text, coding, profile)
    if alphabet is Alphabet.GSM7:
        # Parts are cut in septets, the air cost. On a Latin-1/IA5 SMSC (and with
        # data_coding 1) the wire octets are not septets, but while the text has no
        # extension character they cut at the same places, so only then are the
        # septets needed.
        if writes_septets(coding, profile) or gsm_septets(text) == len(text):
            stream = wire
        else:
            stream = encode_gsm(text)
        return _Encoded(alphabet, coding, stream, 1, len(stream), len(text), wire)
    width = 2 if alphabet is Alphabet.UCS2 else 1
    return _Encoded(alphabet, coding, wire, width, len(wire) // width, len(text), wire)


def _cuts(encoded: _Encoded, per_part: int) -> list[int]:
    """End offsets in ``encoded.stream`` of parts of at most ``per_part`` units."""
    stream = encoded.stream
    step = per_part * encoded.width
    end = len(stream)
    gsm = encoded.alphabet is Alphabet.GSM7
    ucs2 = encoded.alphabet is Alphabet.UCS2
    cuts: list[int] = []
    pos = 0
    while True:
        cut = pos + step
        if cut >= end:
            cuts.append(end)
            return cuts
        if gsm and stream[cut - 1] == ESCAPE:
            # Our own encoding has 0x1B only as an escape prefix (no extension
            # code is 0x1B), so a part ending in 0x1B would split a pair.
            cut -= 1
        elif ucs2 and 0xD8 <= stream[cut - 2] <= 0xDB:
            cut -= 2  # a high surrogate: keep the pair together
        cuts.append(cut)
        pos = cut


def _part_count(encoded: _Encoded, per_part: int) -> int:
    if encoded.units <= per_part:
        return 1
    if encoded.units == encoded.chars:
        # No escapes and no surrogate pairs: every cut falls on a full part.
        return -(-encoded.units // per_part)
    return len(_cuts(encoded, per_part))


def _layout(
    encoded: _Encoded, method: Concatenation, max_parts: int = MAX_PARTS
) -> tuple[int, int, int]:
    """(parts, units_per_part, air_parts); raises TextTooLongError."""
    single = units_per_sms(encoded.alphabet)
    multi = units_per_sms(encoded.alphabet, _udh_octets(method))
    if method is Concatenation.PAYLOAD:
        if len(encoded.wire) > MAX_PAYLOAD_OCTETS:
            raise TextTooLongError(
                f"message_payload holds at most {MAX_PAYLOAD_OCTETS} octets",
                field="message_payload",
                length=len(encoded.wire),
                unit="octets",
            )
        parts = 1
        air_parts = 1 if encoded.units <= single else _part_count(encoded, multi)
        per_part = single if air_parts == 1 else multi
    else:
        per_part = single if encoded.units <= single else multi
        parts = air_parts = _part_count(encoded, per_part)
    if air_parts > max_parts:
        allows = "concatenation allows" if max_parts == MAX_PARTS else "the route allows at most"
        raise TextTooLongError(
            f"message needs {air_parts} parts, {allows} {max_parts}",
            field="message_payload" if method is Concatenation.PAYLOAD else "short_message",
            length=encoded.units,
            unit=_UNIT_NAMES[encoded.alphabet],
        )
    return parts, per_part, air_parts


_SINGLE: Final = {alphabet: units_per_sms(alphabet) for alphabet in Alphabet}


def _count_units(text: str, alphabet: Alphabet) -> int:
    """Units of a text that :func:`choose_coding` gave ``alphabet`` (so it fits)."""
    if alphabet is Alphabet.GSM7:
        septets = gsm_septets(text)
        assert septets is not None
        return septets
    if alphabet is Alphabet.UCS2:
        return len(text.encode("utf-16-be")) // 2
    return len(text)


def plan_text(
    text: str,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
    *,
    data_coding: int | None = None,
    max_parts: int = MAX_PARTS,
) -> TextPlan:
    """How ``text`` would go out: what :func:`split_text` does, without building PDUs.

    ``data_coding`` forces a coding instead of :func:`choose_coding`'s choice.
    Raises :class:`TextEncodeError` when a forced coding cannot carry the text and
    :class:`TextTooLongError` when the text needs more than ``max_parts`` SMS on the
    air (255, or a route's own limit).
    """
    if data_coding is None and method is not Concatenation.PAYLOAD:
        # The hot path (billing, TPS): a text that fits one SMS needs only a count.
        alphabet, coding = choose_coding(text, profile)
        units = _count_units(text, alphabet)
        single = _SINGLE[alphabet]
        if units <= single:
            return TextPlan(alphabet, coding, method, 1, units, single, 1)
    encoded = _encode(text, profile, data_coding)
    parts, per_part, air_parts = _layout(encoded, method, max_parts)
    return TextPlan(
        alphabet=encoded.alphabet,
        data_coding=encoded.data_coding,
        method=method,
        parts=parts,
        units=encoded.units,
        units_per_part=per_part,
        air_parts=air_parts,
    )


def split_text(
    text: str,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
    *,
    reference: int | None = None,
    data_coding: int | None = None,
) -> list[Segment]:
    """``text`` as the PDUs' worth of :class:`Segment` that carry it, in order.

    A text that fits one SMS gives one segment without UDH or SAR TLVs (PAYLOAD
    always puts the text in message_payload). ``reference`` (from a
    :class:`~smpp_engine.protocol.references.ReferenceAllocator` of the right
    width: 8 bits for UDH8, 16 for UDH16 and SAR) is required only when the text
    needs more than one part; ask :func:`plan_text` first to spend none on short
    texts.
    """
    encoded = _encode(text, profile, data_coding)
    coding = encoded.data_coding
    if method is not Concatenation.PAYLOAD and encoded.units <= _SINGLE[encoded.alphabet]:
        return [Segment(encoded.wire, coding, False, 1, 1)]  # the usual case: one SMS
    parts, per_part, _ = _layout(encoded, method)
    if method is Concatenation.PAYLOAD:
        return [Segment(b"", coding, False, 1, 1, {Tag.message_payload: encoded.wire})]
    if parts == 1:
        return [Segment(encoded.wire, coding, False, 1, 1)]
    ref = _check_reference(reference, method)
    chunks = _chunks(encoded, per_part, profile)
    total = len(chunks)
    if method is Concatenation.SAR:
        return [
            Segment(
                chunk,
                coding,
                False,
                seq,
                total,
                {
                    Tag.sar_msg_ref_num: ref,
                    Tag.sar_total_segments: total,
                    Tag.sar_segment_seqnum: seq,
                },
            )
            for seq, chunk in enumerate(chunks, 1)
        ]
    if method is Concatenation.UDH8:
        head = bytes((5, _IE_CONCAT_8, 3, ref, total))
    else:
        head = bytes((6, _IE_CONCAT_16, 4, ref >> 8, ref & 0xFF, total))
    return [
        Segment(head + bytes((seq,)) + chunk, coding, True, seq, total)
        for seq, chunk in enumerate(chunks, 1)
    ]


def _chunks(encoded: _Encoded, per_part: int, profile: TextProfile) -> list[bytes]:
    stream = encoded.stream
    chunks: list[bytes] = []
    start = 0
    for cut in _cuts(encoded, per_part):
        chunks.append(stream[start:cut])
        start = cut
    if stream is not encoded.wire:
        # GSM7 written as Latin-1/IA5: the cuts were made in septets.
        chunks = [encode_text(decode_gsm(c), encoded.data_coding, profile) for c in chunks]
    return chunks


def _check_reference(reference: int | None, method: Concatenation) -> int:
    limit = 0xFF if method is Concatenation.UDH8 else 0xFFFF
    if reference is None:
        raise ValueError("a message of more than one part needs a reference")
    if not 0 <= reference <= limit:
        raise ValueError(f"reference {reference} does not fit {method.name} (0..{limit})")
    return reference


def parse_udh(user_data: bytes) -> tuple[list[InformationElement], bytes]:
    """The information elements of the UDH at the start of ``user_data``, and the rest.

    Raises :class:`ConcatenationError` when the UDH or an element runs past its end.
    """
    if not user_data:
        raise ConcatenationError(
            "UDHI set but the user data is empty",
            status=CommandStatus.ESME_RINVMSGLEN,
            field="short_message",
            value="",
        )
    udh_end = 1 + user_data[0]
    if udh_end > len(user_data):
        raise ConcatenationError(
            f"UDH length {user_data[0]} runs past the user data",
            status=CommandStatus.ESME_RINVMSGLEN,
            field="short_message",
            value=user_data.hex(),
        )
    elements: list[InformationElement] = []
    pos = 1
    while pos < udh_end:
        if pos + 2 > udh_end:
            raise ConcatenationError(
                "truncated UDH information element",
                status=CommandStatus.ESME_RINVMSGLEN,
                field="short_message",
                value=user_data[:udh_end].hex(),
            )
        iei, length = user_data[pos], user_data[pos + 1]
        stop = pos + 2 + length
        if stop > udh_end:
            raise ConcatenationError(
                f"UDH information element 0x{iei:02X} runs past the UDH",
                status=CommandStatus.ESME_RINVMSGLEN,
                field="short_message",
                value=user_data[:udh_end].hex(),
            )
        elements.append(InformationElement(iei, user_data[pos + 2 : stop]))
        pos = stop
    return elements, user_data[udh_end:]


def concatenation_info(
    esm_class: int, short_message: bytes, tlvs: Mapping[int, TlvValue]
) -> ConcatInfo | None:
    """The concatenation data of a received PDU, or None for a single message.

    The user data is ``short_message``, or the message_payload TLV when
    short_message is empty. With UDHI set it comes from the last concatenation
    IE (0x00 or 0x08) of the UDH; an IE with a zero total or a seqnum of zero or
    above the total is ignored as TS 23.040 9.2.3.24.1 says, so such a part is a
    single message. Without UDHI it comes from the SAR TLVs, which SMPP ignores
    unless all three are present. Raises :class:`ConcatenationError` for a UDH
    that cannot be parsed, a concatenation IE of the wrong length, or SAR values
    out of range.
    """
    user_data = short_message
    if not user_data:
        payload = tlvs.get(Tag.message_payload)
        if isinstance(payload, bytes):
            user_data = payload
    if esm_class & ESM_CLASS_UDHI:
        elements, rest = parse_udh(user_data)
        found: ConcatInfo | None = None
        for iei, data in elements:
            if iei == _IE_CONCAT_8:
                _check_ie_length(iei, data, 3)
                reference, total, seqnum = data
                method = Concatenation.UDH8
            elif iei == _IE_CONCAT_16:
                _check_ie_length(iei, data, 4)
                reference, total, seqnum = (data[0] << 8) | data[1], data[2], data[3]
                method = Concatenation.UDH16
            else:
                continue  # ports, special SMS indications and others: not ours
            if total and 1 <= seqnum <= total:
                found = ConcatInfo(reference, total, seqnum, rest, method)
        return found
    return _sar_info(user_data, tlvs)


def _check_ie_length(iei: int, data: bytes, expected: int) -> None:
    if len(data) != expected:
        raise ConcatenationError(
            f"concatenation IE 0x{iei:02X} has {len(data)} octets, expected {expected}",
            status=CommandStatus.ESME_RINVMSGLEN,
            field="short_message",
            value=data.hex(),
        )


def _sar_info(user_data: bytes, tlvs: Mapping[int, TlvValue]) -> ConcatInfo | None:
    values: list[int] = []
    for tag in (Tag.sar_msg_ref_num, Tag.sar_total_segments, Tag.sar_segment_seqnum):
        value = tlvs.get(tag)
        if value is None:
            return None  # SMPP 3.4 5.3.2.22-24: without the other two it "shall be ignored"
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad_sar(tag, value)
        values.append(value)
    reference, total, seqnum = values
    # SMPP has no "ignore" rule for bad values, unlike the UDH: they are errors.
    if not 0 <= reference <= 0xFFFF:
        raise _bad_sar(Tag.sar_msg_ref_num, reference)
    if not 1 <= total <= MAX_PARTS:
        raise _bad_sar(Tag.sar_total_segments, total)
    if not 1 <= seqnum <= total:
        raise _bad_sar(Tag.sar_segment_seqnum, seqnum)
    return ConcatInfo(reference, total, seqnum, user_data, Concatenation.SAR)


def _bad_sar(tag: Tag, value: object) -> ConcatenationError:
    return ConcatenationError(
        f"{tag.name} out of range",
        status=CommandStatus.ESME_RINVOPTPARAMVAL,
        field=tag.name,
        value=value,
    )
