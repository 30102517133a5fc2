"""``record()`` on PostgreSQL: load what a batch touches, apply the rules, write back what changed.

The rules are :mod:`.rules`'s; this module only reads and writes. The
batch's messages are locked and read in a few set-based queries, and everything
changed is written back in one statement of array parameters: a batch costs the
same handful of round trips whatever its size.

Receipts that beat their submit_sm_resp are held. Two processes can record a
receipt and its PartSubmitted at the same moment, each unable to see the other's
uncommitted row; an advisory lock closes that gap: a transaction that records
PartSubmitted takes it shared (they run side by side), one that is about to hold
a receipt takes it exclusive and looks for the part again once it has it.

A retry of a campaign's message requeues it as its campaign's state says; that
state is read under a shared lock (see :func:`_lock_campaigns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..postgres_plans import planned_once
from .model import (
    PartSubmitted,
    ReceiptArrived,
    ReceiptNoted,
    Rerouted,
    SubmitFailed,
    SubmitUnknown,
    Update,
)
from .rules import (
    AppliedUpdate,
    HeldReceipt,
    MessageRow,
    PartRow,
    RecordBatch,
    split_dispatching,
)

__all__ = ["record_batch"]

_HOLD_LOCK = 0x736D_7070_686F_6C64  # "smpphold"

# The parts the batch's receipts name, and the keys its PartSubmitted updates will
# make known: a receipt matching neither is about to be held. "= ANY(array)"
# rather than a join on unnest: a lookup by index for each id, whatever the plan.
_FIND_RECEIPT_PARTS = """
SELECT p.message_id, p.smsc, p.smsc_message_id
FROM message_parts AS p
WHERE p.smsc_message_id = ANY($1::text[]) AND p.smsc = ANY($2::text[])
UNION ALL
SELECT NULL, coalesce(nullif(s.smsc, ''), m.smsc), s.smsc_message_id
FROM unnest($3::bigint[], $4::text[], $5::text[]) AS s (message_id, smsc_message_id, smsc)
-- OFFSET 0 keeps the lookup a lookup: joined flat, a plan made on an empty table's
-- statistics may read every message by its primary key.
CROSS JOIN LATERAL (SELECT m.smsc FROM messages AS m WHERE m.id = s.message_id OFFSET 0) AS m
"""

# The columns of message_rules.MESSAGE_ROW. ORDER BY id: every transaction locks
# messages in the same order, so two batches touching the same messages wait for
# each other instead of deadlocking.
_LOCK_MESSAGES = """
SELECT id, smsc, state, parts, not_before, possible_duplicate, error_code, updated_at,
       campaign_id, unclean_stops, tenant, callback_url, callback_events
FROM messages WHERE id = ANY($1::bigint[])
ORDER BY id
FOR UPDATE
"""

# A message's Dispatching comes before any answer to it; the mark means something
# only while SUBMITTING. Locked in id order ($1 sorted), as every batch locks. Each
# message is found by its id alone (a LATERAL subquery per id), its state checked
# once locked: with the state in the lookup, a plan made once may read every
# SUBMITTING message (their partial index) and filter the ids.
_MARK_DISPATCHED = """
UPDATE messages SET dispatched = true
WHERE id = ANY (ARRAY(
    SELECT locked.id FROM unnest($1::bigint[]) AS t (id)
    CROSS JOIN LATERAL (
        -- OFFSET 0: the state is not pushed into the lookup.
        SELECT m.id, m.state FROM messages AS m WHERE m.id = t.id OFFSET 0 FOR UPDATE
    ) AS locked
    WHERE locked.state = 'submitting'
))
"""

# FOR SHARE, not FOR KEY SHARE: it must wait for a state change in progress.
_LOCK_CAMPAIGNS = """
SELECT id, state FROM campaigns WHERE id = ANY($1::bigint[]) ORDER BY id FOR SHARE
"""

# message_id, part, then the columns of message_rules.PART_COLUMNS.
_LOAD_PARTS = """
SELECT message_id, part, state, bind, smsc_message_id, submitted_at, responded_at,
       command_status, receipt_at, receipt_error, done_at, smsc
