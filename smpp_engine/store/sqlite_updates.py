"""Applying a batch of updates in SQLite: load what it touches, apply in order, write back.

One batch costs a fixed number of statements whatever its size: the messages,
parts and held receipts it names are read with one query each, the updates are
applied in memory in order (so a receipt after its PartSubmitted in the same
batch finds it, and a message moved twice is written once), and the changes go
back with ``executemany``. A retry of a campaign's message requeues it as its
campaign's state says (HELD while paused or a draft, CANCELLED once cancelled).

States are plain strings in here: a StrEnum member equals and hashes like its
value, so the sets below answer for both, and rows bind without enum adaptation
(this is the hot path of the embedded store).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

from .campaign_model import waiting_state
from .model import (
    FINAL_STATES,
    Dispatching,
    MessageState,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    SubmitFailed,
    SubmitUnknown,
    Update,
)

__all__ = [
    "ANSWERED_PART_STATES",
    "RECEIPT_PART_STATES",
    "StateCounts",
    "apply_updates",
]

RECEIPT_PART_STATES: frozenset[str] = frozenset(
    {
        PartState.DELIVERED.value,
        PartState.UNDELIVERABLE.value,
        PartState.EXPIRED.value,
        PartState.REJECTED.value,
        PartState.DELETED.value,
        PartState.RECEIPT_UNKNOWN.value,
    }
)
"""The part states a receipt can give: final for the part."""

ANSWERED_PART_STATES: frozenset[str] = RECEIPT_PART_STATES | {PartState.SUBMITTED.value}
"""Parts the SMSC accepted (ESME_ROK): never submitted again."""

_MESSAGE_STATE_OF_RECEIPT = {
    PartState.DELIVERED.value: MessageState.DELIVERED.value,
    PartState.UNDELIVERABLE.value: MessageState.UNDELIVERABLE.value,
    PartState.EXPIRED.value: MessageState.EXPIRED.value,
    PartState.REJECTED.value: MessageState.REJECTED.value,
    PartState.DELETED.value: MessageState.DELETED.value,
    PartState.RECEIPT_UNKNOWN.value: MessageState.UNKNOWN.value,
}

# The updates applied to the batch's messages in memory (Dispatching is one statement).
_Applied = PartSubmitted | SubmitFailed | SubmitUnknown | ReceiptArrived

_FINAL: frozenset[str] = frozenset(s.value for s in FINAL_STATES)
_OPEN: frozenset[str] = frozenset(
    {MessageState.QUEUED.value, MessageState.HELD.value, MessageState.SUBMITTING.value}
)
_WAITING: frozenset[str] = frozenset({MessageState.QUEUED.value, MessageState.HELD.value})
_QUEUED = MessageState.QUEUED.value
_SUBMITTED = MessageState.SUBMITTED.value
_DELIVERED = MessageState.DELIVERED.value
_PART_PENDING = PartState.PENDING.value
_PART_SUBMITTED = PartState.SUBMITTED.value
_PART_DELIVERED = PartState.DELIVERED.value


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
        rows = [(smsc, state, n) for (smsc, state), n in self._deltas.items() if n]
        if rows:
            connection.executemany(
                "INSERT INTO state_counts (smsc, state, n) VALUES (?, ?, ?) "
                "ON CONFLICT (smsc, state) DO UPDATE SET n = n + excluded.n",
                rows,
            )


# Columns a row changed, as bits: UPDATEs assign only these, because SQLite
# maintains an index whenever one of its columns is assigned, changed or not.
_MESSAGE_COLUMNS = (
    "state",
    "not_before",
    "possible_duplicate",
    "error_code",
    "updated_at",
    "unclean_stops",
)
(
    _M_STATE,
    _M_NOT_BEFORE,
    _M_POSSIBLE_DUPLICATE,
    _M_ERROR_CODE,
    _M_UPDATED_AT,
    _M_UNCLEAN_STOPS,
) = (1 << i for i in range(len(_MESSAGE_COLUMNS)))
_PART_COLUMNS = (
    "state",
    "bind",
    "smsc_message_id",
    "submitted_at",
    "responded_at",
    "command_status",
    "receipt_at",
    "receipt_error",
    "done_at",
)
_P_SUBMITTED = 0b111111  # state .. command_status
_P_STATE, _P_COMMAND_STATUS = 1, 1 << 5
_P_RECEIPT = 1 | (0b111 << 6)  # state, receipt_at, receipt_error, done_at


class _Part:
    __slots__ = (
        "bind",
        "changed",
        "command_status",
        "done_at",
        "message_id",
        "part",
        "receipt_at",
        "receipt_error",
        "responded_at",
        "smsc",
        "smsc_message_id",
        "state",
        "stored",
        "submitted_at",
    )

    def __init__(self, message_id: int, part: int, smsc: str) -> None:
        self.message_id = message_id
        self.part = part
        self.smsc = smsc
        self.state: str = _PART_PENDING
        self.bind: str | None = None
        self.smsc_message_id: str | None = None
        self.submitted_at: float | None = None
        self.responded_at: float | None = None
        self.command_status: int | None = None
        self.receipt_at: float | None = None
        self.receipt_error: str | None = None
        self.done_at: float | None = None
        self.stored = False  # a row exists: UPDATE rather than INSERT
        self.changed = 0


class _Message:
    __slots__ = (
        "campaign_id",
        "changed",
        "error_code",
        "id",
        "not_before",
        "part_rows",
        "parts",
        "possible_duplicate",
        "smsc",
        "state",
        "stored_state",
        "unclean_stops",
        "updated_at",
    )

    def __init__(self, row: tuple[Any, ...]) -> None:
        # The columns of _LOAD_MESSAGES, in order.
        self.id: int = row[0]
        self.smsc: str = row[1]
        self.state: str = row[2]
        self.parts: int = row[3]
        self.not_before: float = row[4]
        self.possible_duplicate: int = row[5]
        self.error_code: int | None = row[6]
        self.updated_at: float = row[7]
        self.campaign_id: int | None = row[8]
        self.unclean_stops: int = row[9]
        self.stored_state = self.state
        self.part_rows: dict[int, _Part] = {}
        self.changed = 0

    def part(self, index: int) -> _Part:
        row = self.part_rows.get(index)
        if row is None:
            row = self.part_rows[index] = _Part(self.id, index, self.smsc)
        return row

    def all_parts_in(self, states: frozenset[str]) -> bool:
        rows = self.part_rows
        if self.parts == 1:  # most messages
            row = rows.get(0)
            return row is not None and row.state in states
        if len(rows) < self.parts:
            return False
        return all(rows[i].state in states for i in range(self.parts))

    def move(self, state: str) -> str:
        # The lease columns are left as they are: they mean something only while
        # SUBMITTING, and the lease index holds SUBMITTING rows only.
        self.state = state
        self.changed |= _M_STATE
        return f" -> {state}"

    def touch(self, at: float) -> None:
        self.updated_at = max(self.updated_at, at)
        self.changed |= _M_UPDATED_AT
        if self.unclean_stops:
            # An answer or a receipt: whatever stopped the gateway, this message went
            # through; its run of unclean stops is over.
            self.unclean_stops = 0
            self.changed |= _M_UNCLEAN_STOPS


class _Held:
    __slots__ = ("done_at", "error", "received_at", "row_id", "smsc", "smsc_message_id", "state")

    def __init__(
        self,
        row_id: int | None,  # None: held in this batch, not written yet
        smsc: str,
        smsc_message_id: str,
        *,
        state: str,
        received_at: float,
        error: str | None,
        done_at: float | None,
    ) -> None:
        self.row_id = row_id
        self.smsc = smsc
        self.smsc_message_id = smsc_message_id
        self.state = state
        self.received_at = received_at
        self.error = error
        self.done_at = done_at


def _json(values: Iterable[object]) -> str:
    return json.dumps(list(values))


_LOAD_MESSAGES = (
    "SELECT m.id, m.smsc, m.state, m.parts, m.not_before, m.possible_duplicate, m.error_code, "
    "m.updated_at, m.campaign_id, m.unclean_stops, p.part, p.state, p.bind, p.smsc_message_id, "
    "p.submitted_at, p.responded_at, p.command_status, p.receipt_at, p.receipt_error, p.done_at "
    "FROM messages m LEFT JOIN message_parts p ON p.message_id = m.id "
    "WHERE m.id IN (SELECT value FROM json_each(?))"
)

_INSERT_PART = (
    "INSERT INTO message_parts (state, bind, smsc_message_id, submitted_at, responded_at, "
    "command_status, receipt_at, receipt_error, done_at, message_id, part, smsc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_part_row = attrgetter(*_PART_COLUMNS, "message_id", "part", "smsc")


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

    def write(self, connection: sqlite3.Connection, rows: Iterable[_Message | _Part]) -> None:
        groups: dict[int, list[_Message | _Part]] = {}
        for row in rows:
            groups.setdefault(row.changed, []).append(row)
        for mask, group in groups.items():
            statement, values = self.get(mask)
            connection.executemany(statement, [values(row) for row in group])


_MESSAGE_WRITES = _Writes("messages", _MESSAGE_COLUMNS, ("id",))
_PART_WRITES = _Writes("message_parts", _PART_COLUMNS, ("message_id", "part"))


class _Batch:
    """The state one record() call works on."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.messages: dict[int, _Message] = {}
        # (smsc, smsc_message_id) -> the part that carries it (the newest message wins).
        self.by_smsc_id: dict[tuple[str, str], _Part] = {}
        self.held: dict[tuple[str, str], list[_Held]] = {}
        self.held_applied: list[int] = []
        self.events: list[tuple[int, float, str, str]] = []
        self.orphans = 0
        self.duplicates = 0
        self.applied_held = 0
        self.campaign_states: dict[int, str | None] = {}  # read when a requeue needs one

    # --- loading ---

    def load(self, updates: Sequence[_Applied]) -> None:
        ids = {u.message_id for u in updates if not isinstance(u, ReceiptArrived)}
        self._load_messages(ids)
        # A receipt that follows its PartSubmitted in this batch finds its part in
        # memory; only the others are looked up by SMSC id.
        submitted: set[tuple[str, str]] = set()
        receipt_ids: dict[str, set[str]] = {}
        for u in updates:
            if isinstance(u, ReceiptArrived):
                if (u.smsc, u.smsc_message_id) not in submitted:
                    receipt_ids.setdefault(u.smsc, set()).add(u.smsc_message_id)
            elif isinstance(u, PartSubmitted) and (message := self.messages.get(u.message_id)):
                submitted.add((message.smsc, u.smsc_message_id))
        carriers: dict[tuple[str, str], int] = {}
        for smsc, smsc_ids in receipt_ids.items():
            for message_id, smsc_id in self.connection.execute(
                "SELECT message_id, smsc_message_id FROM message_parts "
                "WHERE smsc = ? AND smsc_message_id IN (SELECT value FROM json_each(?))",
                (smsc, _json(smsc_ids)),
            ):
                key = (smsc, smsc_id)
                if carriers.get(key, 0) < message_id:
                    carriers[key] = message_id
        self._load_messages({i for i in carriers.values() if i not in self.messages})
        for key, message_id in carriers.items():
            for part in self.messages[message_id].part_rows.values():
                if part.smsc_message_id == key[1]:
                    self.by_smsc_id[key] = part
        if submitted:
            self._load_held(submitted)

    def _load_messages(self, ids: set[int]) -> None:
        if not ids:
            return
        messages = self.messages
        for row in self.connection.execute(_LOAD_MESSAGES, (_json(ids),)):
            message = messages.get(row[0])
            if message is None:
                message = messages[row[0]] = _Message(row[:10])
            if row[10] is not None:
                part = _Part(row[0], row[10], row[1])
                (
                    part.state,
                    part.bind,
                    part.smsc_message_id,
                    part.submitted_at,
                    part.responded_at,
                    part.command_status,
                    part.receipt_at,
                    part.receipt_error,
                    part.done_at,
                ) = row[11:]
                part.stored = True
                message.part_rows[row[10]] = part

    def _load_held(self, submitted: set[tuple[str, str]]) -> None:
        if self.connection.execute("SELECT 1 FROM held_receipts LIMIT 1").fetchone() is None:
            return  # the usual case: receipts came after their submit_sm_resp
        wanted: dict[str, set[str]] = {}
        for smsc, smsc_id in submitted:
            wanted.setdefault(smsc, set()).add(smsc_id)
        for smsc, smsc_ids in wanted.items():
            for row in self.connection.execute(
                "SELECT id, smsc_message_id, state, received_at, error, done_at "
                "FROM held_receipts "
                "WHERE smsc = ? AND smsc_message_id IN (SELECT value FROM json_each(?)) "
                "ORDER BY id",
                (smsc, _json(smsc_ids)),
            ):
                held = _Held(
                    row[0],
                    smsc,
                    row[1],
                    state=row[2],
                    received_at=row[3],
                    error=row[4],
                    done_at=row[5],
                )
                self.held.setdefault((smsc, row[1]), []).append(held)

    # --- applying, in order ---

    def apply(self, u: _Applied) -> None:
        if isinstance(u, ReceiptArrived):
            self._receipt(u)
            return
        message = self.messages.get(u.message_id)
        if message is None or not 0 <= u.part < message.parts:
            self.orphans += 1
        elif isinstance(u, PartSubmitted):
            self._part_submitted(message, u)
        elif isinstance(u, SubmitFailed):
            self._submit_failed(message, u)
        else:
            self._submit_unknown(message, u)

    def _part_submitted(self, message: _Message, u: PartSubmitted) -> None:
        part = message.part(u.part)
        message.touch(u.responded_at)
        detail = f"part={u.part} smsc_message_id={u.smsc_message_id} bind={u.bind}"
        if part.state in ANSWERED_PART_STATES:
            # A late answer to an earlier attempt: the part keeps its first SMSC id.
            self.events.append((message.id, u.responded_at, "part_submitted_again", detail))
            return
        part.state = _PART_SUBMITTED
        part.bind = u.bind
        part.smsc_message_id = u.smsc_message_id
        part.submitted_at = u.submitted_at
        part.responded_at = u.responded_at
        part.command_status = 0
        part.changed |= _P_SUBMITTED
        key = (message.smsc, u.smsc_message_id)
        self.by_smsc_id[key] = part
        state = message.state
        if (
            state not in _FINAL
            and state != _SUBMITTED
            and message.all_parts_in(ANSWERED_PART_STATES)
        ):
            detail += message.move(_SUBMITTED)
        self.events.append((message.id, u.responded_at, "part_submitted", detail))
        if self.held:
            for held in self.held.pop(key, ()):
                if held.row_id is not None:
                    self.held_applied.append(held.row_id)
                self.applied_held += 1
                self._apply_receipt(message, part, held, held=True)

    def _requeue(self, message: _Message, retry_at: float) -> str:
        message.changed |= _M_NOT_BEFORE
        if message.state in _WAITING:  # an earlier update (or a campaign pause) did it
            message.not_before = max(message.not_before, retry_at)
            return message.move(message.state)
        message.not_before = retry_at
        if message.campaign_id is None:
            return message.move(_QUEUED)
        return message.move(waiting_state(self._campaign_state(message.campaign_id)).value)

    def _campaign_state(self, campaign_id: int) -> str | None:
        if campaign_id not in self.campaign_states:
            row = self.connection.execute(
                "SELECT state FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
            self.campaign_states[campaign_id] = None if row is None else row[0]
        return self.campaign_states[campaign_id]

    def _submit_failed(self, message: _Message, u: SubmitFailed) -> None:
        part = message.part(u.part)
        message.touch(u.at)
        detail = f"part={u.part} command_status=0x{u.command_status:08X}"
        if u.reason is not None:
            detail += f" reason={u.reason}"
        if part.state not in ANSWERED_PART_STATES:
            part.command_status = u.command_status
            part.state = (PartState.PENDING if u.retry_at is not None else PartState.FAILED).value
            part.changed |= _P_STATE | _P_COMMAND_STATUS
            if message.state in _OPEN:
                if u.retry_at is not None:
                    detail += f" retry_at={u.retry_at}" + self._requeue(message, u.retry_at)
                else:
                    message.error_code = u.command_status
                    message.changed |= _M_ERROR_CODE
                    final = MessageState.EXPIRED if u.expired else MessageState.REJECTED
                    detail += message.move(final.value)
        self.events.append((message.id, u.at, "submit_failed", detail))

    def _submit_unknown(self, message: _Message, u: SubmitUnknown) -> None:
        part = message.part(u.part)
        message.touch(u.at)
        detail = f"part={u.part} reason={u.reason}"
        if part.state not in ANSWERED_PART_STATES:
            part.state = PartState.UNKNOWN.value
            part.changed |= _P_STATE
            if message.state in _OPEN:
                if u.retry_at is not None:
                    message.possible_duplicate = 1
                    message.changed |= _M_POSSIBLE_DUPLICATE
                    detail += f" retry_at={u.retry_at}" + self._requeue(message, u.retry_at)
                else:
                    detail += message.move(MessageState.UNKNOWN.value)
        self.events.append((message.id, u.at, "submit_unknown", detail))

    def _receipt(self, u: ReceiptArrived) -> None:
        key = (u.smsc, u.smsc_message_id)
        held = _Held(
            None,
            u.smsc,
            u.smsc_message_id,
            state=u.state.value,
            received_at=u.received_at,
            error=u.error,
            done_at=u.done_at,
        )
        part = self.by_smsc_id.get(key)
        if part is None:
            self.held.setdefault(key, []).append(held)
            return
        self._apply_receipt(self.messages[part.message_id], part, held, held=False)

    def _apply_receipt(self, message: _Message, part: _Part, r: _Held, *, held: bool) -> None:
        message.touch(r.received_at)
        detail = f"part={part.part} state={r.state}"
        if r.error is not None:
            detail += f" err={r.error}"
        if held:
            detail += " held"
        if part.receipt_at is not None:
            self.duplicates += 1
            self.events.append((message.id, r.received_at, "receipt_duplicate", detail))
            return
        part.state = r.state
        part.receipt_at = r.received_at
        part.receipt_error = r.error
        part.done_at = r.done_at
        part.changed |= _P_RECEIPT
        if message.state not in _FINAL and message.all_parts_in(RECEIPT_PART_STATES):
            final = _DELIVERED
            for index in range(message.parts):
                state = message.part_rows[index].state
                if state != _PART_DELIVERED:
                    final = _MESSAGE_STATE_OF_RECEIPT[state]
                    break
            detail += message.move(final)
        self.events.append((message.id, r.received_at, "receipt", detail))

    # --- writing ---

    def write(self) -> None:
        c = self.connection
        changed = [m for m in self.messages.values() if m.changed]
        _MESSAGE_WRITES.write(c, changed)
        parts = [p for m in changed for p in m.part_rows.values() if p.changed]
        new = [_part_row(p) for p in parts if not p.stored]
        if new:
            c.executemany(_INSERT_PART, new)
        _PART_WRITES.write(c, [p for p in parts if p.stored])
        if self.events:
            c.executemany(
                "INSERT INTO message_events (message_id, at, event, detail) VALUES (?, ?, ?, ?)",
                self.events,
            )
        if self.held_applied:
            c.executemany(
                "DELETE FROM held_receipts WHERE id = ?", [(i,) for i in self.held_applied]
            )
        still_held = [
            (h.smsc, h.smsc_message_id, h.state, h.received_at, h.error, h.done_at)
            for waiting in self.held.values()
            for h in waiting
            if h.row_id is None
        ]
        if still_held:
            c.executemany(
                "INSERT INTO held_receipts (smsc, smsc_message_id, state, received_at, error, "
                "done_at) VALUES (?, ?, ?, ?, ?, ?)",
                still_held,
            )
        counts = StateCounts()
        for m in changed:
            counts.move(m.smsc, m.stored_state, m.state)
        counts.write(c)
        counters = [
            ("orphan_updates", self.orphans),
            ("duplicate_receipts", self.duplicates),
            ("held_receipts_applied", self.applied_held),
        ]
        if any(n for _, n in counters):
            c.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                [row for row in counters if row[1]],
            )


def apply_updates(connection: sqlite3.Connection, updates: Sequence[Update]) -> None:
    """Apply ``updates`` in order inside the caller's transaction."""
    dispatched: list[int] = []
    applied: list[_Applied] = []
    for u in updates:
        if isinstance(u, Dispatching):
            dispatched.extend(u.message_ids)
        else:
            applied.append(u)
    if dispatched:
        # A message's Dispatching comes before any answer to it, so marking first
        # keeps the order; the mark means something only while SUBMITTING.
        connection.execute(
            "UPDATE messages SET dispatched = 1 "
            "WHERE id IN (SELECT value FROM json_each(?)) AND state = 'submitting'",
            (_json(dispatched),),
        )
    batch = _Batch(connection)
    batch.load(applied)
    for update in applied:
        batch.apply(update)
    batch.write()
