"""What keeping an MO message writes: its row, and for a tenant's its callback event."""

from __future__ import annotations

import json

from ..callbacks.model import MO_EVENT
from ..callbacks.queries import SMPP_URL_PREFIX
from ..callbacks.rules import OutboxRow
from .model import KeptMo, MoRoute, NewMo

__all__ = ["kept_of", "mo_event", "mo_parameters"]


def mo_parameters(mo: NewMo) -> tuple[object, ...]:
    return (
        mo.mo_id,
        mo.smsc,
        mo.source,
        mo.destination,
        mo.text,
        mo.data_coding,
        mo.parts,
        mo.received_at,
        mo.route.value,
        mo.tenant,
    )


def mo_event(mo: NewMo, kept_id: int, url: str) -> OutboxRow:
    """The outbox event posting a tenant's MO message to ``url``."""
    payload: dict[str, object] = {
        "id": kept_id,
        "from": mo.source,
        "to": mo.destination,
        "text": mo.text,
        "parts": mo.parts,
        "smsc": mo.smsc,
    }
    if url.startswith(SMPP_URL_PREFIX):
        # The SMPP face sends the text in the coding it came in.
        payload["data_coding"] = mo.data_coding
    return OutboxRow(
        None, mo.tenant, url, MO_EVENT, mo.received_at, json.dumps(payload, sort_keys=True)
    )


def kept_of(row: tuple[object, ...]) -> KeptMo:
    values = list(row)
    values[9] = MoRoute(str(values[9]))
    return KeptMo(*values)  # type: ignore[arg-type]
