"""Splitting texts into parts, planning, and reading concatenation headers back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol.coding import Alphabet, TextProfile, decode_text
from smpp_engine.protocol.gsm import EXTENSION_CHARACTERS, GSM_CHARACTERS, gsm_septets
from smpp_engine.protocol.segmentation import (
    MAX_PARTS,
    Concatenation,
    ConcatenationError,
    ConcatInfo,
    Segment,
    TextTooLongError,
    concatenation_info,
    parse_udh,
    plan_text,
    split_text,
    units_per_sms,
)
from smpp_engine.protocol.tlv import Tag, Tlvs

GSM = TextProfile()
LATIN1_ALLOWED = TextProfile(allow_latin1=True)
LATIN1_DEFAULT = TextProfile(default_alphabet=Alphabet.LATIN1)
IA5_DEFAULT = TextProfile(default_alphabet=Alphabet.IA5)
PROFILES = [GSM, LATIN1_ALLOWED, LATIN1_DEFAULT, IA5_DEFAULT]
METHODS = list(Concatenation)
SPLITTING = [Concatenation.UDH8, Concatenation.UDH16, Concatenation.SAR]

# Texts that stress the boundaries: many two-septet characters, emoji (surrogate
# pairs), accented letters that force UCS-2 or Latin-1.
_gsm_chars = sorted(GSM_CHARACTERS)
_ext_chars = sorted(EXTENSION_CHARACTERS)
texts = st.one_of(
    st.text(alphabet=st.sampled_from(_gsm_chars), max_size=700),
    st.text(alphabet=st.sampled_from(["a", "€", "[", "\f", *_ext_chars]), max_size=700),
    st.text(alphabet=st.sampled_from(["a", "á", "ñ", "é", "Ñ", "¿"]), max_size=600),
    st.text(alphabet=st.sampled_from(["a", "Я", "😀", "🇧", "𝄞"]), max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300),
    # A two-unit character right at a part boundary of some method.
    st.builds(
        lambda n, char, rest: "a" * n + char + rest,
        st.sampled_from([65, 66, 67, 131, 132, 133, 134, 151, 152, 153, 303, 304, 305, 306]),
        st.sampled_from(["€", "😀", "]"]),
        st.text(alphabet=st.sampled_from(["a", "€", "😀"]), max_size=200),
    ),
)

SINGLE = {Alphabet.GSM7: 160, Alphabet.LATIN1: 140, Alphabet.UCS2: 70}
PER_PART = {
    Concatenation.UDH8: {Alphabet.GSM7: 153, Alphabet.LATIN1: 134, Alphabet.UCS2: 67},
    Concatenation.UDH16: {Alphabet.GSM7: 152, Alphabet.LATIN1: 133, Alphabet.UCS2: 66},
    # SAR parts must fit the UDH the SMSC adds on the air (sized for IE 0x08).
    Concatenation.SAR: {Alphabet.GSM7: 152, Alphabet.LATIN1: 133, Alphabet.UCS2: 66},
}


def user_data(segment: Segment) -> bytes:
    """The text octets of one segment, with any UDH removed."""
    if segment.total == 1:
        if segment.tlvs:
            payload = segment.tlvs[Tag.message_payload]
            assert isinstance(payload, bytes)
            return payload
        return segment.short_message
    info = concatenation_info(
        0x40 if segment.esm_class_udhi else 0, segment.short_message, segment.tlvs
    )
    assert info is not None
    assert (info.seqnum, info.total) == (segment.part, segment.total)
    return info.payload


def units_of(payload: bytes, alphabet: Alphabet, data_coding: int, profile: TextProfile) -> int:
    """The air cost of one part, counted independently of the splitter."""
    if alphabet is Alphabet.GSM7:
        septets = gsm_septets(decode_text(payload, data_coding, profile, strict=True))
        assert septets is not None
        return septets
    if alphabet is Alphabet.UCS2:
        assert len(payload) % 2 == 0
        return len(payload) // 2
    return len(payload)


def parts_of(text: str, profile: TextProfile = GSM, method: Any = Concatenation.UDH8) -> int:
    return len(split_text(text, profile, method, reference=1))


@given(texts, st.sampled_from(PROFILES), st.sampled_from(METHODS), st.integers(0, 255))
def test_split_properties(
    text: str, profile: TextProfile, method: Concatenation, reference: int
) -> None:
    plan = plan_text(text, profile, method)
    segments = split_text(text, profile, method, reference=reference)
    # The plan agrees with the split exactly.
    assert plan.parts == len(segments)
    assert [s.part for s in segments] == list(range(1, len(segments) + 1))
    assert all(s.total == len(segments) for s in segments)
    assert all(s.data_coding == plan.data_coding for s in segments)
    payloads = [user_data(s) for s in segments]
    # The parts joined give the text back.
    joined = b"".join(payloads)
    assert decode_text(joined, plan.data_coding, profile, strict=True) == text
    if method is Concatenation.PAYLOAD:
        assert segments[0].short_message == b""
        assert not segments[0].esm_class_udhi
        return
    single = len(segments) == 1
    limit = SINGLE[plan.alphabet] if single else PER_PART[method][plan.alphabet]
    assert plan.units_per_part == limit
    for segment, payload in zip(segments, payloads, strict=True):
        # Every part within its size limit, and each decodes on its own: no part
        # ends on an escape or a high surrogate.
        assert units_of(payload, plan.alphabet, plan.data_coding, profile) <= limit
        if plan.alphabet is Alphabet.GSM7 and profile is GSM:
            assert not payload.endswith(b"\x1b")
        if plan.alphabet is Alphabet.UCS2 and payload:
            assert not 0xD8 <= payload[-2] <= 0xDB
        # Never UDH and SAR together.
        if segment.esm_class_udhi:
            assert Tag.sar_msg_ref_num not in segment.tlvs
        if single:
            assert not segment.esm_class_udhi and not segment.tlvs
            assert len(segment.short_message) <= 254
        elif method is Concatenation.SAR:
            assert not segment.esm_class_udhi
            assert segment.short_message == payload
        else:
            assert segment.esm_class_udhi and not segment.tlvs
    # A part is only shorter than the limit when the next unit could not join it.
    for payload in payloads[:-1]:
        assert units_of(payload, plan.alphabet, plan.data_coding, profile) >= limit - 1


@given(texts)
def test_plan_reports_units(text: str) -> None:
    plan = plan_text(text)
    if plan.alphabet is Alphabet.GSM7:
        assert plan.units == gsm_septets(text)
    else:
        assert plan.units == len(text.encode("utf-16-be")) // 2


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("é" * 160, 1),
        ("", 1),
    ],
)
def test_gsm_boundaries(text: str, parts: int) -> None:
    assert parts_of(text) == parts
    assert plan_text(text).parts == parts


def test_gsm_boundaries_16_bit_reference() -> None:
    assert parts_of("a" * 304, method=Concatenation.UDH16) == 2
    assert parts_of("a" * 305, method=Concatenation.UDH16) == 3
    assert parts_of("a" * 306, method=Concatenation.SAR) == 3


def test_escape_never_split_from_its_character() -> None:
    # 152 septets then € (2 septets): cutting at 153 would separate 0x1B from 0x65.
    segments = split_text("a" * 152 + "€" + "b" * 10, reference=9)
    first, second = (user_data(s) for s in segments)
    assert first == b"a" * 152
    assert second == b"\x1b\x65" + b"b" * 10
    assert [len(s.short_message) for s in segments] == [6 + 152, 6 + 12]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Я" * 70, 1),
        ("Я" * 71, 2),
        ("Я" * 134, 2),
        ("Я" * 135, 3),
        ("😀" * 35, 1),  # 70 units
        ("😀" * 35 + "a", 2),
    ],
)
def test_ucs2_boundaries(text: str, parts: int) -> None:
    assert parts_of(text) == parts


def test_ucs2_16_bit_reference_part_size() -> None:
    segments = split_text("Я" * 133, method=Concatenation.UDH16, reference=0x1234)
    assert [len(user_data(s)) // 2 for s in segments] == [66, 66, 1]
    assert segments[0].short_message[:6] == bytes([6, 8, 4, 0x12, 0x34, 3])


@pytest.mark.parametrize(
    "text",
    [
        "a" * 152 + "€" + "a" * 152,  # 306 septets, yet 3 parts: 152 + 154 would not fit
        "a" * 66 + "😀" + "a" * 66,  # 134 UCS-2 units, yet 3 parts
    ],
)
def test_a_shortened_part_can_cost_one_more_part(text: str) -> None:
    plan = plan_text(text)
    assert plan.units == 2 * plan.units_per_part
    assert plan.parts == parts_of(text) == 3


def test_emoji_straddling_the_boundary_moves_to_the_next_part() -> None:
    text = "a" * 66 + "😀" + "b" * 10  # the pair would occupy units 67 and 68
    segments = split_text(text, reference=3)
    first, second = (user_data(s) for s in segments)
    assert first.decode("utf-16-be") == "a" * 66
    assert second.decode("utf-16-be") == "😀" + "b" * 10


def test_latin1_boundaries() -> None:
    assert parts_of("á" * 140, LATIN1_ALLOWED) == 1
    assert parts_of("á" * 141, LATIN1_ALLOWED) == 2
    segments = split_text("á" * 268, LATIN1_ALLOWED, reference=1)
    assert [len(user_data(s)) for s in segments] == [134, 134]
    assert {s.data_coding for s in segments} == {3}


def test_latin1_smsc_default_counts_septets_and_writes_latin1() -> None:
    text = "[" * 80 + "é"  # 161 septets, 81 Latin-1 octets
    plan = plan_text(text, LATIN1_DEFAULT)
    assert (plan.alphabet, plan.data_coding, plan.units, plan.parts) == (
        Alphabet.GSM7,
        0,
        161,
        2,
    )
    segments = split_text(text, LATIN1_DEFAULT, reference=1)
    assert b"".join(user_data(s) for s in segments) == text.encode("latin-1")
    assert user_data(segments[0]) == b"[" * 76


def test_units_per_sms_derivation() -> None:
    assert [units_per_sms(a) for a in (Alphabet.GSM7, Alphabet.LATIN1, Alphabet.UCS2)] == [
        160,
        140,
        70,
    ]
    assert [units_per_sms(a, 6) for a in (Alphabet.GSM7, Alphabet.LATIN1, Alphabet.UCS2)] == [
        153,
        134,
        67,
    ]
    assert [units_per_sms(a, 7) for a in (Alphabet.GSM7, Alphabet.LATIN1, Alphabet.UCS2)] == [
        152,
        133,
        66,
    ]


def test_udh8_layout() -> None:
    segments = split_text("x" * 200, reference=0xAB)
    assert [s.short_message[:6] for s in segments] == [
        bytes([5, 0, 3, 0xAB, 2, 1]),
        bytes([5, 0, 3, 0xAB, 2, 2]),
    ]
    assert all(s.esm_class_udhi and not s.tlvs for s in segments)


def test_sar_layout() -> None:
    segments = split_text("x" * 200, method=Concatenation.SAR, reference=0x1234)
    assert [s.tlvs for s in segments] == [
        {Tag.sar_msg_ref_num: 0x1234, Tag.sar_total_segments: 2, Tag.sar_segment_seqnum: 1},
        {Tag.sar_msg_ref_num: 0x1234, Tag.sar_total_segments: 2, Tag.sar_segment_seqnum: 2},
    ]
    assert [len(s.short_message) for s in segments] == [152, 48]
    assert not any(s.esm_class_udhi for s in segments)


def test_short_text_has_no_udh_and_no_sar() -> None:
    for method in SPLITTING:
        (segment,) = split_text("Hello", method=method)  # no reference needed
        assert segment == Segment(b"Hello", 0, False, 1, 1, {})


def test_payload_puts_everything_in_one_tlv() -> None:
    text = "a" * 400
    (segment,) = split_text(text, method=Concatenation.PAYLOAD)
    assert segment.short_message == b""
    assert segment.tlvs == {Tag.message_payload: b"a" * 400}
    plan = plan_text(text, method=Concatenation.PAYLOAD)
    assert (plan.parts, plan.air_parts) == (1, 3)
    assert plan_text("hi", method=Concatenation.PAYLOAD).air_parts == 1


def test_reference_required_and_checked_for_long_texts() -> None:
    with pytest.raises(ValueError):
        split_text("a" * 200)
    with pytest.raises(ValueError):
        split_text("a" * 200, reference=256)
    split_text("a" * 200, method=Concatenation.UDH16, reference=0xFFFF)
    with pytest.raises(ValueError):
        split_text("a" * 200, method=Concatenation.SAR, reference=0x10000)


def test_255_parts_is_the_maximum() -> None:
    assert plan_text("a" * 153 * MAX_PARTS).parts == 255
    with pytest.raises(TextTooLongError) as caught:
        split_text("a" * (153 * MAX_PARTS + 1), reference=1)
    assert caught.value.field == "short_message"
    assert caught.value.length == 153 * 255 + 1
    assert isinstance(caught.value, ValueError)
    with pytest.raises(TextTooLongError):
        plan_text("Я" * (66 * 255 + 1), method=Concatenation.SAR)
    with pytest.raises(TextTooLongError) as caught:
        plan_text("a" * (152 * 255 + 1), method=Concatenation.PAYLOAD)
    assert caught.value.field == "message_payload"


def test_forced_data_coding() -> None:
    plan = plan_text("Hello", data_coding=8)
    assert (plan.alphabet, plan.units) == (Alphabet.UCS2, 5)
    (segment,) = split_text("Hello", data_coding=8)
    assert segment.short_message == "Hello".encode("utf-16-be")
    assert plan_text("a" * 161, data_coding=0x10).parts == 2  # flash GSM


# --- reading concatenation information back -------------------------------------


def test_udh_round_trip_with_other_elements() -> None:
    # A port-addressing IE (0x05) before the concatenation IE is skipped.
    udh = bytes([11, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x00, 3, 7, 3, 2])
    info = concatenation_info(0x40, udh + b"text", {})
    assert info == ConcatInfo(7, 3, 2, b"text", Concatenation.UDH8)
    elements, rest = parse_udh(udh + b"text")
    assert [e.iei for e in elements] == [0x05, 0x00]
    assert rest == b"text"


def test_udh16_and_the_last_concatenation_element_wins() -> None:
    udh = bytes([11, 0x00, 3, 1, 2, 1, 0x08, 4, 0x12, 0x34, 4, 3])
    info = concatenation_info(0x40, udh + b"x", {})
    assert info == ConcatInfo(0x1234, 4, 3, b"x", Concatenation.UDH16)


@pytest.mark.parametrize(
    "ie",
    [bytes([0, 3, 1, 0, 1]), bytes([0, 3, 1, 2, 0]), bytes([0, 3, 1, 2, 3])],
)
def test_out_of_range_concatenation_element_is_ignored(ie: bytes) -> None:
    # TS 23.040 9.2.3.24.1: total 0, seqnum 0 or seqnum > total -> ignore the IE.
    assert concatenation_info(0x40, bytes([len(ie)]) + ie + b"x", {}) is None


def test_udh_without_concatenation_is_a_single_message() -> None:
    assert concatenation_info(0x40, bytes([4, 0x05, 2, 1, 2]) + b"x", {}) is None
    assert concatenation_info(0x00, b"plain", {}) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",  # UDHI but no UDHL
        bytes([6, 0, 3, 1, 2]),  # UDHL past the end
        bytes([1, 0]),  # truncated IE header
        bytes([3, 0, 3, 1]),  # IE past the UDH
        bytes([4, 0, 2, 1, 2]),  # concatenation IE of the wrong length
        bytes([4, 8, 2, 1, 2]),
    ],
)
def test_malformed_udh_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(ConcatenationError) as caught:
        concatenation_info(0x40, data, {})
    assert caught.value.field == "short_message"


def test_sar_tlvs() -> None:
    tlvs: Tlvs = {Tag.sar_msg_ref_num: 513, Tag.sar_total_segments: 2, Tag.sar_segment_seqnum: 2}
    assert concatenation_info(0, b"abc", tlvs) == ConcatInfo(513, 2, 2, b"abc", Concatenation.SAR)
    # SMPP: one without the others "shall be ignored".
    assert concatenation_info(0, b"abc", {Tag.sar_msg_ref_num: 1}) is None
    bad: Tlvs
    for bad in (
        {**tlvs, Tag.sar_segment_seqnum: 3},
        {**tlvs, Tag.sar_segment_seqnum: 0},
        {**tlvs, Tag.sar_total_segments: 0},
        {**tlvs, Tag.sar_msg_ref_num: b"\x00"},
    ):
        with pytest.raises(ConcatenationError):
            concatenation_info(0, b"abc", bad)


def test_udh_inside_message_payload() -> None:
    body = bytes([5, 0, 3, 9, 2, 1]) + b"hello"
    info = concatenation_info(0x40, b"", {Tag.message_payload: body})
    assert info == ConcatInfo(9, 2, 1, b"hello", Concatenation.UDH8)


tlv_values = st.one_of(st.integers(-1, 0x10000), st.binary(max_size=3))


@given(
    st.integers(0, 255),
    st.binary(max_size=40),
    st.dictionaries(
        st.sampled_from(
            [Tag.sar_msg_ref_num, Tag.sar_total_segments, Tag.sar_segment_seqnum, 0x1400]
        ),
        tlv_values,
    ),
)
def test_random_input_gives_info_none_or_the_typed_error(
    esm_class: int, data: bytes, tlvs: dict[int, Any]
) -> None:
    try:
        info = concatenation_info(esm_class, data, tlvs)
    except ConcatenationError:
        return
    if info is not None:
        assert 1 <= info.seqnum <= info.total <= 255
        assert info.payload == data or data.endswith(info.payload)


@given(texts, st.sampled_from(SPLITTING), st.integers(0, 255))
def test_concatenation_info_reads_what_the_splitter_wrote(
    text: str, method: Concatenation, reference: int
) -> None:
    segments = split_text(text, GSM, method, reference=reference)
    if len(segments) == 1:
        assert concatenation_info(0, segments[0].short_message, segments[0].tlvs) is None
        return
    for segment in segments:
        esm_class = 0x40 if segment.esm_class_udhi else 0
        info = concatenation_info(esm_class, segment.short_message, segment.tlvs)
        assert info is not None
        assert (info.reference, info.total, info.seqnum) == (
            reference,
            len(segments),
            segment.part,
        )
