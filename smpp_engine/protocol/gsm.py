"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038, 6.2.1).

SMPP carries GSM text with data_coding 0 *unpacked*: one septet per octet, so the
encoded length in octets is the septet count. Characters of the extension table
cost two septets: the escape 0x1B and their code. Packing eight septets into seven
octets (as on the air interface) is offered by :func:`pack_septets` for payloads
that need it.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from .errors import PduError
from .status import CommandStatus

ESCAPE: Final = 0x1B

# TS 23.038 6.2.1, one line per column of the standard's table (16 consecutive
# codes). 0x1B is the escape to the extension table. 0x09 is the capital C with
# cedilla as the standard's table shows it; the unicode.org mapping file uses the
# small c instead. Following the standard makes "ç" non-GSM (it forces UCS-2)
# rather than letting it silently arrive as "Ç".
BASIC_TABLE: Final[str] = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# TS 23.038 6.2.1.1: the characters reached through the escape, by code.
# 0x0D (CR2) and 0x1B (escape to a further table) are control codes without a
# character and are deliberately absent.
EXTENSION_TABLE: Final[dict[int, str]] = {
    0x0A: "\x0c",  # form feed (page break)
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

#: Every character that GSM 7-bit can carry (basic table without the escape, and
#: the extension table).
GSM_CHARACTERS: Final[frozenset[str]] = frozenset(
    [c for i, c in enumerate(BASIC_TABLE) if i != ESCAPE] + list(EXTENSION_TABLE.values())
)
#: The characters that cost two septets.
EXTENSION_CHARACTERS: Final[frozenset[str]] = frozenset(EXTENSION_TABLE.values())

# Encoding map for codecs.charmap_encode: char -> septet octet(s). Used to locate
# the offending character once encoding has failed.
_ENCODE_MAP: Final[dict[int, int | bytes]] = {
    **{ord(c): i for i, c in enumerate(BASIC_TABLE) if i != ESCAPE},
    **{ord(c): bytes((ESCAPE, code)) for code, c in EXTENSION_TABLE.items()},
}
# The fast path: str.translate to septet code points, then a Latin-1 encode.
# Characters up to U+00FF that GSM lacks map to U+FFFF and anything above U+00FF
# is left alone, so the encode fails for every character outside GSM.
_NOT_GSM: Final = "\uffff"
_TO_SEPTETS: Final[dict[int, str]] = {
    **{code: _NOT_GSM for code in range(0x100)},
    **{ord(c): chr(i) for i, c in enumerate(BASIC_TABLE) if i != ESCAPE},
    **{ord(c): chr(ESCAPE) + chr(code) for code, c in EXTENSION_TABLE.items()},
}
# A translate table that deletes one-septet characters: what remains of a text is
# its extension characters and its unrepresentable ones.
_DROP_BASIC: Final[dict[int, None]] = {
    ord(c): None for i, c in enumerate(BASIC_TABLE) if i != ESCAPE
}

_NOT_GSM_RE: Final = re.compile(f"[^{re.escape(''.join(sorted(GSM_CHARACTERS)))}]")
_EXTENSION_RE: Final = re.compile(f"[{re.escape(''.join(sorted(EXTENSION_CHARACTERS)))}]")

# Decoding table for codecs.charmap_decode: one character per octet value. An
# octet above 0x7F is no septet at all (the peer sent something else): it
# becomes U+FFFD rather than an error, because network input must not raise.
# The escape decodes to a space (TS 23.038: equipment without the extension
# shows a space); escape pairs are resolved before this table is used.
_DECODE_TABLE: Final[str] = BASIC_TABLE.replace("\x1b", " ") + "\ufffd" * 128


class TextEncodeError(PduError):
    """A character that the chosen alphabet cannot carry.

    ``value`` is the offending character and ``position`` its index in the text;
    ``status`` is ESME_RINVDCS (the data_coding cannot carry this text).
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str = "short_message",
        value: str,
        position: int,
    ) -> None:
        self.position = position
        super().__init__(
            f"{reason} at position {position}",
            status=CommandStatus.ESME_RINVDCS,
            field=field,
            value=value,
        )


def gsm_septets(text: str) -> int | None:
    """The number of septets ``text`` takes in GSM 7-bit, or None when it cannot."""
    # str.translate has a fast path for ASCII text only; regular expressions are
    # faster on anything else (and stop at the first Cyrillic letter).
    if text.isascii():
        rest = text.translate(_DROP_BASIC)
        if not rest:
            return len(text)
        if EXTENSION_CHARACTERS.issuperset(rest):
            return len(text) + len(rest)
        return None
    if _NOT_GSM_RE.search(text) is not None:
        return None
    return len(text) + len(_EXTENSION_RE.findall(text))


def is_gsm(text: str) -> bool:
    """Whether every character of ``text`` is in the basic or the extension table."""
    if text.isascii():
        rest = text.translate(_DROP_BASIC)
        return not rest or EXTENSION_CHARACTERS.issuperset(rest)
    return _NOT_GSM_RE.search(text) is None


def encode_gsm(text: str, *, field: str = "short_message") -> bytes:
    """``text`` as unpacked septets; raises :class:`TextEncodeError` naming ``field``."""
    try:
        return text.translate(_TO_SEPTETS).encode("latin-1")
    except UnicodeEncodeError:
        pass
    try:
        codecs.charmap_encode(text, "strict", _ENCODE_MAP)
    except UnicodeEncodeError as exc:
        raise TextEncodeError(
            "character not in the GSM 7-bit alphabet",
            field=field,
            value=text[exc.start],
            position=exc.start,
        ) from None
    raise AssertionError("unreachable: the two GSM encoders disagree")  # pragma: no cover


def decode_gsm(septets: bytes) -> str:
    """Unpacked septets as text; never raises.

    Following TS 23.038 an escape followed by a code without an extension
    character shows the basic-table character of that code, a trailing escape and
    the reserved escape-escape pair show a space, and an octet above 0x7F (not a
    septet) becomes U+FFFD.
    """
    if ESCAPE not in septets:
        return codecs.charmap_decode(septets, "strict", _DECODE_TABLE)[0]
    out: list[str] = []
    pos = 0
    end = len(septets)
    while True:
        esc = septets.find(ESCAPE, pos)
        if esc < 0:
            out.append(codecs.charmap_decode(septets[pos:], "strict", _DECODE_TABLE)[0])
            return "".join(out)
        out.append(codecs.charmap_decode(septets[pos:esc], "strict", _DECODE_TABLE)[0])
        if esc + 1 == end:
            out.append(" ")
            return "".join(out)
        code = septets[esc + 1]
        extended = EXTENSION_TABLE.get(code)
        out.append(extended if extended is not None else _DECODE_TABLE[code])
        pos = esc + 2


def invalid_septet_position(septets: bytes) -> int | None:
    """The index of the first octet that is not valid unpacked GSM 7-bit, or None.

    Invalid are octets above 0x7F and an escape not followed by an extension
    character (:func:`decode_gsm` tolerates both).
    """
    first: int | None = None
    if not septets.isascii():
        first = next(i for i, octet in enumerate(septets) if octet > 0x7F)
    end = len(septets) if first is None else first
    esc = septets.find(ESCAPE, 0, end)
    while esc >= 0:
        if esc + 1 >= len(septets) or septets[esc + 1] not in EXTENSION_TABLE:
            return esc
        esc = septets.find(ESCAPE, esc + 2, end)
    return first


def pack_septets(septets: bytes, *, fill_bits: int = 0) -> bytes:
    """Pack septets (one per octet) into the 7-bit air format, LSB first.

    ``fill_bits`` (0-6) zero bits come first, as after a UDH so that the text
    starts on a septet boundary (TS 23.040 9.2.3.24). The spec's <CR> padding of
    USSD/CBS is not applied: SMS carries the septet count in its length.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    out = bytearray()
    acc = 0
    nbits = fill_bits
    for septet in septets:
        acc |= (septet & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(packed: bytes, count: int, *, fill_bits: int = 0) -> bytes:
    """The first ``count`` septets of ``packed`` (see :func:`pack_septets`).

    Missing bits at the end (a truncated payload) read as zero rather than
    raising, as this parses network input.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    out = bytearray()
    acc = 0
    nbits = -fill_bits
    data = iter(packed)
    while len(out) < count:
        while nbits < 7:
            octet = next(data, 0)
            if nbits < 0:
                # Drop the fill bits in front of the first septet.
                octet >>= fill_bits
                nbits = 8 - fill_bits
                acc = octet
                continue
            acc |= octet << nbits
            nbits += 8
        out.append(acc & 0x7F)
        acc >>= 7
        nbits -= 7
    return bytes(out)
