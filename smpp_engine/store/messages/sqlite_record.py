"""``record()`` on SQLite: load what a batch touches, apply the rules, write back what changed.

The rules are :mod:`.rules`'s; this module only reads and writes. One
batch costs a fixed number of statements whatever its size: the messages,
parts and held receipts it names are read with one query each, and the changes
go back with ``executemany``, each UPDATE assigning only the columns that
changed (SQLite maintains an index whenever one of its columns is assigned,
changed or not).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter

from ..callbacks.sqlite import write_outbox
from .model import Update
from .rules import (
    MESSAGE_COLUMNS,
    PART_COLUMNS,
    AppliedUpdate,
    HeldReceipt,
    MessageRow,
    PartRow,
    RecordBatch,
    split_dispatching,
)

__all__ = ["StateCounts", "apply_updates", "write_state_changes"]


class StateCounts:
    """Per-(smsc, state) changes of one transaction, written to ``state_counts`` at the end."""

    __slots__ = ("_deltas",)

    def __init__(self) -> None:
        self._deltas: dict[tuple[str, str], int] = {}

    def add(self, smsc: str, state: str, n: int = 1) -> None:
        key = (smsc, state)
        self._deltas[key] = self._deltas.get(key, 0) + n

    def move(self, smsc: str, old: str, new: str, n: int = 1) -> None:
        if old != new:
            self.add(smsc, old, -n)
            self.add(smsc, new, n)

    def write(self, connection: sqlite3.Connection) -> None:
        write_state_changes(connection, self._deltas)


def write_state_changes(connection: sqlite3.Connection, deltas: dict[tuple[str, str], int]) -> None:
    rows = [(smsc, state, n) for (smsc, state), n in deltas.items() if n]
    if rows:
        connection.executemany(
            "INSERT INTO state_counts (smsc, state, n) VALUES (?, ?, ?) "
            "ON CONFLICT (smsc, state) DO UPDATE SET n = n + excluded.n",
            rows,
        )


def _json(values: Iterable[object]) -> str:
    return json.dumps(list(values))


_LOAD_MESSAGES = (
    "SELECT m.id, m.smsc, m.state, m.parts, m.not_before, m.possible_duplicate, m.error_code, "
    "m.updated_at, m.campaign_id, m.unclean_stops, m.tenant, m.callback_url, m.callback_events, "
    "p.part, p.state, p.bind, p.smsc_message_id, "
    "p.submitted_at, p.responded_at, p.command_status, p.receipt_at, p.receipt_error, p.done_at, "
    "p.smsc "
    "FROM messages m LEFT JOIN message_parts p ON p.message_id = m.id "
    "WHERE m.id IN (SELECT value FROM json_each(?))"
)
_MESSAGE_WIDTH = 13  # the columns of MessageRow, then the part's

_INSERT_PART = (
    "INSERT INTO message_parts (state, bind, smsc_message_id, submitted_at, responded_at, "
    "command_status, receipt_at, receipt_error, done_at, smsc, message_id, part) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_part_row = attrgetter(*PART_COLUMNS, "message_id", "part")


class _Writes:
    """UPDATE statements and row getters per set of changed columns, built once each."""

    def __init__(self, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> None:
        self.table = table
        self.columns = columns
        self.keys = keys
        self._cache: dict[int, tuple[str, Callable[[object], tuple[object, ...]]]] = {}

    def get(self, mask: int) -> tuple[str, Callable[[object], tuple[object, ...]]]:
        entry = self._cache.get(mask)
        if entry is None:
            chosen = [c for i, c in enumerate(self.columns) if mask & (1 << i)]
            # Table and column names are the constants of this module, never input.
            assignments = ", ".join(f"{c} = ?" for c in chosen)
            where = " AND ".join(f"{k} = ?" for k in self.keys)
            entry = (
                f"UPDATE {self.table} SET {assignments} WHERE {where}",
                attrgetter(*chosen, *self.keys),
            )
            self._cache[mask] = entry
        return entry

    def write(self, connection: sqlite3.Connection, rows: Iterable[MessageRow | PartRow]) -> None:
        groups: dict[int, list[MessageRow | PartRow]] = {}
        for row in rows:
            groups.setdefault(row.changed, []).append(row)
        for mask, group in groups.items():
            statement, values = self.get(mask)
            connection.executemany(statement, [values(row) for row in group])


# The row keys are "id" for messages: MESSAGE_COLUMNS names the others.
_MESSAGE_WRITES = _Writes("messages", MESSAGE_COLUMNS, ("id",))
_PART_WRITES = _Writes("message_parts", PART_COLUMNS, ("message_id", "part"))


def _load_messages(c: sqlite3.Connection, batch: RecordBatch, ids: set[int]) -> None:
    if not ids:
        return
    messages = batch.messages
    for row in c.execute(_LOAD_MESSAGES, (_json(ids),)):
        message = messages.get(row[0])
        if message is None:
            message = batch.add(MessageRow(row[:_MESSAGE_WIDTH]))
        if row[_MESSAGE_WIDTH] is not None:
            part = PartRow(row[0], row[_MESSAGE_WIDTH], row[1]).load(row[_MESSAGE_WIDTH + 1 :])
            message.part_rows[part.part] = part


def _load(c: sqlite3.Connection, batch: RecordBatch, updates: Sequence[AppliedUpdate]) -> None:
    _load_messages(c, batch, batch.message_ids(updates))
    # The newest message carrying each SMSC id the receipts name.
    carriers: dict[tuple[str, str], int] = {}
    for smsc, smsc_ids in batch.receipt_lookups(updates).items():
        for message_id, smsc_id in c.execute(
            "SELECT message_id, smsc_message_id FROM message_parts "
            "WHERE smsc = ? AND smsc_message_id IN (SELECT value FROM json_each(?))",
            (smsc, _json(smsc_ids)),
        ):
            key = (smsc, smsc_id)
            if carriers.get(key, 0) < message_id:
                carriers[key] = message_id
    _load_messages(c, batch, {i for i in carriers.values() if i not in batch.messages})
    batch.index_parts()
    submitted = batch.submitted_keys(updates)
    if submitted:
        _load_held(c, batch, submitted)


def _load_held(c: sqlite3.Connection, batch: RecordBatch, submitted: set[tuple[str, str]]) -> None:
    if c.execute("SELECT 1 FROM held_receipts LIMIT 1").fetchone() is None:
        return  # the usual case: receipts came after their submit_sm_resp
    wanted: dict[str, set[str]] = {}
    for smsc, smsc_id in submitted:
        wanted.setdefault(smsc, set()).add(smsc_id)
    for smsc, smsc_ids in wanted.items():
        for row_id, smsc_id, state, received_at, error, done_at in c.execute(
            "SELECT id, smsc_message_id, state, received_at, error, done_at FROM held_receipts "
            "WHERE smsc = ? AND smsc_message_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (smsc, _json(smsc_ids)),
        ):
            batch.hold(
                HeldReceipt(
                    row_id,
                    smsc,
                    smsc_id,
                    state=state,
                    received_at=received_at,
                    error=error,
                    done_at=done_at,
                )
            )


def _write(c: sqlite3.Connection, batch: RecordBatch) -> None:
    changed = batch.changed_messages()
    _MESSAGE_WRITES.write(c, changed)
    parts = batch.changed_parts(changed)
    new = [_part_row(p) for p in parts if not p.stored]
    if new:
        c.executemany(_INSERT_PART, new)
    _PART_WRITES.write(c, [p for p in parts if p.stored])
    if batch.events:
        c.executemany(
            "INSERT INTO message_events (message_id, at, event, detail) VALUES (?, ?, ?, ?)",
            batch.events,
        )
    if batch.held_applied:
        c.executemany("DELETE FROM held_receipts WHERE id = ?", [(i,) for i in batch.held_applied])
    still_held = [
        (h.smsc, h.smsc_message_id, h.state, h.received_at, h.error, h.done_at)
        for h in batch.still_held()
    ]
    if still_held:
        c.executemany(
            "INSERT INTO held_receipts (smsc, smsc_message_id, state, received_at, error, "
            "done_at) VALUES (?, ?, ?, ?, ?, ?)",
            still_held,
        )
    write_state_changes(c, batch.state_changes(changed))
    write_outbox(c, batch.outbox_rows(changed))
    counters = batch.counters()
    if counters:
        c.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            counters,
        )


def apply_updates(connection: sqlite3.Connection, updates: Sequence[Update]) -> None:
    """Apply ``updates`` in order inside the caller's transaction."""
    dispatched, applied = split_dispatching(updates)
    if dispatched:
        connection.execute(
            "UPDATE messages SET dispatched = 1 "
            "WHERE id IN (SELECT value FROM json_each(?)) AND state = 'submitting'",
            (_json(dispatched),),
        )
    if not applied:
        return
    campaign_states: dict[int, str | None] = {}

    def campaign_state(campaign_id: int) -> str | None:
        # Read once per campaign, only when a retry requeues one of its messages.
        if campaign_id not in campaign_states:
            row = connection.execute(
                "SELECT state FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
            campaign_states[campaign_id] = None if row is None else row[0]
        return campaign_states[campaign_id]

    batch = RecordBatch(campaign_state)
    _load(connection, batch, applied)
    batch.apply_all(applied)
    _write(connection, batch)