FROM message_parts WHERE message_id = ANY($1::bigint[])
"""

# Matched to the exact (smsc, id) pairs afterwards, in Python. Found by their keys
# first, then locked in id order: asked in one query, a plan made on an empty
# table's statistics may read every held receipt in id order to spare the sort.
_LOAD_HELD = """
SELECT id, smsc, smsc_message_id, state, received_at, error, done_at
FROM held_receipts
WHERE id = ANY (ARRAY(
    SELECT h.id FROM held_receipts AS h
    WHERE h.smsc_message_id = ANY($1::text[]) AND h.smsc = ANY($2::text[])
))
ORDER BY id
FOR UPDATE
"""

_PART_VALUES = (
    "message_id bigint, part integer, state text, bind text, smsc text, smsc_message_id text, "
    "submitted_at float8, responded_at float8, command_status integer, receipt_at float8, "
    "receipt_error text, done_at float8"
)


def _compose(ctes: Sequence[tuple[str, str, int]]) -> str:
    """One statement of data-modifying CTEs; each takes ``count`` array parameters,
    written ``{}`` (or ``{0}``, ``{1}``...) in its text and numbered here in order."""
    pieces = []
    number = 1
    for name, text, count in ctes:
        pieces.append(f"{name} AS ({text.format(*(f'${number + i}' for i in range(count)))})")
        number += count
    return "WITH " + ",\n".join(pieces) + "\nSELECT 1"


def _unnest(columns: str) -> str:
    """``unnest`` of one array parameter per column of ``columns`` ("name type, ..."),
    written ``{0}``, ``{1}``... so the statement can name a column's array again."""
    typed = [column.split() for column in columns.split(", ")]
    arrays = ", ".join(f"{{{n}}}::{kind}[]" for n, (_, kind) in enumerate(typed))
    names = ", ".join(name for name, _ in typed)
    return f"unnest({arrays}) AS u ({names})"


_WRITE = _compose(
    [
        (
            "parts_inserted",
            "INSERT INTO message_parts (message_id, part, state, bind, smsc, smsc_message_id, "
            "submitted_at, responded_at, command_status, receipt_at, receipt_error, done_at) "
            f"SELECT * FROM {_unnest(_PART_VALUES)}",
            12,
        ),
        (
            "parts_updated",
            "UPDATE message_parts AS p SET state = u.state, bind = u.bind, smsc = u.smsc, "
            "smsc_message_id = u.smsc_message_id, submitted_at = u.submitted_at, "
            "responded_at = u.responded_at, command_status = u.command_status, "
            "receipt_at = u.receipt_at, receipt_error = u.receipt_error, done_at = u.done_at "
            f"FROM {_unnest(_PART_VALUES)} "
            "WHERE p.message_id = u.message_id AND p.part = u.part "
            # The ids again, as a condition on the table: whatever join a plan made
            # on an empty table's statistics chose, it reads the parts by id.
            "AND p.message_id = ANY({0}::bigint[])",
            12,
        ),
        (
            "messages_written",
            "UPDATE messages AS m SET state = u.state, updated_at = u.updated_at, "
            "not_before = u.not_before, possible_duplicate = u.possible_duplicate, "
            "error_code = u.error_code, unclean_stops = u.unclean_stops, smsc = u.smsc "
            "FROM "
            + _unnest(
                "id bigint, state text, updated_at float8, not_before float8, "
                "possible_duplicate boolean, error_code integer, unclean_stops integer, "
                "smsc text"
            )
            + " WHERE m.id = u.id AND m.id = ANY({0}::bigint[])",
            8,
        ),
        (
            "events_written",
            "INSERT INTO message_events (message_id, at, event, detail) SELECT * FROM "
            + _unnest("message_id bigint, at float8, event text, detail text"),
            4,
        ),
        ("held_consumed", "DELETE FROM held_receipts WHERE id = ANY({}::bigint[])", 1),
        (
            "held_written",
            "INSERT INTO held_receipts (smsc, smsc_message_id, state, received_at, error, "
            "done_at) SELECT * FROM "
            + _unnest(
                "smsc text, smsc_message_id text, state text, received_at float8, "
                "error text, done_at float8"
            ),
            6,
        ),
        (
            "states_counted",
            "INSERT INTO state_count_changes (smsc, state, delta) SELECT * FROM "
            + _unnest("smsc text, state text, delta bigint"),
            3,
        ),
        (
            "callbacks_written",
            "INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at, "
            "created_at) SELECT message_id, tenant, url, event, at, at, at FROM "
            "unnest({}::bigint[], {}::text[], {}::text[], {}::text[], {}::float8[]) "
            "WITH ORDINALITY AS u (message_id, tenant, url, event, at, n) ORDER BY n",
            5,
        ),
        (
            "counters_counted",
            "INSERT INTO store_counter_changes (name, delta) SELECT * FROM "
            + _unnest("name text, delta bigint"),
            2,
        ),
    ]
)


