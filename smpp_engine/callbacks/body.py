"""What a callback posts: one event as JSON, the same bytes on every attempt.

The body is made from the outbox row alone, so a retry or a replay posts exactly
what the first attempt did (its signature's timestamp aside, which is a header).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..store.callbacks import MO_EVENT, OutboxEvent

__all__ = ["event_body", "event_json"]


def event_json(event: OutboxEvent) -> dict[str, Any]:
    """``{"event_id", "type", "message_id", "tenant", "state", "occurred_at"}`` for a
    message's event ("state" is the state it moved to, or "accepted"); an MO's carries
    its sender, recipient and text under ``"mo"``."""
    occurred = datetime.fromtimestamp(event.occurred_at, UTC).isoformat()
    if event.event == MO_EVENT:
        return {
            "event_id": str(event.event_id),
            "type": "mo",
            "tenant": event.tenant,
            "occurred_at": occurred,
            "mo": json.loads(event.payload or "{}"),
        }
    return {
        "event_id": str(event.event_id),
        "type": "message.state",
        "message_id": event.message_id,
        "tenant": event.tenant,
        "state": event.event,
        "occurred_at": occurred,
    }


def event_body(event: OutboxEvent) -> bytes:
    return json.dumps(event_json(event), separators=(",", ":"), sort_keys=True).encode("utf-8")
