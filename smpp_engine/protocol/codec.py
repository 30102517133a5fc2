"""Encode PDUs to bytes and decode one complete PDU from bytes.

Each PDU class declares its body as a ``LAYOUT`` (see :mod:`.layout`). At import,
every layout is compiled into one straight-line encode function and one decode
function, the way :mod:`dataclasses` generates ``__init__``: a field loop
interpreted per message costs several times more than the wire itself, and the
codec runs for every message the engine moves. The generated code handles the
happy path only; when it fails, :func:`_diagnose` walks the layout slowly to name
the field and value at fault.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from . import layout as L
from .errors import PduError
from .pdus import BY_COMMAND_ID, RESPONSE_BIT, DistributionList, Pdu, SmeAddress, UnsuccessSme
from .status import CommandStatus
from .tlv import decode_tlvs, encode_tlvs

HEADER = struct.Struct(">IIII")
_unpack_header = HEADER.unpack_from
HEADER_SIZE = 16

Encoder = Callable[[Pdu], bytes]
BodyDecoder = Callable[[bytes, int, int, int, int], Pdu]

_S = CommandStatus
_ENCODERS: dict[type[Pdu], Encoder] = {}
DECODERS: dict[int, BodyDecoder] = {}


def encode_pdu(pdu: Pdu) -> bytes:
    """The wire bytes of ``pdu``; raises :class:`PduError` naming a bad field."""
    return _ENCODERS[type(pdu)](pdu)


def decode_pdu(data: bytes) -> Pdu:
    """Decode exactly one PDU; ``data`` must hold it whole and nothing else."""
    if len(data) < HEADER_SIZE:
        raise PduError(
            "PDU shorter than its header",
            status=_S.ESME_RINVCMDLEN,
            field="command_length",
            value=len(data),
            framing=True,
        )
    length, command_id, status, sequence = _unpack_header(data)
    if length != len(data):
        raise PduError(
            f"command_length does not match the {len(data)} octets given",
            status=_S.ESME_RINVCMDLEN,
            field="command_length",
            value=length,
            framing=True,
        )
    decode = DECODERS.get(command_id)
    if decode is None:
        raise unknown_command_error(command_id, sequence)
    try:
        return decode(data, HEADER_SIZE, length, sequence, status)
    except PduError as exc:
        exc.command_id = command_id
        exc.sequence_number = sequence
        raise


def unknown_command_error(command_id: int, sequence: int) -> PduError:
    return PduError(
        "unknown command_id",
        status=_S.ESME_RINVCMDID,
        field="command_id",
        value=f"0x{command_id:08X}",
        command_id=command_id,
        sequence_number=sequence,
    )


# --- compilation --------------------------------------------------------------------


def _groups(layout: Sequence[L.Field]) -> list[list[L.Field]]:
    """Split a layout into runs of consecutive Int8 fields and single other fields."""
    groups: list[list[L.Field]] = []
    for f in layout:
        if isinstance(f, L.Int8) and groups and isinstance(groups[-1][0], L.Int8):
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


#: How many PDU shapes (combinations of string lengths) each encoder keeps a
#: compiled ``struct.Struct`` for; real traffic has a few dozen.
PACKER_CACHE_SIZE = 4096


def _compile_encoder(cls: type[Pdu]) -> Encoder:
    """Compile ``cls.LAYOUT`` into ``encode(pdu) -> bytes``.

    The whole PDU is written by one ``struct.Struct.pack`` whose format depends on
    the lengths of the variable fields; the Struct for each combination of lengths
    is built once and cached. That is twice as fast as packing the integer runs
    separately and joining the pieces.
    """
    lines = ["def encode(pdu):", "    try:"]
    values: list[str] = []  # the arguments to pack, after the four header fields
    lengths: list[str] = []  # the key: the lengths of the variable-size values
    formats: list[str] = []  # per layout field: how key entries become format codes
    checks: list[str] = []
    cstrings: list[str] = []  # checked for an embedded NUL in one search, not one each
    for n, f in enumerate(cls.LAYOUT):
        if isinstance(f, L.Int8):
            values.append(f"pdu.{f.name}")
            formats.append("B")
            continue
        if isinstance(f, L.CString):
            lines.append(f"        v{n} = pdu.{f.name}.encode('latin-1')")
            # An "Ns" code pads with NUL: a count of length + 1 writes the terminator.
            formats.append(f"{{key[{len(lengths)}] + 1}}s")
            if f.fixed:
                checks.append(f"(n{n} and n{n} != {f.size - 1})")
            else:
                checks.append(f"n{n} >= {f.size}")
            cstrings.append(f"v{n}")
            values.append(f"v{n}")
        elif isinstance(f, L.ShortMessage):
            lines.append(f"        v{n} = pdu.{f.name}")
            formats.append(f"B{{key[{len(lengths)}]}}s")
            checks.append(f"n{n} > 255")
            values += [f"n{n}", f"v{n}"]
        else:
            lines.append(f"        v{n} = _encode_{type(f).__name__}(pdu.{f.name})")
            formats.append(f"{{key[{len(lengths)}]}}s")
            values.append(f"v{n}")
        lines.append(f"        n{n} = len(v{n})")
        lengths.append(f"n{n}")
    if cstrings:
        checks.append(f"b'\\x00' in b''.join(({', '.join(cstrings)},))")
    # The Struct format for one key, e.g. ">IIII1sBB5sBB13s..." for submit_sm.
    lines[:0] = ["def struct_format(key):", f"    return f'>IIII{''.join(formats)}'", ""]
    lines += [
        f"        key = ({''.join(length + ', ' for length in lengths)})",
        "        packer = packers.get(key)",
        "        if packer is None:",
        "            packer = _new_packer(packers, key, struct_format(key))",
        f"        bad = {' or '.join(checks) or 'False'}",
        "        status = pdu.command_status",
        "        tlvs = pdu.tlvs",
        "        if tlvs:",
        "            tail = _encode_tlvs(tlvs)",
        f"            wire = packer.pack(packer.size + len(tail), COMMAND_ID, status, "
        f"pdu.sequence_number{''.join(', ' + v for v in values)}) + tail",
        "        elif status and EMPTY_ON_ERROR:",
        "            wire = _header(16, COMMAND_ID, status, pdu.sequence_number)",
        "        else:",
        f"            wire = packer.pack(packer.size, COMMAND_ID, status, "
        f"pdu.sequence_number{''.join(', ' + v for v in values)})",
        "    except (AttributeError, TypeError, ValueError, _struct_error):",
        "        raise _diagnose(pdu) from None",
        "    if bad:",
        "        raise _diagnose(pdu)",
        "    return wire",
    ]
    namespace: dict[str, Any] = {
        "packers": {},
        "_new_packer": _new_packer,
        "_header": HEADER.pack,
        "_struct_error": struct.error,
        "_encode_tlvs": encode_tlvs,
        "_diagnose": _diagnose,
        "_encode_DestAddresses": _encode_dest_addresses,
        "_encode_UnsuccessSmes": _encode_unsuccess_smes,
        "COMMAND_ID": cls.command_id,
        "EMPTY_ON_ERROR": cls.EMPTY_BODY_ON_ERROR,
    }
    exec("\n".join(lines), namespace)  # the source is built above from the layout alone
    encoder: Encoder = namespace["encode"]
    return encoder


def _new_packer(
    packers: dict[tuple[int, ...], struct.Struct], key: tuple[int, ...], struct_format: str
) -> struct.Struct:
    if len(packers) >= PACKER_CACHE_SIZE:
        packers.clear()  # a peer cycling through odd lengths must not grow memory
    packer = struct.Struct(struct_format)
    packers[key] = packer
    return packer


def _compile_decoder(cls: type[Pdu]) -> BodyDecoder:
    """Compile ``cls.LAYOUT`` into ``decode(data, pos, end, seq, status) -> Pdu``.

    ``data`` must hold exactly one PDU (``end == len(data)``): reading past the end
    then raises IndexError, which is cheaper than checking bounds before every
    integer; the handler finds the truncated field the slow way.
    """
    lines = ["def decode(data, pos, end, seq, status):"]
    if cls.command_id & RESPONSE_BIT and cls.LAYOUT:
        # Error responses (and some sloppy peers' OK ones) come without a body.
        lines += [
            "    if pos == end:",
            "        return CLS(sequence_number=seq, command_status=status)",
        ]
    lines.append("    try:")
    names: list[str] = []
    for index, group in enumerate(_groups(cls.LAYOUT)):
        f = group[0]
        if isinstance(f, L.Int8):
            for offset, g in enumerate(group):
                lines.append(f"        {g.name} = data[pos + {offset}]")
            lines.append(f"        pos += {len(group)}")
            names += [g.name for g in group]
        elif isinstance(f, L.CString):
            # Empty strings are the commonest value of most string fields.
            lines += [
                "        if data[pos] == 0:",
                f"            {f.name} = ''",
                "            pos += 1",
                "        else:",
                f"            nul = data.find(b'\\x00', pos, pos + {f.decode_size or f.size})",
            ]
            bad = f"nul - pos != {f.size - 1}" if f.fixed else "nul < 0"
            lines += [
                f"            if {bad}: raise _cstring_error(data, pos, end, F{index})",
                f"            {f.name} = data[pos:nul].decode('latin-1')",
                "            pos = nul + 1",
            ]
            names.append(f.name)
        elif isinstance(f, L.ShortMessage):
            lines += [
                "        stop = pos + 1 + data[pos]",
                "        if stop > end: raise _sm_overrun(data[pos], end - pos - 1)",
                f"        {f.name} = data[pos + 1:stop]",
                "        pos = stop",
            ]
            names.append(f.name)
        else:
            lines.append(f"        {f.name}, pos = _decode_{type(f).__name__}(data, pos, end)")
            names.append(f.name)
    if not names:
        lines.append("        pass")
    lines += [
        "    except IndexError:",
        "        raise _locate_truncation(CLS, data, end) from None",
        # The object is built with __new__ and slot stores: an __init__ call with twenty
        # keyword arguments costs more than decoding the fields. Every field is stored
        # below (checked at compile time), so the result equals what __init__ builds.
        "    pdu = _new(CLS)",
        "    pdu.sequence_number = seq",
        "    pdu.command_status = status",
        "    pdu.tlvs = _decode_tlvs(data, pos, end) if pos < end else {}",
    ]
    lines += [f"    pdu.{name} = {name}" for name in names]
    lines.append("    return pdu")
    header = {"sequence_number", "command_status", "tlvs"}
    missing = {f.name for f in fields(cls)} - set(names) - header
    assert not missing, f"{cls.__name__}: layout lacks {missing}"
    namespace: dict[str, Any] = {
        "CLS": cls,
        "_new": object.__new__,
        "_locate_truncation": _locate_truncation,
        "_cstring_error": _cstring_error,
        "_sm_overrun": _sm_overrun,
        "_decode_tlvs": decode_tlvs,
        "_decode_DestAddresses": _decode_dest_addresses,
        "_decode_UnsuccessSmes": _decode_unsuccess_smes,
    }
    for index, group in enumerate(_groups(cls.LAYOUT)):
        namespace[f"F{index}"] = group[0]
    exec("\n".join(lines), namespace)
    decoder: BodyDecoder = namespace["decode"]
    return decoder


# --- errors found while decoding ----------------------------------------------------


def _truncated(field: str) -> PduError:
    return PduError("PDU body ends before this field", status=_S.ESME_RINVCMDLEN, field=field)


def _locate_truncation(cls: type[Pdu], data: bytes, end: int) -> PduError:
    """The error for a body that ends inside a field: walk the layout to name it."""
    pos = HEADER_SIZE
    for f in cls.LAYOUT:
        if isinstance(f, L.Int8 | L.ShortMessage):
            if pos >= end:
                return _truncated(f.name if isinstance(f, L.Int8) else "sm_length")
            pos += 1 if isinstance(f, L.Int8) else 1 + data[pos]
        elif isinstance(f, L.CString):
            nul = data.find(b"\x00", pos, end)
            if nul < 0:
                return _truncated(f.name)
            pos = nul + 1
        else:
            try:
                pos = (
                    _decode_dest_addresses(data, pos, end)[1]
                    if isinstance(f, L.DestAddresses)
                    else _decode_unsuccess_smes(data, pos, end)[1]
                )
            except PduError as exc:
                return exc
    return _truncated(cls.LAYOUT[-1].name if cls.LAYOUT else "command_length")


def _sm_overrun(sm_length: int, available: int) -> PduError:
    return PduError(
        f"sm_length {sm_length} exceeds the {max(available, 0)} octets left in the PDU",
        status=_S.ESME_RINVMSGLEN,
        field="sm_length",
        value=sm_length,
    )


def _cstring_error(data: bytes, pos: int, end: int, f: L.CString) -> PduError:
    nul = data.find(b"\x00", pos, end)
    if nul < 0:
        return PduError(
            "C-octet string has no NUL before the end of the PDU",
            status=_S.ESME_RINVCMDLEN,
            field=f.name,
            value=data[pos:end][:80].decode("latin-1"),
        )
    found = data[pos:nul].decode("latin-1")
    if f.fixed:
        why = f"must be empty or exactly {f.size - 1} characters"
    else:
        why = f"longer than the maximum {(f.decode_size or f.size) - 1} characters"
    return PduError(f"C-octet string {why}", status=f.status, field=f.name, value=found[:80])


# --- submit_multi's lists -----------------------------------------------------------

_DEST_SME = 1
_DEST_DL = 2


def _read_cstring(data: bytes, pos: int, end: int, f: L.CString) -> tuple[str, int]:
    nul = data.find(b"\x00", pos, min(pos + (f.decode_size or f.size), end))
    if nul < 0:
        raise _cstring_error(data, pos, end, f)
    return data[pos:nul].decode("latin-1"), nul + 1


_DL_NAME = L.CString("dl_name", 21, _S.ESME_RINVDLNAME)


def _decode_dest_addresses(
    data: bytes, pos: int, end: int
) -> tuple[list[SmeAddress | DistributionList], int]:
    if pos >= end:
        raise _truncated("number_of_dests")
    count = data[pos]
    pos += 1
    result: list[SmeAddress | DistributionList] = []
    for _ in range(count):
        if pos >= end:
            raise _truncated("dest_flag")
        flag = data[pos]
        pos += 1
        if flag == _DEST_SME:
            if pos + 2 > end:
                raise _truncated("dest_addr_ton")
            ton, npi = data[pos], data[pos + 1]
            addr, pos = _read_cstring(data, pos + 2, end, L.DESTINATION_ADDR_21)
            result.append(SmeAddress(ton, npi, addr))
        elif flag == _DEST_DL:
            name, pos = _read_cstring(data, pos, end, _DL_NAME)
            result.append(DistributionList(name))
        else:
            raise PduError(
                "dest_flag must be 1 (SME address) or 2 (distribution list)",
                status=_S.ESME_RINVDESTFLAG,
                field="dest_flag",
                value=flag,
            )
    return result, pos


def _encode_dest_addresses(dests: Sequence[SmeAddress | DistributionList]) -> bytes:
    if len(dests) > 255:
        raise ValueError("too many destinations")
    out = bytearray((len(dests),))
    for d in dests:
        if isinstance(d, SmeAddress):
            out += bytes((_DEST_SME, d.dest_addr_ton, d.dest_addr_npi))
            out += _checked_cstring(d.destination_addr, L.DESTINATION_ADDR_21)
        elif isinstance(d, DistributionList):
            out.append(_DEST_DL)
            out += _checked_cstring(d.dl_name, _DL_NAME)
        else:
            raise TypeError("destination must be SmeAddress or DistributionList")
    return bytes(out)


_UNSUCCESS_STATUS = struct.Struct(">I")


def _decode_unsuccess_smes(data: bytes, pos: int, end: int) -> tuple[list[UnsuccessSme], int]:
    if pos >= end:
        raise _truncated("no_unsuccess")
    count = data[pos]
    pos += 1
    result: list[UnsuccessSme] = []
    for _ in range(count):
        if pos + 2 > end:
            raise _truncated("dest_addr_ton")
        ton, npi = data[pos], data[pos + 1]
        addr, pos = _read_cstring(data, pos + 2, end, L.DESTINATION_ADDR_21)
        if pos + 4 > end:
            raise _truncated("error_status_code")
        (code,) = _UNSUCCESS_STATUS.unpack_from(data, pos)
        result.append(UnsuccessSme(ton, npi, addr, code))
        pos += 4
    return result, pos


def _encode_unsuccess_smes(smes: Sequence[UnsuccessSme]) -> bytes:
    if len(smes) > 255:
        raise ValueError("too many unsuccess_smes")
    out = bytearray((len(smes),))
    for sme in smes:
        out += bytes((sme.dest_addr_ton, sme.dest_addr_npi))
        out += _checked_cstring(sme.destination_addr, L.DESTINATION_ADDR_21)
        out += _UNSUCCESS_STATUS.pack(sme.error_status_code)
    return bytes(out)


def _checked_cstring(value: str, f: L.CString) -> bytes:
    raw = value.encode("latin-1")
    if len(raw) >= f.size or b"\x00" in raw:
        raise ValueError(f"{f.name} too long")
    return raw + b"\x00"


# --- slow path: which field is wrong ------------------------------------------------


def _diagnose(pdu: Pdu) -> PduError:
    """Find the first invalid field of ``pdu`` (called only after a fast path failed)."""
    for name in ("sequence_number", "command_status"):
        value = getattr(pdu, name)
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            return PduError(
                "header field must be a 32-bit unsigned integer", field=name, value=value
            )
    for f in pdu.LAYOUT:
        value = getattr(pdu, f.name, None)
        problem = _field_problem(f, value)
        if problem is not None:
            status = getattr(f, "status", _S.ESME_RSYSERR)
            return PduError(f"invalid value: {problem}", status=status, field=f.name, value=value)
    try:
        encode_tlvs(pdu.tlvs)
    except PduError as exc:
        return exc
    except (AttributeError, TypeError):
        return PduError("tlvs must be a dict of tag to value", field="tlvs", value=pdu.tlvs)
    return PduError("PDU cannot be encoded", value=repr(pdu))


def _field_problem(f: L.Field, value: object) -> str | None:
    if isinstance(f, L.Int8):
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFF
        return None if ok else "expected an integer 0..255"
    if isinstance(f, L.CString):
        if not isinstance(value, str):
            return "expected a string"
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            return "C-octet strings carry ASCII/Latin-1 characters only"
        if b"\x00" in raw:
            return "NUL inside a C-octet string"
        if f.fixed and len(raw) not in (0, f.size - 1):
            return f"must be empty or exactly {f.size - 1} characters"
        if len(raw) >= f.size:
            return f"at most {f.size - 1} characters"
        return None
    if isinstance(f, L.ShortMessage):
        if not isinstance(value, bytes | bytearray):
            return "expected bytes (encode the text first, see smpp_engine.protocol.coding)"
        if len(value) > 255:
            return "at most 255 octets; longer texts go in message_payload or are segmented"
        return None
    try:
        if isinstance(f, L.DestAddresses):
            _encode_dest_addresses(value)  # type: ignore[arg-type]
        else:
            _encode_unsuccess_smes(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, UnicodeEncodeError, struct.error) as exc:
        return str(exc) or type(exc).__name__
    return None


for _cls in BY_COMMAND_ID.values():
    _ENCODERS[_cls] = _compile_encoder(_cls)
    DECODERS[_cls.command_id] = _compile_decoder(_cls)
