"""Accepting messages into PostgreSQL (rules: :mod:`.accept`): one statement per
batch, idempotency keys honoured.

Shared by :meth:`PostgresStore.accept`, the campaigns' ``add_campaign_messages``
and the billing reply's save. The rows arrive as one array of the table's own
row type (asyncpg fills each record from a dict by column name), whose length
the planner sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import StoreError
from .accept import (
    ACCEPTED_EVENT,
    AcceptBatch,
    Lease,
    accepted,
    accepted_callbacks,
    accepted_detail,
    message_rows,
)
from .model import Accepted, MessageState, NewMessage

__all__ = ["accept_ctes", "accept_messages", "accept_parameters"]


def accept_ctes(
    rows: str, event: str, details: str, asked: str, guard: str = "true", *, racing: bool = True
) -> str:
    """The common table expressions that accept ``rows`` (a ``messages[]`` parameter),
    among them ``fresh`` (each new message's ``new_id`` by its ``ordinality`` in
    ``rows``) and ``inserted`` (those stored, ``RETURNING id, smsc, state``).
    ``event``, ``details`` and ``asked`` name the other parameters (see
    :func:`accept_parameters`); nothing is accepted unless ``guard`` holds, so that
    a larger statement can make the accept one of its writes. A key stored by a
    concurrent accept once the statement has looked is left out of ``inserted``
    (``racing``), or fails the whole statement."""
    conflict = (
        "-- A concurrent accept of the same key, committed after the check above.\n"
        "    ON CONFLICT (idempotency_key) DO NOTHING"
        if racing
        else "-- A concurrent accept of the same key fails the statement."
    )
    return f"""
input AS (
    SELECT * FROM unnest({rows}::messages[]) WITH ORDINALITY AS t
), fresh AS MATERIALIZED (
    -- Ids drawn only for keys not stored yet (no gaps but for a race on a key), in
    -- input order: nextval runs after the sort. Each key is looked up by the index:
    -- a LATERAL subquery runs per row, where a NOT EXISTS may be planned as one pass
    -- over every key stored (a generic plan made while the table was small did so).
    SELECT nextval('messages_id_seq') AS new_id, input.*
    FROM input
    LEFT JOIN LATERAL (
        SELECT true AS stored FROM messages AS m
        WHERE m.idempotency_key = input.idempotency_key LIMIT 1
    ) AS key ON true
    WHERE key.stored IS NULL AND {guard}
    ORDER BY input.ordinality
), inserted AS (
    INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton,
        dest_npi, text, parts, priority, registered_delivery, not_before, expires_at,
        idempotency_key, campaign_id, state, attempts, lease_owner, lease_until, dispatched,
        created_at, updated_at, route_rule, route_plan, tenant, callback_url, callback_events,
        payload, flash, send_at)
    SELECT new_id, smsc, source, source_ton, source_npi, destination, dest_ton, dest_npi, text,
        parts, priority, registered_delivery, not_before, expires_at, idempotency_key,
        campaign_id, state, attempts, lease_owner, lease_until, dispatched, created_at,
        updated_at, route_rule, route_plan, tenant, callback_url, callback_events,
        payload, flash, send_at
    FROM fresh ORDER BY new_id
    {conflict}
    RETURNING id, smsc, state
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT fresh.new_id, fresh.created_at, {event}, ({details}::text[])[fresh.ordinality]
    FROM fresh JOIN inserted ON inserted.id = fresh.new_id ORDER BY fresh.new_id
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, state, count(*) FROM inserted GROUP BY smsc, state
), callbacks_written AS (
    -- {asked}: per input row, whether it asked for its "accepted" event (accept.py decides).
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT fresh.new_id, fresh.tenant, fresh.callback_url, {event}, fresh.created_at,
        fresh.created_at, fresh.created_at
    FROM fresh JOIN inserted ON inserted.id = fresh.new_id
    WHERE ({asked}::boolean[])[fresh.ordinality]
    ORDER BY fresh.new_id
)"""


_ACCEPT = (
    "WITH"
    + accept_ctes("$1", "$2", "$3", "$4")
    + """
SELECT inserted.id
FROM input
LEFT JOIN fresh USING (ordinality)
LEFT JOIN inserted ON inserted.id = fresh.new_id
ORDER BY input.ordinality
"""
)

_FIND_KEYS = "SELECT idempotency_key, id FROM messages WHERE idempotency_key = ANY($1::text[])"


def accept_parameters(
    messages: Sequence[NewMessage], rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str, list[str], list[bool]]:
    """The parameters of :func:`accept_ctes` for ``messages`` (distinct keys) and their
    ``rows`` (:func:`.accept.message_rows`): the rows, the event, each one's detail
    and whether it asked for its "accepted" callback."""
    details = [accepted_detail(m.parts, m.priority) for m in messages]
    # The "accepted" event's name is the accepted history event's too.
    asked = [accepted_callbacks([{**row, "id": 0}]) != [] for row in rows]
    return rows, ACCEPTED_EVENT, details, asked


async def accept_messages(
    connection: Any,
    messages: Sequence[NewMessage],
    now: float,
    *,
    state: MessageState = MessageState.QUEUED,
    campaign_id: int | None = None,
    lease: Lease | None = None,
) -> list[Accepted]:
    """Store ``messages`` on ``connection`` (see :func:`.accept.message_rows`).

    Outside a transaction the insert is still atomic: it is one statement.
    """
    batch = AcceptBatch.of(messages)
    rows = message_rows(batch.distinct, now, state=state, campaign_id=campaign_id, lease=lease)
    records = await connection.fetch(_ACCEPT, *accept_parameters(batch.distinct, rows))
    new_ids: list[int | None] = [record["id"] for record in records]
    known: dict[str, int] = {}
    stood_down = [
        m.idempotency_key for m, id_ in zip(batch.distinct, new_ids, strict=True) if id_ is None
    ]
    if stood_down:
        # Their keys were stored already, or by a concurrent accept since:
        # a statement of its own sees that one committed.
        for record in await connection.fetch(_FIND_KEYS, stood_down):
            known[record["idempotency_key"]] = record["id"]
    ids: list[tuple[int, bool]] = []
    for message, id_ in zip(batch.distinct, new_ids, strict=True):
        if id_ is not None:
            ids.append((id_, False))
        elif message.idempotency_key in known:
            ids.append((known[message.idempotency_key], True))
        else:
            raise StoreError("postgresql", f"accept: key {message.idempotency_key!r} vanished")
    return accepted(batch, ids)
