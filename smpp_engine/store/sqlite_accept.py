"""Accepting messages into SQLite: ids assigned in the batch, rows written with ``executemany``.

Shared by :meth:`SqliteStore.accept` and the campaigns' ``add_campaign_messages``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from .model import Accepted, MessageState, NewMessage
from .sqlite_updates import StateCounts

__all__ = ["accept_messages"]


def accept_messages(
    c: sqlite3.Connection,
    messages: Sequence[NewMessage],
    now: float,
    *,
    state: MessageState = MessageState.QUEUED,
    campaign_id: int | None = None,
) -> list[Accepted]:
    """Store ``messages`` in ``state`` inside the caller's transaction (see :meth:`Store.accept`).

    ``campaign_id`` set: every message gets it, whatever it carries.
    """
    keys = {m.idempotency_key for m in messages if m.idempotency_key is not None}
    known: dict[str, int] = {}
    if keys:
        known = dict(
            c.execute(
                "SELECT idempotency_key, id FROM messages "
                "WHERE idempotency_key IN (SELECT value FROM json_each(?))",
                (json.dumps(list(keys)),),
            ).fetchall()
        )
    row = c.execute("SELECT value FROM counters WHERE name = 'last_message_id'").fetchone()
    last_id = int(row[0]) if row else 0
    result: list[Accepted] = []
    rows: list[tuple[object, ...]] = []
    counts = StateCounts()
    for m in messages:
        key = m.idempotency_key
        if key is not None and key in known:
            result.append(Accepted(known[key], duplicate=True))
            continue
        last_id += 1
        if key is not None:
            known[key] = last_id
        result.append(Accepted(last_id))
        rows.append(
            (
                last_id,
                m.smsc,
                m.source,
                m.source_ton,
                m.source_npi,
                m.destination,
                m.dest_ton,
                m.dest_npi,
                m.text,
                m.parts,
                m.priority,
                int(m.registered_delivery),
                m.not_before,
                m.expires_at,
                key,
                m.campaign_id if campaign_id is None else campaign_id,
                state.value,
                now,
                now,
            )
        )
        counts.add(m.smsc, state.value)
    if rows:
        c.executemany(
            "INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, "
            "dest_ton, dest_npi, text, parts, priority, registered_delivery, not_before, "
            "expires_at, idempotency_key, campaign_id, state, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        c.execute(
            "INSERT INTO counters (name, value) VALUES ('last_message_id', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (last_id,),
        )
        counts.write(c)
    return result
