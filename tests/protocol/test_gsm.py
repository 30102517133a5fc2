"""GSM 03.38 default alphabet: tables against TS 23.038, encoding, decoding, packing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol.errors import PduError
from smpp_engine.protocol.gsm import (
    BASIC_TABLE,
    EXTENSION_TABLE,
    GSM_CHARACTERS,
    TextEncodeError,
    decode_gsm,
    encode_gsm,
    gsm_septets,
    invalid_septet_position,
    is_gsm,
    pack_septets,
    unpack_septets,
)

# TS 23.038 6.2.1, written out independently as Unicode code points, one
# column of the standard's table (16 consecutive codes) per pair of lines.
# 0x1B is the escape.
STANDARD_BASIC = [
    # 0x00-0x0F
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    # 0x10-0x1F
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    0x03A3, 0x0398, 0x039E, 0x001B, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    # 0x20-0x2F
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
    # 0x30-0x3F
    *range(0x30, 0x40),
    # 0x40-0x5F
    0x00A1, *range(0x41, 0x5B), 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
    # 0x60-0x7F
    0x00BF, *range(0x61, 0x7B), 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
]  # fmt: skip

STANDARD_EXTENSION = {
    0x0A: 0x000C,  # form feed
    0x14: 0x005E,  # ^
    0x28: 0x007B,  # {
    0x29: 0x007D,  # }
    0x2F: 0x005C,  # backslash
    0x3C: 0x005B,  # [
    0x3D: 0x007E,  # ~
    0x3E: 0x005D,  # ]
    0x40: 0x007C,  # |
    0x65: 0x20AC,  # euro sign
}

# The brief's sample, as (code, character) straight from the standard's table.
SAMPLE_BASIC = [
    (0x00, "@"), (0x01, "£"), (0x02, "$"), (0x10, "Δ"), (0x11, "_"), (0x1C, "Æ"),
    (0x24, "¤"), (0x40, "¡"), (0x5B, "Ä"), (0x60, "¿"), (0x7F, "à"),
]  # fmt: skip
SAMPLE_EXTENSION = [
    (0x65, "€"), (0x0A, "\f"), (0x3C, "["), (0x2F, "\\"), (0x14, "^"), (0x28, "{"),
    (0x40, "|"), (0x3D, "~"), (0x3E, "]"), (0x29, "}"),
]  # fmt: skip

gsm_text = st.text(alphabet=st.sampled_from(sorted(GSM_CHARACTERS)), max_size=400)


def test_basic_table_matches_the_standard() -> None:
    assert len(STANDARD_BASIC) == 128
    assert [ord(c) for c in BASIC_TABLE] == STANDARD_BASIC


def test_basic_table_has_128_distinct_entries() -> None:
    assert len(BASIC_TABLE) == 128
    assert len(set(BASIC_TABLE)) == 128


def test_extension_table_matches_the_standard() -> None:
    assert {code: ord(c) for code, c in EXTENSION_TABLE.items()} == STANDARD_EXTENSION


@pytest.mark.parametrize(("code", "char"), SAMPLE_BASIC)
def test_sample_basic_code_points(code: int, char: str) -> None:
    assert encode_gsm(char) == bytes([code])
    assert decode_gsm(bytes([code])) == char


@pytest.mark.parametrize(("code", "char"), SAMPLE_EXTENSION)
def test_sample_extension_code_points_cost_two_septets(code: int, char: str) -> None:
    assert encode_gsm(char) == bytes([0x1B, code])
    assert decode_gsm(bytes([0x1B, code])) == char
    assert gsm_septets(char) == 2


def test_escape_is_not_a_character() -> None:
    assert "\x1b" not in GSM_CHARACTERS
    with pytest.raises(TextEncodeError):
        encode_gsm("\x1b")


def test_spanish_punctuation_and_common_accents_are_gsm() -> None:
    assert is_gsm("¿Qué tal? ñ ¡Olé! Ñ è")
    assert gsm_septets("¿Qué tal? ñ") == 11


@pytest.mark.parametrize("char", ["á", "í", "ó", "ú", "ç", "Я", "😀", "`", "\t"])
def test_characters_outside_gsm(char: str) -> None:
    assert not is_gsm(char)
    assert gsm_septets("ab" + char) is None


def test_septets_count_extension_characters_twice() -> None:
    assert gsm_septets("") == 0
    assert gsm_septets("a€b[") == 6
    assert gsm_septets("\f") == 2


@given(gsm_text)
def test_round_trip(text: str) -> None:
    encoded = encode_gsm(text)
    assert decode_gsm(encoded) == text
    assert len(encoded) == gsm_septets(text)
    assert max(encoded, default=0) <= 0x7F
    assert invalid_septet_position(encoded) is None


def test_encode_error_names_field_character_and_position() -> None:
    with pytest.raises(TextEncodeError) as caught:
        encode_gsm("abcá", field="message_payload")
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, PduError)
    assert (error.field, error.value, error.position) == ("message_payload", "á", 3)
    assert "ESME_RINVDCS" in str(error)


def test_escape_followed_by_unknown_code_shows_the_basic_character() -> None:
    # TS 23.038 6.2.1.1: no extension character -> the basic table's character.
    assert decode_gsm(b"\x1b\x41") == "A"
    assert decode_gsm(b"\x1b\x00") == "@"


def test_lone_and_double_escape_show_a_space() -> None:
    assert decode_gsm(b"ab\x1b") == "ab "
    assert decode_gsm(b"a\x1b\x1bb") == "a b"


def test_octets_above_0x7f_become_replacement_characters() -> None:
    assert decode_gsm(b"a\x80\xff") == "a\ufffd\ufffd"
    assert invalid_septet_position(b"ab\x80") == 2


def test_invalid_septet_position_finds_bad_escapes() -> None:
    assert invalid_septet_position(b"a\x1b\x64") == 1
    assert invalid_septet_position(b"ab\x1b\x41") == 2
    assert invalid_septet_position(b"\x1b") == 0
    assert invalid_septet_position(b"a\x1b\x65b") is None


@given(st.binary(max_size=300))
def test_decode_never_raises_and_valid_input_round_trips(data: bytes) -> None:
    text = decode_gsm(data)
    if invalid_septet_position(data) is None:
        assert encode_gsm(text) == data
    else:
        assert not is_gsm(text) or encode_gsm(text) != data


def test_pack_known_vector() -> None:
    # The classic example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37.
    assert pack_septets(encode_gsm("hellohello")).hex() == "e8329bfd4697d9ec37"
    assert unpack_septets(bytes.fromhex("e8329bfd4697d9ec37"), 10) == encode_gsm("hellohello")


def test_pack_with_fill_bits_after_a_six_octet_udh() -> None:
    # After a 6-octet UDH (48 bits) one fill bit aligns the text to septet 7.
    packed = pack_septets(b"\x7f", fill_bits=1)
    assert packed == bytes([0xFE])


@given(
    st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)),
    st.integers(0, 6),
)
def test_pack_round_trip(septets: bytes, fill: int) -> None:
    packed = pack_septets(septets, fill_bits=fill)
    assert len(packed) == (7 * len(septets) + fill + 7) // 8
    assert unpack_septets(packed, len(septets), fill_bits=fill) == septets


def test_unpack_truncated_input_reads_zero_bits() -> None:
    assert unpack_septets(b"", 2) == b"\x00\x00"


def test_fill_bits_out_of_range() -> None:
    with pytest.raises(ValueError):
        pack_septets(b"a", fill_bits=7)
    with pytest.raises(ValueError):
        unpack_septets(b"a", 1, fill_bits=-1)


@given(st.text(alphabet=st.sampled_from([*sorted(GSM_CHARACTERS), "á", "Я", "😀", "`", "\t"])))
def test_septet_count_agrees_with_the_encoder(text: str) -> None:
    try:
        encoded = encode_gsm(text)
    except TextEncodeError as error:
        assert gsm_septets(text) is None and not is_gsm(text)
        assert text[error.position] == error.value
        assert is_gsm(text[: error.position])
    else:
        assert gsm_septets(text) == len(encoded) and is_gsm(text)
