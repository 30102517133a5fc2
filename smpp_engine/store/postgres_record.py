"""``record()`` on PostgreSQL: a batch of updates applied in one transaction, in order.

The batch's messages are locked and read in a few set-based queries, the updates
are applied to that state in memory in the caller's order (so a receipt that
follows its PartSubmitted in the same batch finds its part), and everything
changed is written back in one statement of array parameters. A batch costs the
same handful of round trips whatever its size.

Receipts that beat their submit_sm_resp are held. Two processes can record a
receipt and its PartSubmitted at the same moment, each unable to see the other's
uncommitted row; an advisory lock closes that gap: a transaction that records
PartSubmitted takes it shared (they run side by side), one that is about to hold
a receipt takes it exclusive and looks for the part again once it has it.

A retry of a campaign's message requeues it as its campaign's state says (HELD
while paused, CANCELLED once cancelled); that state is read under a shared lock
(see :func:`_lock_campaigns`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

__all__ = ["ANSWERED_PART_STATES", "RECEIPT_PART_STATES", "record_batch"]

_HOLD_LOCK = 0x736D_7070_686F_6C64  # "smpphold"

RECEIPT_PART_STATES = frozenset(
    {
        PartState.DELIVERED,
        PartState.UNDELIVERABLE,
        PartState.EXPIRED,
        PartState.REJECTED,
        PartState.DELETED,
        PartState.RECEIPT_UNKNOWN,
    }
)
"""The part states a receipt can give: final for the part."""
ANSWERED_PART_STATES = RECEIPT_PART_STATES | {PartState.SUBMITTED}
"""Parts the SMSC accepted (ESME_ROK): never submitted again."""
_OPEN_STATES = frozenset({MessageState.QUEUED, MessageState.HELD, MessageState.SUBMITTING})
_WAITING_STATES = frozenset({MessageState.QUEUED, MessageState.HELD})
# The updates applied to the batch's messages in memory (Dispatching is one statement).
_Applied = PartSubmitted | SubmitFailed | SubmitUnknown | ReceiptArrived
_COUNTERS = ("orphan_updates", "duplicate_receipts", "held_receipts_applied")
_MESSAGE_STATE_OF_RECEIPT = {
    PartState.DELIVERED: MessageState.DELIVERED,
    PartState.UNDELIVERABLE: MessageState.UNDELIVERABLE,
    PartState.EXPIRED: MessageState.EXPIRED,
    PartState.REJECTED: MessageState.REJECTED,
    PartState.DELETED: MessageState.DELETED,
    PartState.RECEIPT_UNKNOWN: MessageState.UNKNOWN,
}

# The parts the batch's receipts name, and the keys its PartSubmitted updates will
# make known: a receipt matching neither is about to be held. "= ANY(array)"
# rather than a join on unnest: the planner then sees how many ids it looks up
# and takes the index even while the table is small.
_FIND_RECEIPT_PARTS = """
SELECT p.message_id, p.smsc, p.smsc_message_id
FROM message_parts AS p
WHERE p.smsc_message_id = ANY($1::text[]) AND p.smsc = ANY($2::text[])
UNION ALL
SELECT NULL, m.smsc, s.smsc_message_id
FROM unnest($3::bigint[], $4::text[]) AS s (message_id, smsc_message_id)
JOIN messages AS m ON m.id = s.message_id
"""

# ORDER BY id: every transaction locks messages in the same order, so two
# batches touching the same messages wait for each other instead of deadlocking.
_LOCK_MESSAGES = """
SELECT id, smsc, parts, state, not_before, possible_duplicate, error_code, updated_at,
       lease_owner, lease_until, campaign_id, unclean_stops