async def record_batch(connection: Any, updates: Sequence[Update]) -> None:
    """Apply ``updates`` in one transaction on ``connection`` (on the bridge's loop), its
    statements on plans made once per connection (see :mod:`..postgres_plans`)."""
    dispatched, applied = split_dispatching(updates)
    message_ids = RecordBatch.message_ids(applied)
    receipt_keys = {
        (u.smsc, u.smsc_message_id) for u in applied if isinstance(u, ReceiptArrived | ReceiptNoted)
    }
    # Intermediate notes are never held: only final receipts wait for their submit.
    final_keys = {(u.smsc, u.smsc_message_id) for u in applied if isinstance(u, ReceiptArrived)}
    submitted = [u for u in applied if isinstance(u, PartSubmitted)]
    async with planned_once(connection):
        if dispatched:
            await connection.execute(_MARK_DISPATCHED, sorted(dispatched))
        if not applied:
            return
        receipt_messages: set[int] = set()
        may_hold = False
        if receipt_keys:
            receipt_messages, known = await _find_receipt_parts(connection, receipt_keys, submitted)
            may_hold = bool(final_keys - known)
        if may_hold:
            # Wait for every PartSubmitted in flight elsewhere, then look again:
            # now all of them are visible.
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _HOLD_LOCK)
            receipt_messages, _ = await _find_receipt_parts(connection, receipt_keys, [])
        elif submitted:
            await connection.execute("SELECT pg_advisory_xact_lock_shared($1)", _HOLD_LOCK)

        campaign_states: dict[int, str] = {}
        batch = RecordBatch(campaign_states.get)
        await _load(connection, batch, message_ids | receipt_messages)
        campaign_states.update(await _lock_campaigns(connection, applied, batch))
        batch.index_parts()
        submitted_keys = batch.submitted_keys(submitted)
        if submitted_keys:
            await _load_held(connection, batch, submitted_keys)
        batch.apply_all(applied)
        await connection.execute(_WRITE, *_write_arguments(batch))


async def _lock_campaigns(
    connection: Any, updates: Sequence[AppliedUpdate], batch: RecordBatch
) -> dict[int, str]:
    """The states of the campaigns of the messages the batch may requeue, locked shared.

    Locked, so a campaign being paused or cancelled at this moment is waited for
    and its new state decides: its messages never come back to the queue after
    the change has moved the queue. Most batches requeue nothing and skip this.
    """
    campaign_ids = {
        message.campaign_id
        for update in updates
        if (isinstance(update, SubmitFailed | SubmitUnknown) and update.retry_at is not None)
        or isinstance(update, Rerouted)
        if (message := batch.messages.get(update.message_id)) is not None
        and message.campaign_id is not None
    }
    if not campaign_ids:
        return {}
    rows = await connection.fetch(_LOCK_CAMPAIGNS, sorted(campaign_ids))
    return {row["id"]: row["state"] for row in rows}


