"""data_coding choice, text encoding and tolerant decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol.coding import (
    Alphabet,
    DataCoding,
    TextDecodeError,
    TextProfile,
    alphabet_of,
    choose_coding,
    decode_text,
    encode_text,
)
from smpp_engine.protocol.errors import PduError
from smpp_engine.protocol.gsm import GSM_CHARACTERS, TextEncodeError

GSM = TextProfile()
LATIN1_ALLOWED = TextProfile(allow_latin1=True)
LATIN1_DEFAULT = TextProfile(default_alphabet=Alphabet.LATIN1)
IA5_DEFAULT = TextProfile(default_alphabet=Alphabet.IA5)

gsm_text = st.text(alphabet=st.sampled_from(sorted(GSM_CHARACTERS)), max_size=300)
latin1_text = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300)
# Any Unicode scalar value, astral planes (emoji) included; no lone surrogates.
unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]),
    max_size=200,
)


def test_data_coding_values_are_smpp_3_4() -> None:
    assert {m.name: m.value for m in DataCoding} == {
        "SMSC_DEFAULT": 0,
        "IA5": 1,
        "OCTET_UNSPECIFIED": 2,
        "LATIN1": 3,
        "OCTET_UNSPECIFIED_4": 4,
        "JIS": 5,
        "CYRILLIC": 6,
        "LATIN_HEBREW": 7,
        "UCS2": 8,
        "PICTOGRAM": 9,
        "MUSIC": 10,
        "EXTENDED_KANJI": 13,
        "KS_C_5601": 14,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", (Alphabet.GSM7, 0)),
        ("¿Qué tal? ñ", (Alphabet.GSM7, 0)),
        ("¡Hola! € [1]", (Alphabet.GSM7, 0)),
        ("", (Alphabet.GSM7, 0)),
        ("Canción á", (Alphabet.UCS2, 8)),
        ("Здравейте, как сте?", (Alphabet.UCS2, 8)),  # Bulgarian
        ("Привет", (Alphabet.UCS2, 8)),  # Russian
        ("Paid 😀", (Alphabet.UCS2, 8)),
    ],
)
def test_choose_coding_default_profile(text: str, expected: tuple[Alphabet, int]) -> None:
    assert choose_coding(text, GSM) == expected


def test_latin1_only_when_allowed_and_representable() -> None:
    assert choose_coding("Canción á", LATIN1_ALLOWED) == (Alphabet.LATIN1, 3)
    assert choose_coding("¿Qué tal?", LATIN1_ALLOWED) == (Alphabet.GSM7, 0)  # cheaper stays
    assert choose_coding("Здравей", LATIN1_ALLOWED) == (Alphabet.UCS2, 8)
    assert choose_coding("á 😀", LATIN1_ALLOWED) == (Alphabet.UCS2, 8)


def test_latin1_smsc_default_needs_gsm_and_latin1() -> None:
    # dc 0 is Latin-1 on the wire there but GSM 7-bit on the air.
    assert choose_coding("Qué [1]", LATIN1_DEFAULT) == (Alphabet.GSM7, 0)
    assert encode_text("Qué [1]", 0, LATIN1_DEFAULT) == "Qué [1]".encode("latin-1")
    assert choose_coding("5 €", LATIN1_DEFAULT) == (Alphabet.UCS2, 8)  # € not Latin-1
    assert choose_coding("Δ", LATIN1_DEFAULT) == (Alphabet.UCS2, 8)
    assert choose_coding("á", LATIN1_DEFAULT) == (Alphabet.UCS2, 8)  # not GSM on the air
    with pytest.raises(TextEncodeError) as caught:
        encode_text("ok á", 0, LATIN1_DEFAULT)
    assert (caught.value.value, caught.value.position) == ("á", 3)
    with pytest.raises(TextEncodeError):
        encode_text("5 €", 0, LATIN1_DEFAULT)


def test_ia5_smsc_default() -> None:
    assert choose_coding("abc [x]", IA5_DEFAULT) == (Alphabet.GSM7, 0)
    assert encode_text("abc [x]", 0, IA5_DEFAULT) == b"abc [x]"
    assert choose_coding("é", IA5_DEFAULT) == (Alphabet.UCS2, 8)
    assert decode_text(b"ab\xff", 0, IA5_DEFAULT) == "ab\ufffd"


def test_profile_rejects_a_non_text_default() -> None:
    with pytest.raises(ValueError):
        TextProfile(default_alphabet=Alphabet.UCS2)


@given(gsm_text)
def test_round_trip_gsm(text: str) -> None:
    alphabet, coding = choose_coding(text, GSM)
    assert (alphabet, coding) == (Alphabet.GSM7, 0)
    assert decode_text(encode_text(text, coding, GSM), coding, GSM, strict=True) == text


@given(unicode_text)
def test_round_trip_ucs2(text: str) -> None:
    data = encode_text(text, DataCoding.UCS2)
    assert data == text.encode("utf-16-be")
    assert decode_text(data, DataCoding.UCS2, strict=True) == text


@given(unicode_text)
def test_choice_always_round_trips(text: str) -> None:
    for profile in (GSM, LATIN1_ALLOWED, LATIN1_DEFAULT, IA5_DEFAULT):
        _, coding = choose_coding(text, profile)
        assert decode_text(encode_text(text, coding, profile), coding, profile) == text


@given(latin1_text)
def test_round_trip_latin1(text: str) -> None:
    data = encode_text(text, DataCoding.LATIN1)
    assert len(data) == len(text)
    assert decode_text(data, DataCoding.LATIN1, strict=True) == text


def test_astral_emoji_is_a_surrogate_pair() -> None:
    data = encode_text("😀", 8)
    assert data == b"\xd8\x3d\xde\x00"
    assert decode_text(data, 8) == "😀"


def test_ucs2_odd_length_and_lone_surrogate_decode_with_replacement() -> None:
    assert decode_text(b"\x00a\x00", 8) == "a\ufffd"
    assert decode_text(b"\xd8\x3d\x00a", 8) == "\ufffda"
    assert decode_text(b"\xde\x00", 8) == "\ufffd"
    with pytest.raises(TextDecodeError) as caught:
        decode_text(b"\x00a\x00", 8, strict=True)
    assert caught.value.position == 2
    with pytest.raises(TextDecodeError):
        decode_text(b"\xd8\x3d\x00a", 8, strict=True)


def test_strict_gsm_decode_rejects_bad_escapes_and_high_octets() -> None:
    assert decode_text(b"a\x1b\x41", 0) == "aA"
    with pytest.raises(TextDecodeError) as caught:
        decode_text(b"a\x1b\x41", 0, strict=True)
    assert caught.value.position == 1
    with pytest.raises(TextDecodeError):
        decode_text(b"a\x80", 0, strict=True)


def test_lone_surrogate_in_str_is_an_encode_error() -> None:
    with pytest.raises(TextEncodeError) as caught:
        encode_text("ab\ud83d", 8)
    assert caught.value.position == 2


def test_latin1_encode_error() -> None:
    with pytest.raises(TextEncodeError) as caught:
        encode_text("a€", 3)
    assert (caught.value.value, caught.value.position) == ("€", 1)


def test_binary_coding_is_not_text() -> None:
    with pytest.raises(PduError) as caught:
        encode_text("abc", DataCoding.OCTET_UNSPECIFIED)
    assert caught.value.field == "data_coding"
    # Network input: kept byte for byte, or refused when strict.
    assert decode_text(b"\x00\xff", 4) == "\x00\xff"
    with pytest.raises(TextDecodeError):
        decode_text(b"\x00\xff", 4, strict=True)


def test_national_codings_decode() -> None:
    assert decode_text("Привет".encode("iso8859_5"), DataCoding.CYRILLIC) == "Привет"
    assert decode_text("שלום".encode("iso8859_8"), DataCoding.LATIN_HEBREW) == "שלום"


@pytest.mark.parametrize(
    ("data_coding", "alphabet"),
    [
        (0x00, Alphabet.GSM7),
        (0x01, Alphabet.GSM7),  # IA5 text is GSM 7-bit on the air
        (0x02, Alphabet.BINARY),
        (0x03, Alphabet.LATIN1),
        (0x04, Alphabet.BINARY),
        (0x08, Alphabet.UCS2),
        (0x06, None),
        (0x0B, None),
        (0x10, Alphabet.GSM7),  # class 0 (flash), GSM
        (0x18, Alphabet.UCS2),  # class 0 (flash), UCS-2
        (0x14, Alphabet.BINARY),
        (0x38, Alphabet.BINARY),  # compressed
        (0x48, Alphabet.UCS2),  # automatic deletion group
        (0xC0, Alphabet.GSM7),
        (0xE0, Alphabet.UCS2),
        (0xF0, Alphabet.GSM7),
        (0xF4, Alphabet.BINARY),
        (0x90, None),
    ],
)
def test_alphabet_of(data_coding: int, alphabet: Alphabet | None) -> None:
    assert alphabet_of(data_coding, GSM) is alphabet


def test_flash_ucs2_decodes() -> None:
    assert decode_text("Hi😀".encode("utf-16-be"), 0x18) == "Hi😀"


@given(st.binary(max_size=300), st.integers(0, 255), st.booleans())
def test_decode_never_raises_anything_but_the_typed_error(
    data: bytes, data_coding: int, strict: bool
) -> None:
    for profile in (GSM, LATIN1_DEFAULT, IA5_DEFAULT):
        try:
            text = decode_text(data, data_coding, profile, strict=strict)
        except TextDecodeError:
            assert strict
        else:
            assert isinstance(text, str)