FROM messages WHERE id = ANY($1::bigint[])
ORDER BY id
FOR UPDATE
"""

# A message's Dispatching comes before any answer to it; the mark means something
# only while SUBMITTING. Locked in id order, as every batch locks.
_MARK_DISPATCHED = """
UPDATE messages SET dispatched = true
WHERE id IN (
    SELECT id FROM messages WHERE id = ANY($1::bigint[]) AND state = 'submitting'
    ORDER BY id FOR UPDATE
)
"""

# Rare: only messages that were in flight at an unclean stop carry a count.
_CLEAR_UNCLEAN_STOPS = "UPDATE messages SET unclean_stops = 0 WHERE id = ANY($1::bigint[])"

# FOR SHARE, not FOR KEY SHARE: it must wait for a state change in progress.
_LOCK_CAMPAIGNS = """
SELECT id, state FROM campaigns WHERE id = ANY($1::bigint[]) ORDER BY id FOR SHARE
"""

_LOAD_PARTS = """
SELECT message_id, part, state, bind, smsc_message_id, submitted_at, responded_at,
       command_status, receipt_at, receipt_error, done_at
FROM message_parts WHERE message_id = ANY($1::bigint[])
"""

# Matched to the exact (smsc, id) pairs afterwards, in Python.
_LOAD_HELD = """
SELECT id, smsc, smsc_message_id, state, received_at, error, done_at
FROM held_receipts
WHERE smsc_message_id = ANY($1::text[]) AND smsc = ANY($2::text[])
ORDER BY id
FOR UPDATE
"""

_WRITE = """
WITH parts_inserted AS (
    INSERT INTO message_parts (
        message_id, part, state, bind, smsc, smsc_message_id, submitted_at, responded_at,
        command_status, receipt_at, receipt_error, done_at)
    SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::float8[], $8::float8[], $9::integer[], $10::float8[], $11::text[],
        $12::float8[])
), parts_updated AS (
    UPDATE message_parts AS p SET
        state = u.state, bind = u.bind, smsc_message_id = u.smsc_message_id,
        submitted_at = u.submitted_at, responded_at = u.responded_at,
        command_status = u.command_status, receipt_at = u.receipt_at,
        receipt_error = u.receipt_error, done_at = u.done_at
    FROM unnest($37::bigint[], $38::integer[], $39::text[], $40::text[], $41::text[],
        $42::float8[], $43::float8[], $44::integer[], $45::float8[], $46::text[],
        $47::float8[])
        AS u (message_id, part, state, bind, smsc_message_id, submitted_at, responded_at,
              command_status, receipt_at, receipt_error, done_at)
    WHERE p.message_id = u.message_id AND p.part = u.part
), messages_written AS (
    UPDATE messages AS m SET
        state = u.state, updated_at = u.updated_at, not_before = u.not_before,
        possible_duplicate = u.possible_duplicate, error_code = u.error_code,
        lease_owner = u.lease_owner, lease_until = u.lease_until
    FROM unnest($13::bigint[], $14::text[], $15::float8[], $16::float8[], $17::boolean[],
        $18::integer[], $19::text[], $20::float8[])
        AS u (id, state, updated_at, not_before, possible_duplicate, error_code, lease_owner,
              lease_until)
    WHERE m.id = u.id
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT * FROM unnest($21::bigint[], $22::float8[], $23::text[], $24::text[])
), held_consumed AS (
    DELETE FROM held_receipts WHERE id = ANY($25::bigint[])
), held_written AS (
    INSERT INTO held_receipts (smsc, smsc_message_id, state, received_at, error, done_at)
    SELECT * FROM unnest($26::text[], $27::text[], $28::text[], $29::float8[], $30::text[],
        $31::float8[])
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT * FROM unnest($32::text[], $33::text[], $34::bigint[])
), counters_counted AS (
    INSERT INTO store_counter_changes (name, delta)
    SELECT * FROM unnest($35::text[], $36::bigint[])
)
SELECT 1
"""


@dataclass(slots=True)
class _Part:
    message_id: int
    part: int
    state: PartState = PartState.PENDING
    bind: str | None = None
    smsc_message_id: str | None = None
    submitted_at: float | None = None
    responded_at: float | None = None
    command_status: int | None = None
    receipt_at: float | None = None
    receipt_error: str | None = None
    done_at: float | None = None
    stored: bool = False  # a row exists: UPDATE rather than INSERT


@dataclass(slots=True)
class _Message:
    id: int
    smsc: str
    parts: int
    state: MessageState
    not_before: float
    possible_duplicate: bool
    error_code: int | None
    updated_at: float
    lease_owner: str | None
    lease_until: float | None
    campaign_id: int | None
    stored_state: MessageState
    unclean_stops: int = 0
    part_rows: dict[int, _Part] = field(default_factory=dict)

    def all_parts_in(self, states: frozenset[PartState]) -> bool:
        if len(self.part_rows) < self.parts:
            return False
        return all(self.part_rows[number].state in states for number in range(self.parts))

    def move_to(self, state: MessageState) -> str:
        """Change state (a lease ends with SUBMITTING); the event detail suffix saying so."""
        self.state = state
        if state is not MessageState.SUBMITTING:
            self.lease_owner = self.lease_until = None
        return f" -> {state.value}"


@dataclass(slots=True)
class _HeldReceipt:
    receipt: ReceiptArrived
    row_id: int | None = None  # None: held by this batch, not written yet


class _Batch:
    """The rows a batch touches, and the updates applied to them in order.

    The rules are the SQLite store's (:mod:`.sqlite_updates`), event names and
    details included: the shared contract suite holds both to them.
    """

    def __init__(
        self,
        messages: dict[int, _Message],
        held: list[_HeldReceipt],
        campaign_states: Mapping[int, str] | None = None,
    ) -> None:
        self.messages = messages
        # The states of the campaigns whose messages this batch may requeue.
        self.campaign_states = campaign_states or {}
        self.changed_messages: set[int] = set()
        self.changed_parts: dict[tuple[int, int], _Part] = {}
        self.events: list[tuple[int, float, str, str]] = []
        self.counters = dict.fromkeys(_COUNTERS, 0)
        self.held: dict[tuple[str, str], list[_HeldReceipt]] = {}
        for entry in held:
            key = (entry.receipt.smsc, entry.receipt.smsc_message_id)
            self.held.setdefault(key, []).append(entry)
        self.consumed_held: list[int] = []
        # Messages whose run of unclean stops an answer or a receipt ended.
        self.stops_cleared: list[int] = []
        # (smsc, smsc_message_id) -> the part carrying it. SMSCs recycle ids: the
        # newest message wins, and a PartSubmitted of this batch over any stored one.
        self.by_smsc_id: dict[tuple[str, str], _Part] = {}
        for message in sorted(messages.values(), key=lambda m: m.id):
            for part in message.part_rows.values():
                if part.smsc_message_id is not None:
                    self.by_smsc_id[message.smsc, part.smsc_message_id] = part

    def apply(self, update: _Applied) -> None:
        if isinstance(update, ReceiptArrived):
            self._receipt(update)
            return
        message = self.messages.get(update.message_id)
        if message is None or not 0 <= update.part < message.parts:
            self.counters["orphan_updates"] += 1
        elif isinstance(update, PartSubmitted):
            self._part_submitted(message, update)
        elif isinstance(update, SubmitFailed):
            self._submit_failed(message, update)
        else:
            self._submit_unknown(message, update)

    def _part(self, message: _Message, number: int) -> _Part:
        part = message.part_rows.get(number)
        if part is None:
            part = message.part_rows[number] = _Part(message.id, number)
        return part

    def _touch(self, message: _Message, at: float) -> None:
        message.updated_at = max(message.updated_at, at)
        self.changed_messages.add(message.id)
        if message.unclean_stops:
            message.unclean_stops = 0
            self.stops_cleared.append(message.id)

    def _changed(self, part: _Part) -> None:
        self.changed_parts[part.message_id, part.part] = part

    def _event(self, message: _Message, at: float, event: str, detail: str) -> None:
        self.events.append((message.id, at, event, detail))

    def _part_submitted(self, message: _Message, update: PartSubmitted) -> None:
        part = self._part(message, update.part)
        self._touch(message, update.responded_at)
        detail = f"part={update.part} smsc_message_id={update.smsc_message_id} bind={update.bind}"
        if part.state in ANSWERED_PART_STATES:
            # A late answer to an earlier attempt: the part keeps its first SMSC id.
            self._event(message, update.responded_at, "part_submitted_again", detail)
            return
        part.state = PartState.SUBMITTED
        part.bind = update.bind
        part.smsc_message_id = update.smsc_message_id
        part.submitted_at = update.submitted_at
        part.responded_at = update.responded_at
        part.command_status = 0
        self._changed(part)
        self.by_smsc_id[message.smsc, update.smsc_message_id] = part
        if (
            message.state not in FINAL_STATES
            and message.state is not MessageState.SUBMITTED
            and message.all_parts_in(ANSWERED_PART_STATES)
        ):
            detail += message.move_to(MessageState.SUBMITTED)
        self._event(message, update.responded_at, "part_submitted", detail)
        for entry in self.held.pop((message.smsc, update.smsc_message_id), []):
            if entry.row_id is not None:
                self.consumed_held.append(entry.row_id)
            self.counters["held_receipts_applied"] += 1
            self._apply_receipt(message, part, entry.receipt, held=True)

    def _requeue(self, message: _Message, retry_at: float) -> str:
        if message.state in _WAITING_STATES:  # an earlier update (or a campaign pause) did it
            message.not_before = max(message.not_before, retry_at)
            return message.move_to(message.state)
        message.not_before = retry_at
        if message.campaign_id is None:
            return message.move_to(MessageState.QUEUED)
        return message.move_to(waiting_state(self.campaign_states.get(message.campaign_id)))

    def _submit_failed(self, message: _Message, update: SubmitFailed) -> None:
        part = self._part(message, update.part)
        self._touch(message, update.at)
        detail = f"part={update.part} command_status=0x{update.command_status:08X}"
        if update.reason is not None:
            detail += f" reason={update.reason}"
        if part.state not in ANSWERED_PART_STATES:
            part.command_status = update.command_status
            part.state = PartState.PENDING if update.retry_at is not None else PartState.FAILED
            self._changed(part)
            if message.state in _OPEN_STATES:
                if update.retry_at is not None:
                    detail += f" retry_at={update.retry_at}"
                    detail += self._requeue(message, update.retry_at)
                else:
                    message.error_code = update.command_status
                    final = MessageState.EXPIRED if update.expired else MessageState.REJECTED
                    detail += message.move_to(final)
        self._event(message, update.at, "submit_failed", detail)

    def _submit_unknown(self, message: _Message, update: SubmitUnknown) -> None:
        part = self._part(message, update.part)
        self._touch(message, update.at)
        detail = f"part={update.part} reason={update.reason}"
        if part.state not in ANSWERED_PART_STATES:
            part.state = PartState.UNKNOWN
            self._changed(part)
            if message.state in _OPEN_STATES:
                if update.retry_at is not None:
                    message.possible_duplicate = True
                    detail += f" retry_at={update.retry_at}"
                    detail += self._requeue(message, update.retry_at)
                else:
                    detail += message.move_to(MessageState.UNKNOWN)
        self._event(message, update.at, "submit_unknown", detail)

    def _receipt(self, receipt: ReceiptArrived) -> None:
        key = (receipt.smsc, receipt.smsc_message_id)
        part = self.by_smsc_id.get(key)
        if part is None:
            self.held.setdefault(key, []).append(_HeldReceipt(receipt))
            return
        self._apply_receipt(self.messages[part.message_id], part, receipt, held=False)

    def _apply_receipt(
        self, message: _Message, part: _Part, receipt: ReceiptArrived, *, held: bool
    ) -> None:
        self._touch(message, receipt.received_at)
        detail = f"part={part.part} state={receipt.state.value}"
        if receipt.error is not None:
            detail += f" err={receipt.error}"
        if held:
            detail += " held"
        if part.receipt_at is not None:
            self.counters["duplicate_receipts"] += 1
            self._event(message, receipt.received_at, "receipt_duplicate", detail)
            return
        part.state = receipt.state
        part.receipt_at = receipt.received_at
        part.receipt_error = receipt.error
        part.done_at = receipt.done_at
        self._changed(part)
        if message.state not in FINAL_STATES and message.all_parts_in(RECEIPT_PART_STATES):
            final = next(
                (
                    _MESSAGE_STATE_OF_RECEIPT[message.part_rows[number].state]
                    for number in range(message.parts)
                    if message.part_rows[number].state is not PartState.DELIVERED
                ),
                MessageState.DELIVERED,
            )
            detail += message.move_to(final)
        self._event(message, receipt.received_at, "receipt", detail)

    def held_to_write(self) -> list[ReceiptArrived]:
        return [
            entry.receipt
            for entries in self.held.values()
            for entry in entries
            if entry.row_id is None
        ]

    def state_changes(self) -> dict[tuple[str, str], int]:
        changes: dict[tuple[str, str], int] = {}
        for message_id in self.changed_messages:
            message = self.messages[message_id]
            if message.state is not message.stored_state:
                for state, delta in ((message.stored_state, -1), (message.state, 1)):
                    key = (message.smsc, state.value)
                    changes[key] = changes.get(key, 0) + delta
        return {key: delta for key, delta in changes.items() if delta}


async def record_batch(connection: Any, all_updates: Sequence[Update]) -> None:
    """Apply ``updates`` in one transaction on ``connection`` (on the bridge's loop)."""
    message_ids: set[int] = set()
    receipt_keys: set[tuple[str, str]] = set()
    submitted: list[PartSubmitted] = []
    dispatched: list[int] = []
    updates: list[_Applied] = []
    for update in all_updates:
        if isinstance(update, Dispatching):
            dispatched.extend(update.message_ids)
            continue
        updates.append(update)
        if isinstance(update, ReceiptArrived):
            receipt_keys.add((update.smsc, update.smsc_message_id))
        else:
            message_ids.add(update.message_id)
            if isinstance(update, PartSubmitted):
                submitted.append(update)

    async with connection.transaction():
        if dispatched:
            await connection.execute(_MARK_DISPATCHED, dispatched)
        if not updates:
            return
        receipt_messages: set[int] = set()
        may_hold = False
        if receipt_keys:
            receipt_messages, known = await _find_receipt_parts(connection, receipt_keys, submitted)
            may_hold = bool(receipt_keys - known)
        if may_hold:
            # Wait for every PartSubmitted in flight elsewhere, then look again:
            # now all of them are visible.
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _HOLD_LOCK)
            receipt_messages, _ = await _find_receipt_parts(connection, receipt_keys, [])
        elif submitted:
            await connection.execute("SELECT pg_advisory_xact_lock_shared($1)", _HOLD_LOCK)

        messages = await _load(connection, message_ids | receipt_messages)
        campaign_states = await _lock_campaigns(connection, updates, messages)
        submitted_keys = {
            (messages[update.message_id].smsc, update.smsc_message_id)
            for update in submitted
            if update.message_id in messages
        }
        held = await _load_held(connection, submitted_keys) if submitted_keys else []
        batch = _Batch(messages, held, campaign_states)
        for update in updates:
            batch.apply(update)
        await connection.execute(_WRITE, *_write_arguments(batch))
        if batch.stops_cleared:
            await connection.execute(_CLEAR_UNCLEAN_STOPS, batch.stops_cleared)


