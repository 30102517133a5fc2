"""``smpp-engine pdu``: decode and encode single PDUs (for operators and QA)."""

from __future__ import annotations

import json
import sys

import typer

from ..protocol import PduError, decode_pdu, encode_pdu
from ..protocol.pdu_json import pdu_from_dict, pdu_to_dict
from .errors import fail

__all__ = ["pdu_app"]

pdu_app = typer.Typer(
    help="Decode and encode single PDUs (for operators and QA).", no_args_is_help=True
)


def _read_argument(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


@pdu_app.command("decode")
def pdu_decode(
    hex_pdu: str = typer.Argument(
        ..., metavar="HEX", help="The whole PDU in hex (spaces and colons allowed; - reads stdin)."
    ),
) -> None:
    """Print one PDU as JSON: command, status, sequence, every field and TLV by its spec name."""
    text = _read_argument(hex_pdu)
    cleaned = "".join(text.split()).replace(":", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        raise fail(f"input is not hexadecimal: {text.strip()[:80]!r}") from None
    try:
        pdu = decode_pdu(data)
    except PduError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(pdu_to_dict(pdu), indent=2))


@pdu_app.command("encode")
def pdu_encode(
    json_pdu: str = typer.Argument(
        ..., metavar="JSON", help="The PDU as JSON, as 'pdu decode' prints it (- reads stdin)."
    ),
) -> None:
    """Print the hex bytes of a PDU given as JSON."""
    text = _read_argument(json_pdu)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        typer.echo(encode_pdu(pdu_from_dict(data)).hex())
    except PduError as exc:
        raise fail(str(exc)) from None
