"""What the store keeps about a message: its record, its parts, its history, and the updates.

Times are wall-clock seconds since the epoch (``time.time()``), as floats: cheap
to move in batches and the same in both stores. Message ids are integers the
store assigns; the caller gets one only once the message is durable.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field

from throttling import Priority

__all__ = [
    "FINAL_STATES",
    "Accepted",
    "ClaimedMessage",
    "Dispatching",
    "MessageEvent",
    "MessageState",
    "MessageView",
    "NewMessage",
    "PartState",
    "PartSubmitted",
    "PartView",
    "ReceiptArrived",
    "ReceiptNoted",
    "RecoveryReport",
    "Rerouted",
    "SubmitFailed",
    "SubmitUnknown",
    "Update",
]


class MessageState(enum.StrEnum):
    """Where a message is in its life. The first four are not final."""

    QUEUED = "queued"  # durable, waiting for its turn (not_before, rate, priority)
    HELD = "held"  # queued, but its campaign is paused (or a draft): never claimed
    SUBMITTING = "submitting"  # claimed by a gateway process under a lease
    SUBMITTED = "submitted"  # every part answered ESME_ROK; waiting for receipts
    DELIVERED = "delivered"  # every part's receipt said DELIVRD
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"  # validity ran out, at the SMSC (receipt) or before submission
    REJECTED = "rejected"  # a permanent submit error, or a REJECTD receipt
    DELETED = "deleted"
    UNKNOWN = "unknown"  # the fate cannot be known: no receipt in time, UNKNOWN receipt
    # No failure receipt by the receipt timeout on a route asking failure receipts
    # only: presumably delivered, never proof of delivery.
    PRESUMED_DELIVERED = "presumed_delivered"
    CANCELLED = "cancelled"  # withdrawn (campaign cancelled) before submission
    # In flight at too many unclean stops in a row: suspected of stopping the
    # gateway, so it is kept aside instead of being sent again.
    QUARANTINED = "quarantined"


FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.UNDELIVERABLE,
        MessageState.EXPIRED,
        MessageState.REJECTED,
        MessageState.DELETED,
        MessageState.UNKNOWN,
        MessageState.PRESUMED_DELIVERED,
        MessageState.CANCELLED,
        MessageState.QUARANTINED,
    }
)


class PartState(enum.StrEnum):
    """One SMPP submit (one segment of a long text)."""

    PENDING = "pending"  # not answered yet
    SUBMITTED = "submitted"  # ESME_ROK with an SMSC message id
    FAILED = "failed"  # a status that will not be retried
    UNKNOWN = "unknown"  # no answer: link lost or response deadline passed
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"
    REJECTED = "rejected"
    DELETED = "deleted"
    RECEIPT_UNKNOWN = "receipt_unknown"  # the receipt itself said UNKNOWN


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to accept. ``parts`` is how many SMPP submits its text takes.

    ``idempotency_key``: a second accept with the same key returns the first
    message's id and stores nothing. ``not_before``: not submitted earlier (a
    campaign's start or the end of quiet hours). ``expires_at``: not submitted
    after; becomes EXPIRED. ``priority``: higher goes first (the stores keep
    its value: 2 interactive, 1 transactional, 0 bulk). ``route_rule``: the
    routing rule that chose ``smsc`` ("explicit" when the request named it; None
    without a routing table); ``route_plan``: the routes that rule allows, in
    failover order (``smsc`` first; empty: the message never moves).
    """

    smsc: str
    source: str
    destination: str
    text: str
    parts: int = 1
    priority: Priority = Priority.BULK
    registered_delivery: bool = True
    not_before: float = 0.0
    expires_at: float | None = None
    idempotency_key: str | None = None
    campaign_id: int | None = None
    source_ton: int = 5
    source_npi: int = 0
    dest_ton: int = 1
    dest_npi: int = 1
    route_rule: str | None = None
    route_plan: tuple[str, ...] = ()
    #: The tenant whose API key sent it; None: the operator's (no tenant).
    tenant: str | None = None
    #: Where its state changes are posted (None: nowhere), and which: states by name,
    #: and "accepted" (see :mod:`..callbacks.model`).
    callback_url: str | None = None
    callback_events: frozenset[str] = frozenset()
    #: The one segment to submit as it is (a client's submit_sm over the SMPP server
    #: face: esm_class, data_coding, short_message, TLVs; see
    #: :mod:`smpp_engine.protocol.segment_payload`); None: ``text`` is split by the route.
    payload: bytes | None = None
    #: Sent as a flash SMS (data_coding message class 0: shown, not stored, by the
    #: handset); accepted only for a route that allows it.
    flash: bool = False
    #: The send time its client asked for (the send API's send_at; ``not_before`` is
    #: set to it too). Only such a message may be handed to a route that schedules
    #: at the SMSC before that time; a retry's or a campaign's not_before never is.
    send_at: float | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The durable id of an accepted message; ``duplicate`` when its idempotency key was known."""

    message_id: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A queued message handed to one gateway process under a lease, ready to submit.

    ``attempts`` counts earlier claims; ``possible_duplicate`` is set when an
    earlier attempt may have reached the SMSC (lease ran out, no answer).
    ``unclean_stops``: how many times in a row a gateway stopped uncleanly while
    this message was being sent; above zero, the message is a suspect and is
    sent on its own.
    ``pending_parts`` are the 0-based parts not yet answered ESME_ROK: a resumed
    long message sends only those (the pipeline derives the concatenation
    reference from ``message_id`` so resent parts join the others).
    """

    message_id: int
    smsc: str
    source: str
    destination: str
    text: str
    parts: int
    priority: Priority
    registered_delivery: bool
    expires_at: float | None
    attempts: int
    possible_duplicate: bool
    campaign_id: int | None
    pending_parts: tuple[int, ...]  # the parts to submit now (all, unless resumed)
    source_ton: int
    source_npi: int
    dest_ton: int
    dest_npi: int
    unclean_stops: int = 0
    dispatched: bool = False  # marked dispatched when stored (a reply handed over at once)
    route_plan: tuple[str, ...] = ()  # the routes its rule allows, in failover order
    #: The segment to submit as it is (see :attr:`NewMessage.payload`); None: split ``text``.
    payload: bytes | None = None
    flash: bool = False  # every part goes with message class 0 (see NewMessage.flash)
    send_at: float | None = None  # the client's send time (see NewMessage.send_at)


