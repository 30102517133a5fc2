"""How a batch of updates moves messages: the one copy of the rules, for both stores.

A backend loads the rows a batch touches into a :class:`RecordBatch` (the
messages its updates name, the parts carrying the SMSC ids its receipts name,
the receipts held for the ids its submits make known), the updates are applied
here in memory in the caller's order (so a receipt that follows its
PartSubmitted in the same batch finds it, and a message moved twice is written
once), and the backend writes back what changed. The rules:

- PartSubmitted: the part takes its SMSC id; once every part is answered the
  message is SUBMITTED; receipts held for that id are applied now. A late answer
  to an earlier attempt leaves the part its first id.
- SubmitFailed: with ``retry_at`` the message waits again (QUEUED, or where its
  campaign's state puts waiting messages); without, it is REJECTED (EXPIRED when
  ``expired``) with its error code.
- SubmitUnknown: with ``retry_at`` it waits again flagged possible_duplicate;
  without, it is UNKNOWN.
- ReceiptArrived: the part takes the receipt's state; once every part has one,
  the message is DELIVERED if all were, else the state of the first that was
  not. An id no part carries yet is held; a second receipt for a part changes
  nothing but its history.
- Rerouted: a message still open on the route it names moves to the other
  route (a claimed one goes back to its queue there); its parts keep the SMSC
  they were submitted to, so each receipt still finds its part.
- ReceiptNoted (an intermediate notification): only the message's history; one
  for an id no part carries yet is dropped (counted), never held.
- Any answer or receipt ends the message's run of unclean stops.

States are plain strings here: a StrEnum member equals and hashes like its value,
so the sets below answer for both, and rows bind without enum adaptation (this
is the hot path of the stores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..callbacks.rules import OutboxRow, wanted
from ..campaigns.model import waiting_state
from .model import (
    FINAL_STATES,
    Dispatching,
    MessageState,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    ReceiptNoted,
    Rerouted,
    SubmitFailed,
    SubmitUnknown,
    Update,
)
from .plans import REROUTED_EVENT

__all__ = [
    "ANSWERED_PART_STATES",
    "MESSAGE_COLUMNS",
    "MESSAGE_ROW",
    "PART_COLUMNS",
    "RECEIPT_PART_STATES",
    "AppliedUpdate",
    "HeldReceipt",
    "MessageRow",
    "PartRow",
    "RecordBatch",
    "check_updates",
    "receipt_timeout",
    "split_dispatching",
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

#: The updates applied in memory (a Dispatching mark is one statement of the backend's).
AppliedUpdate = (
    PartSubmitted | SubmitFailed | SubmitUnknown | ReceiptArrived | ReceiptNoted | Rerouted
)

_MESSAGE_STATE_OF_RECEIPT = {
    PartState.DELIVERED.value: MessageState.DELIVERED.value,
    PartState.UNDELIVERABLE.value: MessageState.UNDELIVERABLE.value,
    PartState.EXPIRED.value: MessageState.EXPIRED.value,
    PartState.REJECTED.value: MessageState.REJECTED.value,
    PartState.DELETED.value: MessageState.DELETED.value,
    PartState.RECEIPT_UNKNOWN.value: MessageState.UNKNOWN.value,
}
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

#: The message columns an update may change, in the order of the ``changed`` bits.
MESSAGE_COLUMNS = (
    "state",
    "not_before",
    "possible_duplicate",
    "error_code",
    "updated_at",
    "unclean_stops",
    "smsc",
)
(
    _M_STATE,
    _M_NOT_BEFORE,
    _M_POSSIBLE_DUPLICATE,
    _M_ERROR_CODE,
    _M_UPDATED_AT,
    _M_UNCLEAN_STOPS,
    _M_SMSC,
) = (1 << i for i in range(len(MESSAGE_COLUMNS)))

#: The message columns a backend loads, in the order MessageRow takes them.
MESSAGE_ROW = (
    "id",
    "smsc",
    "state",
    "parts",
    "not_before",
    "possible_duplicate",
    "error_code",
    "updated_at",
    "campaign_id",
    "unclean_stops",
    "tenant",
    "callback_url",
    "callback_events",
)

#: The part columns an update may change, in the order of the ``changed`` bits.
PART_COLUMNS = (
    "state",
    "bind",
    "smsc_message_id",
    "submitted_at",
    "responded_at",
    "command_status",
    "receipt_at",
    "receipt_error",
    "done_at",
    "smsc",
)
_P_SUBMITTED = 0b111111  # state .. command_status
_P_SMSC = 1 << 9
_P_STATE, _P_COMMAND_STATUS = 1, 1 << 5
_P_RECEIPT = 1 | (0b111 << 6)  # state, receipt_at, receipt_error, done_at


class PartRow:
    """One part of a message as stored; ``changed`` has a bit per column of PART_COLUMNS."""

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

    def load(self, values: Sequence[object]) -> PartRow:
        """Take the stored values of PART_COLUMNS, in that order (the part's own smsc last:
        a message that failed over has parts on two routes)."""
        (
            self.state,
            self.bind,
            self.smsc_message_id,
            self.submitted_at,
            self.responded_at,
            self.command_status,
            self.receipt_at,
            self.receipt_error,
            self.done_at,
            self.smsc,
        ) = values  # type: ignore[assignment]
        self.stored = True
        return self


class MessageRow:
    """A message as stored, with the parts loaded; ``changed`` has a bit per MESSAGE_COLUMNS."""

    __slots__ = (
        "callback_events",
        "callback_url",
        "campaign_id",
        "changed",
        "error_code",
        "id",
        "moves",
        "not_before",
        "part_rows",
        "parts",
        "possible_duplicate",
        "smsc",
        "state",
        "stored_smsc",
        "stored_state",
        "tenant",
        "unclean_stops",
        "updated_at",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        """``row``: the stored values of MESSAGE_ROW, in that order."""
        self.id: int = row[0]
        self.smsc: str = row[1]
        self.state: str = row[2]
        self.parts: int = row[3]
        self.not_before: float = row[4]
        self.possible_duplicate = bool(row[5])
        self.error_code: int | None = row[6]
        self.updated_at: float = row[7]
        self.campaign_id: int | None = row[8]
        self.unclean_stops: int = row[9]
        self.tenant: str | None = row[10]
        self.callback_url: str | None = row[11]
        self.callback_events: str | None = row[12]
        # (state, at) of each move, for the callbacks: only when it has a URL.
        self.moves: list[tuple[str, float]] | None = None if row[11] is None else []
        self.stored_state = self.state
        self.stored_smsc = self.smsc
        self.part_rows: dict[int, PartRow] = {}
        self.changed = 0

    def part(self, index: int) -> PartRow:
        row = self.part_rows.get(index)
        if row is None:
            row = self.part_rows[index] = PartRow(self.id, index, self.smsc)
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
        # SUBMITTING, and every query on a lease asks for SUBMITTING.
        if self.moves is not None and state != self.state:
            self.moves.append((state, self.updated_at))
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


class HeldReceipt:
    """A receipt waiting for its part's SMSC id; ``row_id`` None: held by this batch."""

    __slots__ = ("done_at", "error", "received_at", "row_id", "smsc", "smsc_message_id", "state")

    def __init__(
        self,
        row_id: int | None,
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


def receipt_timeout(*, presume_delivered: bool) -> tuple[MessageState, str]:
    """The state a SUBMITTED message takes when its receipt timeout passes, and why.

    On a route asking failure receipts only, silence is the SMSC's word for
    success: PRESUMED_DELIVERED (never proof of delivery). Elsewhere a final
    receipt was due and its fate cannot be known: UNKNOWN.
    """
    if presume_delivered:
        return MessageState.PRESUMED_DELIVERED, "no failure receipt"
    return MessageState.UNKNOWN, "no final receipt"


def check_updates(updates: Iterable[Update]) -> None:
    """Refuse (ValueError) an update no store may apply: a receipt with a state that is
    not final for a part."""
    for u in updates:
        if isinstance(u, ReceiptArrived) and u.state not in RECEIPT_PART_STATES:
            raise ValueError(f"ReceiptArrived.state must be a final part state, got {u.state!r}")


def split_dispatching(updates: Iterable[Update]) -> tuple[list[int], list[AppliedUpdate]]:
    """The ids the batch's Dispatching marks name, and the other updates in order.

    A message's mark comes before any answer to it, so a backend marks first (one
    statement) and applies the rest; the mark means something only while SUBMITTING.
    """
    dispatched: list[int] = []
    applied: list[AppliedUpdate] = []
    for u in updates:
        if isinstance(u, Dispatching):
            dispatched.extend(u.message_ids)
        else:
            applied.append(u)
    return dispatched, applied


class RecordBatch:
    """The rows one batch touches and the updates applied to them, in order.

    ``campaign_state`` answers a campaign's state (None: no such campaign) when a
    retry must requeue one of its messages; the backend reads it (PostgreSQL:
    locked, before the batch is applied).
    """

    def __init__(self, campaign_state: Callable[[int], str | None]) -> None:
        self.campaign_state = campaign_state
        self.messages: dict[int, MessageRow] = {}
        # (smsc, smsc_message_id) -> the part that carries it (the newest message wins).
        self.by_smsc_id: dict[tuple[str, str], PartRow] = {}
        self.held: dict[tuple[str, str], list[HeldReceipt]] = {}
        self.held_applied: list[int] = []
        self.events: list[tuple[int, float, str, str]] = []
        self.orphans = 0
        self.duplicates = 0
        self.applied_held = 0
        self.dropped_notes = 0

    # --- what the backend loads ---

    @staticmethod
    def message_ids(updates: Iterable[AppliedUpdate]) -> set[int]:
        """The messages the batch's answers name (receipts name theirs by SMSC id)."""
        return {u.message_id for u in updates if not isinstance(u, ReceiptArrived | ReceiptNoted)}

    def receipt_lookups(self, updates: Sequence[AppliedUpdate]) -> dict[str, set[str]]:
        """The SMSC ids, by SMSC, whose parts must be found in the store.

        A receipt that follows its PartSubmitted in this batch finds its part in
        memory; only the others are looked up. Call after the messages are loaded.
        """
        submitted = self.submitted_keys(updates)
        wanted: dict[str, set[str]] = {}
        for u in updates:
            if (
                isinstance(u, ReceiptArrived | ReceiptNoted)
                and (u.smsc, u.smsc_message_id) not in submitted
            ):
                wanted.setdefault(u.smsc, set()).add(u.smsc_message_id)
        return wanted

    def submitted_keys(self, updates: Iterable[AppliedUpdate]) -> set[tuple[str, str]]:
        """The (smsc, SMSC id) pairs the batch's PartSubmitted updates make known."""
        keys: set[tuple[str, str]] = set()
        for u in updates:
            if isinstance(u, PartSubmitted) and (message := self.messages.get(u.message_id)):
                keys.add((u.smsc or message.smsc, u.smsc_message_id))
        return keys

    def add(self, message: MessageRow) -> MessageRow:
        """A message loaded (the first load of an id wins)."""
        return self.messages.setdefault(message.id, message)

    def hold(self, receipt: HeldReceipt) -> None:
        """A receipt held in the store for an id this batch's submits make known."""
        self.held.setdefault((receipt.smsc, receipt.smsc_message_id), []).append(receipt)

    def index_parts(self) -> None:
        """Index the loaded parts by SMSC id; SMSCs recycle ids, so the newest message wins."""
        by_smsc_id = self.by_smsc_id
        for message_id in sorted(self.messages):
            message = self.messages[message_id]
            for part in message.part_rows.values():
                if part.smsc_message_id is not None:
                    by_smsc_id[part.smsc, part.smsc_message_id] = part

    # --- applying, in order ---

    def apply_all(self, updates: Iterable[AppliedUpdate]) -> None:
        for u in updates:
            self.apply(u)

    def apply(self, u: AppliedUpdate) -> None:
        if isinstance(u, ReceiptArrived):
            self._receipt(u)
            return
        if isinstance(u, ReceiptNoted):
            self._note(u)
            return
        message = self.messages.get(u.message_id)
        if isinstance(u, Rerouted):
            if message is None:
                self.orphans += 1
            else:
                self._rerouted(message, u)
        elif message is None or not 0 <= u.part < message.parts:
            self.orphans += 1
        elif isinstance(u, PartSubmitted):
            self._part_submitted(message, u)
        elif isinstance(u, SubmitFailed):
            self._submit_failed(message, u)
        else:
            self._submit_unknown(message, u)

    def _part_submitted(self, message: MessageRow, u: PartSubmitted) -> None:
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
        smsc = u.smsc or message.smsc
        if part.smsc != smsc:  # it failed over: tried on one route, taken by another
            part.smsc = smsc
            part.changed |= _P_SMSC
        key = (smsc, u.smsc_message_id)
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

    def _rerouted(self, message: MessageRow, u: Rerouted) -> None:
        detail = f"{u.from_smsc} -> {u.to_smsc} reason={u.reason}"
        if message.smsc != u.from_smsc or message.state not in _OPEN:
            # Another process moved it first, or it was answered meanwhile: it stays.
            detail += f" not moved: on {message.smsc}, {message.state}"
            self.events.append((message.id, u.at, "reroute_skipped", detail))
            return
        message.smsc = u.to_smsc
        message.updated_at = max(message.updated_at, u.at)
        message.changed |= _M_SMSC | _M_UPDATED_AT
        if message.state not in _WAITING:  # claimed: back to its queue, on the new route
            detail += self._requeue(message, u.at)
        self.events.append((message.id, u.at, REROUTED_EVENT, detail))

    def _requeue(self, message: MessageRow, retry_at: float) -> str:
        message.changed |= _M_NOT_BEFORE
        if message.state in _WAITING:  # an earlier update (or a campaign pause) did it
            message.not_before = max(message.not_before, retry_at)
            return message.move(message.state)
        message.not_before = retry_at
        if message.campaign_id is None:
            return message.move(_QUEUED)
        return message.move(waiting_state(self.campaign_state(message.campaign_id)).value)

    def _submit_failed(self, message: MessageRow, u: SubmitFailed) -> None:
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

    def _submit_unknown(self, message: MessageRow, u: SubmitUnknown) -> None:
        part = message.part(u.part)
        message.touch(u.at)
        detail = f"part={u.part} reason={u.reason}"
        if part.state not in ANSWERED_PART_STATES:
            part.state = PartState.UNKNOWN.value
            part.changed |= _P_STATE
            if message.state in _OPEN:
                if u.retry_at is not None:
                    message.possible_duplicate = True
                    message.changed |= _M_POSSIBLE_DUPLICATE
                    detail += f" retry_at={u.retry_at}" + self._requeue(message, u.retry_at)
                else:
                    detail += message.move(MessageState.UNKNOWN.value)
        self.events.append((message.id, u.at, "submit_unknown", detail))

    def _receipt(self, u: ReceiptArrived) -> None:
        key = (u.smsc, u.smsc_message_id)
        held = HeldReceipt(
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

    def _note(self, u: ReceiptNoted) -> None:
        part = self.by_smsc_id.get((u.smsc, u.smsc_message_id))
        if part is None:
            self.dropped_notes += 1
            return
        detail = f"part={part.part} state={u.state}"
        self.events.append((part.message_id, u.received_at, "receipt_intermediate", detail))

    def _apply_receipt(
        self, message: MessageRow, part: PartRow, r: HeldReceipt, *, held: bool
    ) -> None:
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

    # --- what the backend writes ---

    def changed_messages(self) -> list[MessageRow]:
        return [m for m in self.messages.values() if m.changed]

    @staticmethod
    def changed_parts(messages: Iterable[MessageRow]) -> list[PartRow]:
        return [p for m in messages for p in m.part_rows.values() if p.changed]

    def still_held(self) -> list[HeldReceipt]:
        """Receipts this batch holds (no part carries their id yet), to be stored."""
        return [h for waiting in self.held.values() for h in waiting if h.row_id is None]

    @staticmethod
    def state_changes(messages: Iterable[MessageRow]) -> dict[tuple[str, str], int]:
        """Per (smsc, state): how many messages came (+) or left (-)."""
        deltas: dict[tuple[str, str], int] = {}
        for m in messages:
            if m.state != m.stored_state or m.smsc != m.stored_smsc:
                left = (m.stored_smsc, m.stored_state)
                came = (m.smsc, m.state)
                deltas[left] = deltas.get(left, 0) - 1
                deltas[came] = deltas.get(came, 0) + 1
        return {key: n for key, n in deltas.items() if n}

    @staticmethod
    def outbox_rows(messages: Iterable[MessageRow]) -> list[OutboxRow]:
        """The callback events of the moves of ``messages`` their clients asked for, in
        order: a message moved twice in one batch (submitted, then delivered) has two."""
        return [
            OutboxRow(m.id, m.tenant, m.callback_url, state, at)
            for m in messages
            if m.moves and m.callback_url is not None
            for state, at in m.moves
            if wanted(m.callback_events, state)
        ]

    def counters(self) -> list[tuple[str, int]]:
        """The store counters this batch adds to, with what it adds."""
        counted = [
            ("orphan_updates", self.orphans),
            ("duplicate_receipts", self.duplicates),
            ("held_receipts_applied", self.applied_held),
            ("intermediate_receipts_dropped", self.dropped_notes),
        ]
        return [(name, n) for name, n in counted if n]
