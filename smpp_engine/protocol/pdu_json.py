"""PDUs as JSON-ready dicts, by the spec's field names, and back.

The form operators and QA read and write with ``smpp-engine pdu``::

    {"command": "submit_sm", "sequence_number": 7, "command_status": "ESME_ROK",
     "source_addr": "ACME", ..., "short_message": {"hex": "48656c6c6f", "text": "Hello"},
     "tlvs": {"user_message_reference": 12, "0x1401": {"hex": "00ff"}}}

Octet fields are ``{"hex": ...}``; ``"text"`` is added for reading (user data
decoded per data_coding, other octets when printable ASCII). On input "hex" wins
over "text", and a plain string is taken as Latin-1. Integers may also be given
as ``"0x.."`` strings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .coding import Alphabet, alphabet_of, decode_text
from .errors import PduError
from .pdus import (
    BY_COMMAND_ID,
    CommandId,
    DistributionList,
    EsmClass,
    Pdu,
    SmeAddress,
    UnsuccessSme,
)
from .segmentation import ConcatenationError, parse_udh
from .status import CommandStatus, status_name
from .tlv import KINDS, Kind, NetworkErrorCode, Tag, TlvValue, tag_from_name, tag_name

_HEADER_KEYS = ("command", "command_id", "command_status", "sequence_number", "tlvs")


def pdu_to_dict(pdu: Pdu) -> dict[str, Any]:
    """A JSON-serialisable view of ``pdu``."""
    out: dict[str, Any] = {
        "command": pdu.command_name,
        "command_id": f"0x{pdu.command_id:08X}",
        "command_status": status_name(pdu.command_status),
        "sequence_number": pdu.sequence_number,
    }
    for f in fields(pdu):
        if f.name in _HEADER_KEYS:
            continue
        out[f.name] = _to_json(getattr(pdu, f.name))
    out["tlvs"] = {tag_name(tag): _tlv_to_json(value) for tag, value in pdu.tlvs.items()}
    _add_user_text(pdu, out)
    return out


def _add_user_text(pdu: Pdu, out: dict[str, Any]) -> None:
    """Show short_message / message_payload as the text a handset would display.

    Read-only help for humans: it assumes the default profile (data_coding 0 is
    GSM 03.38) and is ignored on input, where "hex" wins.
    """
    data_coding = getattr(pdu, "data_coding", None)
    if data_coding is None or alphabet_of(data_coding) in (None, Alphabet.BINARY):
        return
    esm_class: int = getattr(pdu, "esm_class", 0)
    targets = [("short_message", out, getattr(pdu, "short_message", b""))]
    payload = pdu.tlvs.get(Tag.message_payload)
    if isinstance(payload, bytes):
        targets.append(("message_payload", out["tlvs"], payload))
    for key, where, user_data in targets:
        text = user_data
        if text and esm_class & EsmClass.UDHI:
            try:
                _, text = parse_udh(user_data)
            except ConcatenationError:
                continue
        if text:
            where[key]["text"] = decode_text(text, data_coding)


def pdu_from_dict(data: Mapping[str, Any]) -> Pdu:
    """Build a PDU from the form :func:`pdu_to_dict` produces; errors name the key."""
    if not isinstance(data, Mapping):
        raise PduError("a PDU must be a JSON object", field="pdu", value=data)
    cls = _command_class(data.get("command", data.get("command_id")))
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("command", "command_id"):
            continue
        if key not in known:
            raise PduError(f"{cls.__name__} has no field {key!r}", field=key, value=value)
        if key == "command_status":
            kwargs[key] = _status(value)
        elif key == "tlvs":
            kwargs[key] = _tlvs_from_json(value)
        else:
            kwargs[key] = _field_from_json(key, value, known[key].default)
    return cls(**kwargs)


def _command_class(command: object) -> type[Pdu]:
    if isinstance(command, str):
        if command in CommandId.__members__:
            return BY_COMMAND_ID[CommandId[command].value]
        with contextlib.suppress(ValueError):
            command = int(command, 0)
    if isinstance(command, int) and command in BY_COMMAND_ID:
        return BY_COMMAND_ID[command]
    raise PduError(
        "unknown command (give its spec name, e.g. submit_sm)",
        status=CommandStatus.ESME_RINVCMDID,
        field="command",
        value=command,
    )


def _status(value: object) -> int:
    if isinstance(value, str):
        if value in CommandStatus.__members__:
            return CommandStatus[value].value
        return _int("command_status", value)
    return _int("command_status", value)


def _int(key: str, value: object) -> int:
    if isinstance(value, bool):
        raise PduError("expected an integer", field=key, value=value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise PduError("expected an integer", field=key, value=value)


def _octets(key: str, value: object) -> bytes:
    if isinstance(value, Mapping):
        if "hex" in value:
            value = value["hex"]
            if isinstance(value, str):
                try:
                    return bytes.fromhex(value)
                except ValueError:
                    raise PduError("invalid hex", field=key, value=value) from None
        elif "text" in value:
            value = value["text"]
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise PduError(
                'text beyond Latin-1: give the encoded octets as {"hex": ...}',
                field=key,
                value=value,
            ) from None
    raise PduError('expected {"hex": ...}, {"text": ...} or a string', field=key, value=value)


def _field_from_json(key: str, value: object, default: object) -> object:
    if isinstance(default, bytes):
        return _octets(key, value)
    if isinstance(default, int):
        return _int(key, value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise PduError("expected a string", field=key, value=value)
        return value
    return _list_from_json(key, value)


def _list_from_json(key: str, value: object) -> object:
    if not isinstance(value, list):
        raise PduError("expected a list", field=key, value=value)
    out: list[object] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise PduError("expected a list of objects", field=key, value=item)
        try:
            if "dl_name" in item:
                out.append(DistributionList(str(item["dl_name"])))
            elif "error_status_code" in item:
                out.append(
                    UnsuccessSme(
                        _int("dest_addr_ton", item.get("dest_addr_ton", 0)),
                        _int("dest_addr_npi", item.get("dest_addr_npi", 0)),
                        str(item["destination_addr"]),
                        _status(item["error_status_code"]),
                    )
                )
            else:
                out.append(
                    SmeAddress(
                        _int("dest_addr_ton", item.get("dest_addr_ton", 0)),
                        _int("dest_addr_npi", item.get("dest_addr_npi", 0)),
                        str(item["destination_addr"]),
                    )
                )
        except KeyError as exc:
            raise PduError("missing key in list item", field=f"{key}.{exc.args[0]}") from None
    return out


def _tlvs_from_json(value: object) -> dict[int, TlvValue]:
    if not isinstance(value, Mapping):
        raise PduError("tlvs must be an object of name to value", field="tlvs", value=value)
    out: dict[int, TlvValue] = {}
    for name, raw in value.items():
        tag = tag_from_name(str(name))
        if tag == Tag.network_error_code and isinstance(raw, Mapping) and "network_type" in raw:
            out[tag] = NetworkErrorCode(
                _int("network_type", raw["network_type"]),
                _int("error_code", raw.get("error_code", 0)),
            )
        elif isinstance(raw, Mapping) or (isinstance(raw, str) and _takes_octets(tag)):
            out[tag] = _octets(tag_name(tag), raw)
        elif isinstance(raw, bool):
            raise PduError("expected a number, string or octets", field=tag_name(tag), value=raw)
        elif isinstance(raw, int | str):
            out[tag] = raw
        else:
            raise PduError("expected a number, string or octets", field=tag_name(tag), value=raw)
    return out


def _takes_octets(tag: int) -> bool:
    known = KINDS.get(tag)
    return known is None or known[0] is Kind.OCTETS


def _to_json(value: object) -> Any:
    if isinstance(value, bytes):
        return _octets_to_json(value)
    if isinstance(value, list):
        return [item._asdict() for item in value]
    return value


def _tlv_to_json(value: TlvValue) -> Any:
    if isinstance(value, NetworkErrorCode):
        return value._asdict()
    if isinstance(value, bytes):
        return _octets_to_json(value)
    return value


def _octets_to_json(value: bytes) -> dict[str, str]:
    out = {"hex": value.hex()}
    if value and all(0x20 <= b < 0x7F or b in (0x0A, 0x0D) for b in value):
        out["text"] = value.decode("ascii")  # for reading; user data is redone per data_coding
    return out
