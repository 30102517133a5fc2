"""How the SMSC side (the simulator, the gateway's server face) logs what a peer sent.

A peer's text goes into a log line with its control characters escaped (a
terminal's escape sequences stay inert), and no password is ever logged, not
even one the codec refused as over-long with the value in hand.
"""

from __future__ import annotations

from .errors import PduError
from .status import status_name

__all__ = ["error_fields", "printable"]

#: PDU fields whose value is never logged.
_SECRET_FIELDS = frozenset({"password"})
_LOGGED_VALUE = 80


def printable(text: str) -> str:
    """``text`` for a log line: control characters (a terminal's escapes) escaped."""
    return text if text.isprintable() else ascii(text)[1:-1]


def error_fields(error: PduError) -> dict[str, object]:
    """A codec error for the log, with no secret field's value (an over-long
    password is refused by the codec with the value in hand)."""
    value: object = error.value
    if error.field in _SECRET_FIELDS and value is not None:
        value = "***"
    elif value is not None:
        text = repr(value)
        value = text if len(text) <= _LOGGED_VALUE else text[: _LOGGED_VALUE - 3] + "..."
    return {
        "error": error.reason,
        "status": status_name(error.status),
        "field": error.field,
        "value": value,
        "command_id": None if error.command_id is None else f"0x{error.command_id:08X}",
    }
