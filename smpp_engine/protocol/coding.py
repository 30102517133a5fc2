"""data_coding: which alphabet a text goes out in, and text <-> short_message octets.

Two things are kept apart here. The *alphabet* (:class:`Alphabet`) is what the
message costs on the air interface: GSM 7-bit septets, 8-bit octets or UCS-2
units. The *wire form* is how the octets look inside the PDU, which for
data_coding 0 depends on the SMSC (:class:`TextProfile`).

data_coding 0 on an SMSC whose default alphabet is Latin-1 or IA5: the SMSC
converts that text to GSM 7-bit on the air, because the air interface has no
Latin-1. So the text must be both GSM-representable (or the SMSC loses
characters) and Latin-1/ASCII-representable (or it cannot be written at all); it is
written as Latin-1/ASCII octets and costs GSM septets (``[`` costs two, just as on a
GSM SMSC). Text outside that intersection (``€``, ``Δ``, ``á``) goes data_coding 3
when the profile allows it, else UCS-2.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import PduError
from .gsm import (
    GSM_CHARACTERS,
    TextEncodeError,
    decode_gsm,
    encode_gsm,
    invalid_septet_position,
    is_gsm,
)
from .status import CommandStatus


class DataCoding(enum.IntEnum):
    """The data_coding values of SMPP 3.4 section 5.2.19."""

    SMSC_DEFAULT = 0
    IA5 = 1  # ASCII
    OCTET_UNSPECIFIED = 2
    LATIN1 = 3
    OCTET_UNSPECIFIED_4 = 4
    JIS = 5
    CYRILLIC = 6
    LATIN_HEBREW = 7
    UCS2 = 8
    PICTOGRAM = 9
    MUSIC = 10  # ISO-2022-JP music codes
    EXTENDED_KANJI = 13
    KS_C_5601 = 14


class Alphabet(enum.Enum):
    """What a message is counted in on the air interface.

    ``IA5`` is only meaningful as a :class:`TextProfile` default alphabet (the wire
    form of data_coding 0); such text is GSM7 on the air.
    """

    GSM7 = "gsm7"  # septets
    LATIN1 = "latin1"  # octets
    UCS2 = "ucs2"  # UTF-16 code units
    BINARY = "binary"  # octets
    IA5 = "ia5"


_DEFAULT_ALPHABETS = (Alphabet.GSM7, Alphabet.LATIN1, Alphabet.IA5)


@dataclass(frozen=True, slots=True)
class TextProfile:
    """How one SMSC treats text.

    ``default_alphabet`` is what data_coding 0 means on that SMSC: GSM7 (unpacked
    septets, the usual case), LATIN1 or IA5. ``allow_latin1`` lets
    :func:`choose_coding` pick data_coding 3; it is off by default because the air
    interface has no Latin-1 and many SMSCs mangle it.
    """

    default_alphabet: Alphabet = Alphabet.GSM7
    allow_latin1: bool = False

    def __post_init__(self) -> None:
        if self.default_alphabet not in _DEFAULT_ALPHABETS:
            raise ValueError(
                f"default_alphabet must be GSM7, LATIN1 or IA5, not {self.default_alphabet.name}"
            )


DEFAULT_PROFILE = TextProfile()


class TextDecodeError(PduError):
    """Octets that are not valid text in their data_coding (only with ``strict=True``)."""

    def __init__(self, reason: str, *, field: str, value: object, position: int) -> None:
        self.position = position
        super().__init__(
            f"{reason} at octet {position}",
            status=CommandStatus.ESME_RINVDCS,
            field=field,
            value=value,
        )


# Wire codecs. "gsm" is our unpacked GSM 03.38; "gsm-latin-1"/"gsm-ascii" are text
# that is GSM7 on the air but written as Latin-1/ASCII octets.
_GSM = "gsm"
_GSM_LATIN1 = "gsm-latin-1"
_GSM_ASCII = "gsm-ascii"
_LATIN1 = "latin-1"
_UCS2 = "utf-16-be"

_SMPP_CODINGS: dict[int, tuple[Alphabet | None, str | None]] = {
    DataCoding.IA5: (Alphabet.GSM7, _GSM_ASCII),
    DataCoding.OCTET_UNSPECIFIED: (Alphabet.BINARY, None),
    DataCoding.LATIN1: (Alphabet.LATIN1, _LATIN1),
    DataCoding.OCTET_UNSPECIFIED_4: (Alphabet.BINARY, None),
    DataCoding.CYRILLIC: (None, "iso8859_5"),
    DataCoding.LATIN_HEBREW: (None, "iso8859_8"),
    DataCoding.UCS2: (Alphabet.UCS2, _UCS2),
}
_BY_DEFAULT_ALPHABET = {
    Alphabet.GSM7: _GSM,
    Alphabet.LATIN1: _GSM_LATIN1,
    Alphabet.IA5: _GSM_ASCII,
}


def _coding(data_coding: int, profile: TextProfile) -> tuple[Alphabet | None, str | None]:
    if data_coding == 0:
        return Alphabet.GSM7, _BY_DEFAULT_ALPHABET[profile.default_alphabet]
    if data_coding < 0x10:
        return _SMPP_CODINGS.get(data_coding, (None, None))
    # Above 0x0F SMPP defers to the TS 23.038 coding groups (the flash/class and
    # message-waiting variants of the same three alphabets).
    group = data_coding >> 4
    if group <= 0x7:  # general data coding, with or without automatic deletion
        if data_coding & 0x20:  # compressed: not text we can read
            return Alphabet.BINARY, None
        return _by_character_set((data_coding >> 2) & 0x3)
    if group in (0xC, 0xD):  # message waiting, discard / store: GSM 7-bit
        return Alphabet.GSM7, _GSM
    if group == 0xE:  # message waiting, store: UCS-2
        return Alphabet.UCS2, _UCS2
    if group == 0xF:  # data coding / message class
        return (Alphabet.BINARY, None) if data_coding & 0x04 else (Alphabet.GSM7, _GSM)
    return None, None  # reserved groups 0x8-0xB


def _by_character_set(bits: int) -> tuple[Alphabet | None, str | None]:
    if bits == 0:
        return Alphabet.GSM7, _GSM
    if bits == 1:
        return Alphabet.BINARY, None
    if bits == 2:
        return Alphabet.UCS2, _UCS2
    return None, None


def alphabet_of(data_coding: int, profile: TextProfile = DEFAULT_PROFILE) -> Alphabet | None:
    """The air alphabet of ``data_coding`` on an SMSC with ``profile``.

    Also understands the TS 23.038 coding groups above 0x0F (flash and
    message-waiting variants). None for character sets this engine does not count
    (JIS, Cyrillic, Hebrew, pictogram, music, Kanji, KS C 5601, reserved values).
    """
    return _coding(data_coding, profile)[0]


def writes_septets(data_coding: int, profile: TextProfile = DEFAULT_PROFILE) -> bool:
    """Whether ``data_coding`` is written as unpacked GSM septets on that SMSC."""
    return _coding(data_coding, profile)[1] == _GSM


def _is_latin1(text: str) -> bool:
    return not text or max(text) <= "\xff"


def choose_coding(text: str, profile: TextProfile = DEFAULT_PROFILE) -> tuple[Alphabet, int]:
    """The cheapest (alphabet, data_coding) that carries ``text`` unchanged.

    GSM7 with data_coding 0 when every character is in the GSM basic or extension
    table (and, on a Latin-1/IA5 SMSC, also in that character set); else Latin-1
    with data_coding 3 when the profile allows it; else UCS-2 with data_coding 8.
    """
    if is_gsm(text):
        default = profile.default_alphabet
        if (
            default is Alphabet.GSM7
            or (default is Alphabet.LATIN1 and _is_latin1(text))
            or (default is Alphabet.IA5 and text.isascii())
        ):
            return Alphabet.GSM7, DataCoding.SMSC_DEFAULT
    if profile.allow_latin1 and _is_latin1(text):
        return Alphabet.LATIN1, DataCoding.LATIN1
    return Alphabet.UCS2, DataCoding.UCS2


def _first_outside(text: str, allowed: frozenset[str] | None, codec: str) -> int:
    for i, char in enumerate(text):
        if allowed is not None and char not in allowed:
            return i
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            return i
    return 0  # not reached: called only after a failure


def encode_text(
    text: str,
    data_coding: int,
    profile: TextProfile = DEFAULT_PROFILE,
    *,
    field: str = "short_message",
) -> bytes:
    """``text`` in the wire form of ``data_coding`` on an SMSC with ``profile``.

    Raises :class:`TextEncodeError` for a character the coding cannot carry (on
    a Latin-1/IA5 SMSC, data_coding 0 also refuses characters outside GSM 7-bit,
    which the SMSC could not put on the air), and :class:`PduError` for a
    data_coding that is not a text coding this engine writes.
    """
    _, wire = _coding(data_coding, profile)
    if wire == _GSM:
        return encode_gsm(text, field=field)
    if wire == _UCS2:
        try:
            return text.encode(_UCS2)
        except UnicodeEncodeError as exc:  # a lone surrogate in the str
            raise TextEncodeError(
                "unpaired surrogate", field=field, value=text[exc.start], position=exc.start
            ) from None
    if wire == _LATIN1:
        if _is_latin1(text):
            return text.encode(_LATIN1)
        pos = _first_outside(text, None, _LATIN1)
        raise TextEncodeError(
            "character not in Latin-1", field=field, value=text[pos], position=pos
        )
    if wire in (_GSM_LATIN1, _GSM_ASCII):
        codec = _LATIN1 if wire == _GSM_LATIN1 else "ascii"
        if is_gsm(text) and (text.isascii() or (codec == _LATIN1 and _is_latin1(text))):
            return text.encode(codec)
        pos = _first_outside(text, GSM_CHARACTERS, codec)
        raise TextEncodeError(
            f"character not in both GSM 7-bit and {codec} (data_coding {data_coding})",
            field=field,
            value=text[pos],
            position=pos,
        )
    raise PduError(
        "data_coding is not a text coding this engine writes",
        status=CommandStatus.ESME_RINVDCS,
        field="data_coding",
        value=data_coding,
    )


def decode_text(
    data: bytes,
    data_coding: int,
    profile: TextProfile = DEFAULT_PROFILE,
    *,
    strict: bool = False,
    field: str = "short_message",
) -> str:
    """The text in ``data``, written in ``data_coding`` by an SMSC with ``profile``.

    Network input never raises by default: invalid octets become U+FFFD (UCS-2
    of odd length or with an unpaired surrogate, ASCII above 0x7F, GSM octets
    above 0x7F) or follow TS 23.038 (an unknown escape shows the basic
    character), and a binary or unknown data_coding is returned as one character
    per octet (Latin-1), which keeps every byte. ``strict=True`` raises
    :class:`TextDecodeError` for all of these instead.
    """
    _, wire = _coding(data_coding, profile)
    if wire == _GSM:
        text = decode_gsm(data)
        if strict:
            pos = invalid_septet_position(data)
            if pos is not None:
                raise TextDecodeError(
                    "invalid GSM 7-bit septets",
                    field=field,
                    value=data[pos : pos + 2].hex(),
                    position=pos,
                )
        return text
    if wire is None:
        if strict:
            raise TextDecodeError(
                f"data_coding 0x{data_coding:02X} is not text this engine reads",
                field="data_coding",
                value=data_coding,
                position=0,
            )
        return data.decode(_LATIN1)
    codec = {_GSM_LATIN1: _LATIN1, _GSM_ASCII: "ascii"}.get(wire, wire)
    try:
        return data.decode(codec, "strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise TextDecodeError(
            f"invalid {codec} ({exc.reason})",
            field=field,
            value=data[exc.start : exc.end].hex(),
            position=exc.start,
        ) from None