async def _lock_campaigns(
    connection: Any, updates: Sequence[_Applied], messages: dict[int, _Message]
) -> dict[int, str]:
    """The states of the campaigns of the messages the batch may requeue, locked shared.

    Locked, so a campaign being paused or cancelled at this moment is waited for
    and its new state decides: its messages never come back to the queue after
    the change has moved the queue. Most batches requeue nothing and skip this.
    """
    campaign_ids = {
        message.campaign_id
        for update in updates
        if isinstance(update, SubmitFailed | SubmitUnknown) and update.retry_at is not None
        if (message := messages.get(update.message_id)) is not None
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
    )
    known = {(row["smsc"], row["smsc_message_id"]) for row in rows}
    owners = {
        row["message_id"]
        for row in rows
        if row["message_id"] is not None and (row["smsc"], row["smsc_message_id"]) in receipt_keys
    }
    return owners, known


async def _load_held(connection: Any, keys: set[tuple[str, str]]) -> list[_HeldReceipt]:
    rows = await connection.fetch(
        _LOAD_HELD, list({key[1] for key in keys}), list({key[0] for key in keys})
    )
    return [
        _HeldReceipt(
            ReceiptArrived(
                smsc=row["smsc"],
                smsc_message_id=row["smsc_message_id"],
                state=PartState(row["state"]),
                received_at=row["received_at"],
                error=row["error"],
                done_at=row["done_at"],
            ),
            row["id"],
        )
        for row in rows
        if (row["smsc"], row["smsc_message_id"]) in keys
    ]