_ALL_PARTS = tuple(tuple(range(n)) for n in range(256))  # pending_parts of a fresh message
_PRIORITIES = {int(p): p for p in Priority}


def pending_parts(parts: int, answered: Collection[int]) -> tuple[int, ...]:
    """A claimed message's parts not ``answered`` yet, in order (all of a fresh one)."""
    if not answered:
        return _ALL_PARTS[parts] if parts < len(_ALL_PARTS) else tuple(range(parts))
    return tuple(p for p in range(parts) if p not in answered)


def stored_priority(value: int) -> Priority:
    """The :class:`Priority` a store row holds (a value no priority has raises ValueError)."""
    priority = _PRIORITIES.get(value)
    return Priority(value) if priority is None else priority


# --- updates: what the pipeline records, in batches, through the batching writer ---


@dataclass(frozen=True, slots=True)
class PartSubmitted:
    """Part ``part`` (0-based) was answered ESME_ROK with ``smsc_message_id``.

    ``smsc_message_id`` is normalised by the pipeline (per SMSC) before it gets
    here, so receipts can find it. When every part of the message is submitted
    the message becomes SUBMITTED (or final, if receipts came first).
    """

    message_id: int
    part: int
    bind: str
    smsc_message_id: str
    submitted_at: float
    responded_at: float
    #: The route it was submitted on ("": the message's). A message that failed over
    #: has parts on two routes, and each receipt comes from the SMSC that took its part.
    smsc: str = ""


