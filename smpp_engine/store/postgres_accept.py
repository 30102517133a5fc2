"""Accepting messages into PostgreSQL: one statement per batch, idempotency keys honoured.

Shared by :meth:`PostgresStore.accept` and the campaigns' ``add_campaign_messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import StoreError
from .model import Accepted, MessageState, NewMessage

__all__ = ["accept_messages"]

_ACCEPT = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::text[],
                         $6::integer[], $7::integer[], $8::text[], $9::integer[], $10::integer[],
                         $11::boolean[], $12::float8[], $13::float8[], $14::text[], $15::bigint[])
        WITH ORDINALITY
        AS t (smsc, source, source_ton, source_npi, destination, dest_ton, dest_npi, text,
              parts, priority, registered_delivery, not_before, expires_at, idempotency_key,
              campaign_id, ord)
), fresh AS MATERIALIZED (
    -- Ids drawn only for keys not stored yet (no gaps but for a race on a key), in
    -- input order: nextval runs after the sort.
    SELECT nextval('messages_id_seq') AS id, input.*
    FROM input
    WHERE input.idempotency_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM messages AS m WHERE m.idempotency_key = input.idempotency_key)
    ORDER BY input.ord
), inserted AS (
    INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton,
        dest_npi, text, parts, priority, registered_delivery, not_before, expires_at,
        idempotency_key, campaign_id, state, created_at, updated_at)
    SELECT id, smsc, source, source_ton, source_npi, destination, dest_ton, dest_npi, text,
        parts, priority, registered_delivery, not_before, expires_at, idempotency_key,
        campaign_id, $17::text, $16, $16
    FROM fresh ORDER BY id
    -- A concurrent accept of the same key, committed after the check above.
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, smsc, parts, priority
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $16, 'accepted', format('parts=%s priority=%s', parts, priority)
    FROM inserted ORDER BY id
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, $17::text, count(*) FROM inserted GROUP BY smsc
)
SELECT inserted.id
FROM input
LEFT JOIN fresh USING (ord)
LEFT JOIN inserted ON inserted.id = fresh.id
ORDER BY input.ord
"""

_FIND_KEYS = "SELECT idempotency_key, id FROM messages WHERE idempotency_key = ANY($1::text[])"


async def accept_messages(
    connection: Any,
    messages: Sequence[NewMessage],
    now: float,
    *,
    state: MessageState = MessageState.QUEUED,
    campaign_id: int | None = None,
) -> list[Accepted]:
    """Store ``messages`` in ``state`` on ``connection`` (see :meth:`Store.accept`).

    ``campaign_id`` set: every message gets it, whatever it carries. Outside a
    transaction the insert is still atomic: it is one statement.
    """
    # Only the first message of a key goes to the database; later ones in the
    # batch are its duplicates.
    rows: list[NewMessage] = []
    row_of: list[tuple[int, bool]] = []  # per message: its row, and whether a repeat
    first_of_key: dict[str, int] = {}
    for message in messages:
        key = message.idempotency_key
        if key is not None and key in first_of_key:
            row_of.append((first_of_key[key], True))
            continue
        if key is not None:
            first_of_key[key] = len(rows)
        row_of.append((len(rows), False))
        rows.append(message)
    records = await connection.fetch(_ACCEPT, *_accept_columns(rows, campaign_id), now, state.value)
    ids: list[int | None] = [record["id"] for record in records]
    known: dict[str, int] = {}
    stood_down = [row.idempotency_key for row, id_ in zip(rows, ids, strict=True) if id_ is None]
    if stood_down:
        # Their keys were stored already, or by a concurrent accept since:
        # a statement of its own sees that one committed.
        for record in await connection.fetch(_FIND_KEYS, stood_down):
            known[record["idempotency_key"]] = record["id"]
    stored: list[Accepted] = []
    for row, id_ in zip(rows, ids, strict=True):
        if id_ is not None:
            stored.append(Accepted(id_))
        elif row.idempotency_key in known:
            stored.append(Accepted(known[row.idempotency_key], duplicate=True))
        else:
            raise StoreError("postgresql", f"accept: key {row.idempotency_key!r} vanished")
    return [
        Accepted(stored[row].message_id, duplicate=True) if repeat else stored[row]
        for row, repeat in row_of
    ]


def _accept_columns(rows: list[NewMessage], campaign_id: int | None) -> list[list[Any]]:
    return [
        [m.smsc for m in rows],
        [m.source for m in rows],
        [m.source_ton for m in rows],
        [m.source_npi for m in rows],
        [m.destination for m in rows],
        [m.dest_ton for m in rows],
        [m.dest_npi for m in rows],
        [m.text for m in rows],
        [m.parts for m in rows],
        [m.priority for m in rows],
        [m.registered_delivery for m in rows],
        [m.not_before for m in rows],
        [m.expires_at for m in rows],
        [m.idempotency_key for m in rows],
        [m.campaign_id for m in rows] if campaign_id is None else [campaign_id] * len(rows),
    ]