async def _load(connection: Any, message_ids: set[int]) -> dict[int, _Message]:
    if not message_ids:
        return {}
    ids = sorted(message_ids)
    messages: dict[int, _Message] = {}
    for row in await connection.fetch(_LOCK_MESSAGES, ids):
        messages[row["id"]] = _Message(
            id=row["id"],
            smsc=row["smsc"],
            parts=row["parts"],
            state=MessageState(row["state"]),
            not_before=row["not_before"],
            possible_duplicate=row["possible_duplicate"],
            error_code=row["error_code"],
            updated_at=row["updated_at"],
            lease_owner=row["lease_owner"],
            lease_until=row["lease_until"],
            campaign_id=row["campaign_id"],
            stored_state=MessageState(row["state"]),
            unclean_stops=row["unclean_stops"],
        )
    for row in await connection.fetch(_LOAD_PARTS, ids):
        messages[row["message_id"]].part_rows[row["part"]] = _Part(
            message_id=row["message_id"],
            part=row["part"],
            state=PartState(row["state"]),
            bind=row["bind"],
            smsc_message_id=row["smsc_message_id"],
            submitted_at=row["submitted_at"],
            responded_at=row["responded_at"],
            command_status=row["command_status"],
            receipt_at=row["receipt_at"],
            receipt_error=row["receipt_error"],
            done_at=row["done_at"],
            stored=True,
        )
    return messages


