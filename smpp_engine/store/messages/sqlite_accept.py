"""Accepting messages into SQLite (rules: :mod:`.accept`): ids drawn here, rows
written with ``executemany``, inside the caller's transaction.

Shared by :meth:`SqliteStore.accept`, the campaigns' ``add_campaign_messages``
and the billing reply's save. The "accepted" event is the message row itself
(its ``created_at``), not a row of ``message_events``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ..callbacks.sqlite import write_outbox
from .accept import AcceptBatch, Lease, accepted, accepted_callbacks, message_rows
from .model import Accepted, MessageState, NewMessage
from .sqlite_record import StateCounts

__all__ = ["accept_messages"]

_INSERT = """
INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton, dest_npi,
    text, parts, priority, registered_delivery, not_before, expires_at, idempotency_key,
    campaign_id, state, attempts, lease_owner, lease_until, dispatched, created_at, updated_at,
    route_rule, route_plan, tenant, callback_url, callback_events, payload, flash, send_at)
VALUES (:id, :smsc, :source, :source_ton, :source_npi, :destination, :dest_ton, :dest_npi,
    :text, :parts, :priority, :registered_delivery, :not_before, :expires_at, :idempotency_key,
    :campaign_id, :state, :attempts, :lease_owner, :lease_until, :dispatched, :created_at,
    :updated_at, :route_rule, :route_plan, :tenant, :callback_url, :callback_events,
    :payload, :flash, :send_at)
"""


def accept_messages(
    c: sqlite3.Connection,
    messages: Sequence[NewMessage],
    now: float,
    *,
    state: MessageState = MessageState.QUEUED,
    campaign_id: int | None = None,
    lease: Lease | None = None,
) -> list[Accepted]:
    """Store ``messages`` in the caller's transaction (see :func:`.accept.message_rows`)."""
    batch = AcceptBatch.of(messages)
    keys = batch.keys()
    known: dict[str, int] = {}
    if keys:
        known = dict(
            c.execute(
                "SELECT idempotency_key, id FROM messages "
                "WHERE idempotency_key IN (SELECT value FROM json_each(?))",
                (json.dumps(keys),),
            ).fetchall()
        )
    row = c.execute("SELECT value FROM counters WHERE name = 'last_message_id'").fetchone()
    last_id = int(row[0]) if row else 0
    ids: list[tuple[int, bool]] = []
    fresh = []
    counts = StateCounts()
    for message, values in zip(
        batch.distinct,
        message_rows(batch.distinct, now, state=state, campaign_id=campaign_id, lease=lease),
        strict=True,
    ):
        key = message.idempotency_key
        if key is not None and key in known:
            ids.append((known[key], True))
            continue
        last_id += 1
        ids.append((last_id, False))
        values["id"] = last_id
        fresh.append(values)
        counts.add(message.smsc, values["state"])
    if fresh:
        c.executemany(_INSERT, fresh)
        c.execute(
            "INSERT INTO counters (name, value) VALUES ('last_message_id', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (last_id,),
        )
        counts.write(c)
        write_outbox(c, accepted_callbacks(fresh))
    return accepted(batch, ids)
