"""What the store keeps about bulk campaigns, recipient groups and the opt-out list.

The campaign domain (:mod:`smpp_engine.campaigns`) decides; the store persists.
A campaign's ``state`` is a :class:`CampaignState` and its ``kind`` a
:class:`CampaignKind`, both defined here, below the domain that uses them, and
kept as their text. Times are float epoch seconds, as in :mod:`..messages.model`.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..messages.model import FINAL_STATES, MessageState

__all__ = [
    "CampaignKind",
    "CampaignState",
    "CampaignStats",
    "CampaignView",
    "GroupMember",
    "GroupView",
    "NewCampaign",
]


class CampaignState(enum.StrEnum):
    """Where a campaign is in its life (the moves between them: campaigns/state.py)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"

    @property
    def is_final(self) -> bool:
        """Whether no action can leave this state."""
        return self in CLOSED_STATES


class CampaignKind(enum.StrEnum):
    """What a campaign is for; decides whether the opt-out list applies."""

    BULK = "bulk"
    LEGAL_NOTICE = "legal_notice"

    @property
    def respects_opt_out(self) -> bool:
        """False only for legal notices, which the consumer cannot opt out of."""
        return self is not CampaignKind.LEGAL_NOTICE


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """A campaign to create; it starts as a draft. Raises ValueError for a bad value.

    ``rate`` is messages per second (above 0). ``settings`` is JSON text the
    caller owns (quiet hours, time zones...): stored and returned as given.
    """

    name: str
    smsc: str
    sender: str
    template: str
    kind: str  # "bulk" or "legal_notice"
    rate: float
    start_at: float | None
    settings: str
    #: The tenant whose key created it; None: the operator's.
    tenant: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a campaign needs a name")
        if self.kind not in _KINDS:
            raise ValueError(f"campaign kind must be bulk or legal_notice, got {self.kind!r}")
        check_rate(self.rate)
        if self.start_at is not None and not math.isfinite(self.start_at):
            raise ValueError(f"campaign start_at must be a finite time, got {self.start_at!r}")
        try:
            json.loads(self.settings)
        except ValueError as exc:
            raise ValueError(f"campaign settings must be JSON text: {exc}") from None
        # Floats, so both stores give back what they were given (SQLite keeps an int an int).
        object.__setattr__(self, "rate", float(self.rate))
        if self.start_at is not None:
            object.__setattr__(self, "start_at", float(self.start_at))


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A stored campaign; ``state`` is a CampaignState value ("draft", "running"...)."""

    campaign_id: int
    name: str
    smsc: str
    sender: str
    template: str
    kind: str
    rate: float
    start_at: float | None
    settings: str
    state: str
    created_at: float
    updated_at: float
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """Where a campaign's messages are.

    ``by_state`` leaves out states with none. ``errors`` counts the failed
    messages by the submit error (``command_status``) that failed them.
    ``receipts_pending`` are SUBMITTED, ``failed`` the final states other than
    DELIVERED and CANCELLED, ``queued`` QUEUED, SUBMITTING and HELD,
    ``cancelled`` CANCELLED: withdrawn before they were sent, so neither sent
    nor failed.
    """

    campaign_id: int
    total: int
    by_state: Mapping[MessageState, int]
    errors: Mapping[int, int]
    receipts_pending: int
    delivered: int
    failed: int
    queued: int
    cancelled: int = 0

    @property
    def sent(self) -> int:
        """Messages that left the queue for the SMSC: neither waiting nor cancelled."""
        return self.total - self.queued - self.cancelled


@dataclass(frozen=True, slots=True)
class QueuedCampaignMessage:
    """A campaign message still waiting to be sent: what pacing it again needs."""

    message_id: int
    destination: str
    not_before: float


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One recipient of a group: a normalised MSISDN and its template values."""

    msisdn: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupView:
    """A recipient group and how many members it has."""

    group_id: int
    name: str
    members: int
    created_at: float


def check_rate(rate: float) -> None:
    """Raise ValueError unless ``rate`` is a finite number of messages per second above 0."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(f"campaign rate must be a number, got {rate!r}")
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"campaign rate must be finite and above 0, got {rate!r}")


# --- how a campaign's state decides where its waiting messages wait ---

_KINDS = frozenset(CampaignKind)
HOLDING_STATES = frozenset({CampaignState.DRAFT, CampaignState.PAUSED})
"""Campaign states whose waiting messages are HELD: a draft has not been let go yet."""
RELEASING_STATES = frozenset({CampaignState.SCHEDULED, CampaignState.RUNNING})
"""Campaign states whose HELD messages go back to QUEUED."""
CLOSED_STATES = frozenset({CampaignState.CANCELLED, CampaignState.COMPLETED})
"""Campaign states that take no more messages."""


def check_campaign_state(state: str) -> None:
    """Raise ValueError unless ``state`` is a CampaignState value."""
    if state not in _STATES:
        raise ValueError(f"unknown campaign state {state!r}")


_STATES = frozenset(CampaignState)


def waiting_state(campaign_state: str | None) -> MessageState:
    """Where a message of a campaign in ``campaign_state`` goes when it waits to be sent.

    ``None`` (no campaign, or one the store does not know): QUEUED. A cancelled
    campaign's message is not sent at all: CANCELLED.
    """
    if campaign_state in HOLDING_STATES:
        return MessageState.HELD
    if campaign_state == CampaignState.CANCELLED:
        return MessageState.CANCELLED
    return MessageState.QUEUED


# A presumed delivery (no failure reported on a failure-only route) is no failure:
# it shows in by_state alone.
_FAILED = frozenset(
    FINAL_STATES - {MessageState.DELIVERED, MessageState.CANCELLED, MessageState.PRESUMED_DELIVERED}
)
_IN_QUEUE = frozenset({MessageState.QUEUED, MessageState.SUBMITTING, MessageState.HELD})
FAILED_STATE_VALUES: tuple[str, ...] = tuple(sorted(state.value for state in _FAILED))
"""The final states other than DELIVERED, CANCELLED and PRESUMED_DELIVERED, as stored:
whose error codes the stats count."""


def build_stats(
    campaign_id: int, by_state: Mapping[str, int], errors: Mapping[int, int]
) -> CampaignStats:
    """The stats from the counts per stored state and per error code."""
    counts = {MessageState(state): n for state, n in by_state.items() if n}
    return CampaignStats(
        campaign_id=campaign_id,
        total=sum(counts.values()),
        by_state=counts,
        errors={code: n for code, n in errors.items() if n},
        receipts_pending=counts.get(MessageState.SUBMITTED, 0),
        delivered=counts.get(MessageState.DELIVERED, 0),
        failed=sum(n for state, n in counts.items() if state in _FAILED),
        queued=sum(n for state, n in counts.items() if state in _IN_QUEUE),
        cancelled=counts.get(MessageState.CANCELLED, 0),
    )


def fields_json(fields: Mapping[str, str]) -> str:
    """A member's fields as JSON text, canonical so equal fields compare equal as text."""
    return json.dumps(dict(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def msisdn_list(msisdns: Sequence[str]) -> list[str]:
    """``msisdns`` as a list; a bare string (a sequence of digits) is refused."""
    if isinstance(msisdns, str):
        raise TypeError("msisdns must be a sequence of MSISDNs, not one string")
    return list(msisdns)