@dataclass(frozen=True, slots=True)
class Dispatching:
    """The claimed messages ``message_ids`` are about to be sent.

    Recorded, and durable, before their first submit_sm is written: a message
    whose lease runs out with this mark may have reached the SMSC (it is requeued
    as a possible duplicate and its unclean stop is counted); one without it
    never left the gateway (it is requeued as it was).
    """

    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SubmitFailed:
    """Part ``part`` was answered with an error ``command_status``.

    ``retry_at`` set: the message goes back to QUEUED with not_before = retry_at
    (its lease released). ``retry_at`` None: permanent, the message becomes
    REJECTED (or EXPIRED when ``expired``). ``reason`` says why in words when
    the gateway itself refused the message (it could not be built or encoded).
    """

    message_id: int
    part: int
    command_status: int
    at: float
    retry_at: float | None = None
    expired: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitUnknown:
    """Part ``part`` got no answer (``reason``: "timeout", "link_lost").

    The SMSC may or may not have it. ``retry_at`` set: the message goes back to
    QUEUED (not_before = retry_at) flagged possible_duplicate, and only its parts
    not yet answered are submitted again (at-least-once: the duplicate window is
    what was in flight). ``retry_at`` None (attempts exhausted): UNKNOWN.
    """

    message_id: int
    part: int
    at: float
    reason: str
    retry_at: float | None = None


@dataclass(frozen=True, slots=True)
class ReceiptArrived:
    """A delivery receipt for the part the SMSC knows as ``smsc_message_id``.

    ``state`` is a final PartState (DELIVERED ... RECEIPT_UNKNOWN). A receipt whose
    id is not known yet (it beat its submit_sm_resp) is held by the store and
    applied when the matching :class:`PartSubmitted` is recorded. ``error`` is the
    receipt's err: value; ``done_at`` the SMSC's done date when it gave one.
    """

    smsc: str
    smsc_message_id: str
    state: PartState
    received_at: float
    error: str | None = None
    done_at: float | None = None


@dataclass(frozen=True, slots=True)
class Rerouted:
    """The message fails over from route ``from_smsc`` to ``to_smsc`` (``reason`` says why).

    Applied only while the message is on ``from_smsc`` and not final: claimed
    (SUBMITTING) it goes back to its queue on ``to_smsc`` from ``at``; waiting
    (QUEUED, HELD) it keeps its place in time. Its id, parts already answered and
    their SMSC ids stay: only the parts still pending are sent on the new route,
    with the same concatenation reference. The history gets a "rerouted" event.
    """

    message_id: int
    from_smsc: str
    to_smsc: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class ReceiptNoted:
    """An intermediate notification for the part the SMSC knows as ``smsc_message_id``:
    ``state`` is what the SMSC said (ENROUTE, ACCEPTED ...). It settles nothing and
    goes into the message's history; one for an id no part carries yet is dropped."""

    smsc: str
    smsc_message_id: str
    state: str
    received_at: float


Update = (
    PartSubmitted
    | SubmitFailed
    | SubmitUnknown
    | ReceiptArrived
    | ReceiptNoted
    | Dispatching
    | Rerouted
)


# --- reads ---


@dataclass(frozen=True, slots=True)
class PartView:
    part: int
    state: PartState
    bind: str | None
    smsc_message_id: str | None
    submitted_at: float | None
    responded_at: float | None
    command_status: int | None
    receipt_at: float | None
    receipt_error: str | None
    done_at: float | None


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One line of a message's history: ``event`` names what happened, ``detail`` the facts."""

    at: float
    event: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MessageView:
    message_id: int
    smsc: str
    source: str
    destination: str
    text: str
    state: MessageState
    priority: int
    parts: int
    created_at: float
    updated_at: float
    attempts: int
    possible_duplicate: bool
    campaign_id: int | None
    idempotency_key: str | None
    error_code: int | None
    part_views: tuple[PartView, ...] = ()
    events: tuple[MessageEvent, ...] = ()
    route_rule: str | None = None
    route_plan: tuple[str, ...] = ()
    tenant: str | None = None
    flash: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What :meth:`Store.recover` found: messages whose lease ran out mid-submission.

    Each went back to QUEUED (or HELD / CANCELLED, as its campaign's state says);
    its parts already answered ESME_ROK are not sent again. ``possible_duplicates``
    of them had been dispatched (they may have reached the SMSC) and are flagged;
    ``quarantined`` ones had been in flight at too many unclean stops in a row.
    """

    requeued: int = 0
    message_ids: tuple[int, ...] = field(default=(), repr=False)
    possible_duplicates: int = 0
    quarantined: tuple[int, ...] = ()