async def _find_receipt_parts(
    connection: Any, receipt_keys: set[tuple[str, str]], submitted: list[PartSubmitted]
) -> tuple[set[int], set[tuple[str, str]]]:
    """The messages owning the receipts' parts, and the keys known (stored or in this batch)."""
    rows = await connection.fetch(
        _FIND_RECEIPT_PARTS,
        list({key[1] for key in receipt_keys}),
        list({key[0] for key in receipt_keys}),
        [update.message_id for update in submitted],
        [update.smsc_message_id for update in submitted],
        [update.smsc for update in submitted],
    )
    known = {(row["smsc"], row["smsc_message_id"]) for row in rows}
    owners = {
        row["message_id"]
        for row in rows
        if row["message_id"] is not None and (row["smsc"], row["smsc_message_id"]) in receipt_keys
    }
    return owners, known


async def _load(connection: Any, batch: RecordBatch, message_ids: set[int]) -> None:
    if not message_ids:
        return
    ids = sorted(message_ids)
    for row in await connection.fetch(_LOCK_MESSAGES, ids):
        batch.add(MessageRow(tuple(row)))
    for row in await connection.fetch(_LOAD_PARTS, ids):
        message = batch.messages[row[0]]
        message.part_rows[row[1]] = PartRow(row[0], row[1], message.smsc).load(tuple(row)[2:])


async def _load_held(connection: Any, batch: RecordBatch, keys: set[tuple[str, str]]) -> None:
    rows = await connection.fetch(
        _LOAD_HELD, list({key[1] for key in keys}), list({key[0] for key in keys})
    )
    for row in rows:
        if (row["smsc"], row["smsc_message_id"]) in keys:
            batch.hold(
                HeldReceipt(
                    row["id"],
                    row["smsc"],
                    row["smsc_message_id"],
                    state=row["state"],
                    received_at=row["received_at"],
                    error=row["error"],
                    done_at=row["done_at"],
                )
            )


def _columns(rows: Sequence[Any], *names: str) -> list[list[Any]]:
    """One list per attribute ``names``, across ``rows``: the array parameters of _WRITE."""
    return [[getattr(row, name) for row in rows] for name in names]


_PART_ARGUMENTS = (
    "message_id",
    "part",
    "state",
    "bind",
    "smsc",
    "smsc_message_id",
    "submitted_at",
    "responded_at",
    "command_status",
    "receipt_at",
    "receipt_error",
    "done_at",
)


def _write_arguments(batch: RecordBatch) -> list[Any]:
    messages = sorted(batch.changed_messages(), key=lambda m: m.id)
    parts = batch.changed_parts(messages)
    events = batch.events
    held = batch.still_held()
    state_changes = batch.state_changes(messages)
    counters = batch.counters()
    outbox = batch.outbox_rows(messages)
    return [
        *_columns([p for p in parts if not p.stored], *_PART_ARGUMENTS),
        *_columns([p for p in parts if p.stored], *_PART_ARGUMENTS),
        *_columns(
            messages,
            "id",
            "state",
            "updated_at",
            "not_before",
            "possible_duplicate",
            "error_code",
            "unclean_stops",
            "smsc",
        ),
        [e[0] for e in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [e[3] for e in events],
        batch.held_applied,
        *_columns(held, "smsc", "smsc_message_id", "state", "received_at", "error", "done_at"),
        [key[0] for key in state_changes],
        [key[1] for key in state_changes],
        list(state_changes.values()),
        *_columns(outbox, "message_id", "tenant", "url", "event", "occurred_at"),
        [name for name, _ in counters],
        [n for _, n in counters],
    ]