def _write_arguments(batch: _Batch) -> list[Any]:
    new_parts = [p for p in batch.changed_parts.values() if not p.stored]
    old_parts = [p for p in batch.changed_parts.values() if p.stored]
    messages = [batch.messages[message_id] for message_id in sorted(batch.changed_messages)]
    events = batch.events
    held = batch.held_to_write()
    state_changes = batch.state_changes()
    return [
        [p.message_id for p in new_parts],
        [p.part for p in new_parts],
        [p.state.value for p in new_parts],
        [p.bind for p in new_parts],
        [batch.messages[p.message_id].smsc for p in new_parts],
        [p.smsc_message_id for p in new_parts],
        [p.submitted_at for p in new_parts],
        [p.responded_at for p in new_parts],
        [p.command_status for p in new_parts],
        [p.receipt_at for p in new_parts],
        [p.receipt_error for p in new_parts],
        [p.done_at for p in new_parts],
        [m.id for m in messages],
        [m.state.value for m in messages],
        [m.updated_at for m in messages],
        [m.not_before for m in messages],
        [m.possible_duplicate for m in messages],
        [m.error_code for m in messages],
        [m.lease_owner for m in messages],
        [m.lease_until for m in messages],
        [e[0] for e in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [e[3] for e in events],
        batch.consumed_held,
        [r.smsc for r in held],
        [r.smsc_message_id for r in held],
        [r.state.value for r in held],
        [r.received_at for r in held],
        [r.error for r in held],
        [r.done_at for r in held],
        [key[0] for key in state_changes],
        [key[1] for key in state_changes],
        list(state_changes.values()),
        [name for name, n in batch.counters.items() if n],
        [n for n in batch.counters.values() if n],
        [p.message_id for p in old_parts],
        [p.part for p in old_parts],
        [p.state.value for p in old_parts],
        [p.bind for p in old_parts],
        [p.smsc_message_id for p in old_parts],
        [p.submitted_at for p in old_parts],
        [p.responded_at for p in old_parts],
        [p.command_status for p in old_parts],
        [p.receipt_at for p in old_parts],
        [p.receipt_error for p in old_parts],
        [p.done_at for p in old_parts],
    ]
