"""A campaign's settings, and the messages it comes to for a list of recipients.

:func:`plan_messages` is pure: it is given the time and the opt-out snapshot and
decides, per recipient, the text, its cost and the earliest instant it may go:
the start time, moved out of the recipient's quiet hours. It does not space the
messages by ``rate``; the sender's rate limiter does, because pausing, resuming
and the bind's own TPS limit would make precomputed slots wrong. For the same
reason the sender must check :meth:`QuietHours.next_allowed` again when a message
is actually due: a long campaign can run into the evening.

Quiet hours apply to every kind of campaign, legal notices included; only the
opt-out list is waived for those.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from smpp_engine.protocol import (
    DEFAULT_PROFILE,
    MAX_PARTS,
    Concatenation,
    PduError,
    TextProfile,
    TextTooLongError,
    plan_text,
    sender_address,
)

from .errors import CampaignSettingError
from .optout import CampaignKind
from .pacing import check_rate
from .quiet_hours import QuietHours
from .recipients import Recipient
from .template import MissingFieldError, Template
from .time_zones import RecipientTimeZones

#: The earliest start a campaign is given; an earlier one is a mistake (an epoch
#: of 0, a two-digit year), not a wish to start at once.
EARLIEST_START: Final = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead a campaign may be scheduled: a century. It keeps every slot far
#: from the end of the calendar (year 9999), so whatever is stored can be shown.
MAX_START_AHEAD: Final = timedelta(days=36_525)


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """What to send, from whom, how fast and when; raises :class:`CampaignSettingError`.

    ``rate`` is messages per second for this campaign; ``start_at`` (aware) is
    the earliest start, ``None`` meaning as soon as planned; ``time_zones`` says
    whose clock the quiet hours are read on.
    """

    name: str
    template: Template
    sender: str
    rate: float
    kind: CampaignKind = CampaignKind.BULK
    start_at: datetime | None = None
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    time_zones: RecipientTimeZones = field(default_factory=RecipientTimeZones)
    priority: str = "bulk"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise CampaignSettingError("a campaign needs a name", field="name", value=self.name)
        check_rate(self.rate)
        if self.start_at is not None:
            _check_start(self.start_at)
        try:
            sender_address(self.sender)
        except PduError as exc:
            raise CampaignSettingError(exc.reason, field="sender", value=self.sender) from None
        if not self.priority.strip():
            raise CampaignSettingError(
                "a priority needs a name", field="priority", value=self.priority
            )


def _check_start(start_at: datetime) -> None:
    if not isinstance(start_at, datetime) or start_at.utcoffset() is None:
        raise CampaignSettingError(
            "start_at must be time zone-aware", field="start_at", value=start_at
        )
    try:
        # Year 1 at +14:00 is year 0 in UTC: no datetime holds it.
        early = start_at.astimezone(UTC) < EARLIEST_START
    except OverflowError:
        early = start_at.year < EARLIEST_START.year
        if not early:
            raise CampaignSettingError(
                "past the end of the calendar",
                field="start_at",
                value=start_at.isoformat(),
            ) from None
    if early:
        raise CampaignSettingError(
            f"{EARLIEST_START.date().isoformat()} or later",
            field="start_at",
            value=start_at.isoformat(),
        )


class SkipReason(enum.Enum):
    """Why a recipient gets no message."""

    DUPLICATE = "duplicate"
    OPTED_OUT = "opted_out"
    MISSING_FIELD = "missing_field"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One message to send: not before ``send_at`` (UTC), as ``parts`` SMS."""

    recipient: Recipient
    text: str
    send_at: datetime
    time_zone: str
    parts: int
    data_coding: int


@dataclass(frozen=True, slots=True)
class SkippedRecipient:
    """A recipient that gets no message, and why (``detail`` is for people)."""

    recipient: Recipient
    reason: SkipReason
    detail: str


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """Every recipient, either as a message or as skipped."""

    messages: tuple[PlannedMessage, ...]
    skipped: tuple[SkippedRecipient, ...]

    @property
    def total_parts(self) -> int:
        """The SMS the messages cost."""
        return sum(message.parts for message in self.messages)

    def skipped_by_reason(self) -> dict[SkipReason, int]:
        """How many recipients were skipped for each reason (zeros included)."""
        counts = dict.fromkeys(SkipReason, 0)
        for skipped in self.skipped:
            counts[skipped.reason] += 1
        return counts


def plan_messages(
    plan: CampaignPlan,
    recipients: Iterable[Recipient],
    opted_out: Container[str],
    now: datetime,
    *,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
    max_parts: int = MAX_PARTS,
) -> PlannedBatch:
    """The message for each recipient, or why there is none.

    ``opted_out`` holds normalised MSISDNs (an :class:`OptOutList` does); it is
    ignored for kinds that do not respect opt-out. A repeated MSISDN keeps its
    first recipient. ``now`` must be aware; ``profile`` and ``method`` are the
    bind's, so that the part count is the one the sender will produce; a text
    longer than the route's ``max_parts`` SMS is skipped as too long.
    """
    if now.utcoffset() is None:
        raise CampaignSettingError("now must be time zone-aware", field="now", value=now)
    if plan.start_at is not None and plan.start_at > now + MAX_START_AHEAD:
        raise CampaignSettingError(
            f"at most {MAX_START_AHEAD.days // 365} years ahead",
            field="start_at",
            value=plan.start_at.isoformat(),
        )
    start = now if plan.start_at is None else max(plan.start_at, now)
    honour_opt_out = plan.kind.respects_opt_out
    template = plan.template
    time_zones = plan.time_zones
    send_at_by_zone: dict[str, datetime] = {}
    first_lines: dict[str, int] = {}
    messages: list[PlannedMessage] = []
    skipped: list[SkippedRecipient] = []
    for recipient in recipients:
        msisdn = recipient.msisdn
        first = first_lines.get(msisdn)
        if first is not None:
            skipped.append(
                SkippedRecipient(recipient, SkipReason.DUPLICATE, f"same MSISDN as line {first}")
            )
            continue
        first_lines[msisdn] = recipient.line
        if honour_opt_out and msisdn in opted_out:
            skipped.append(SkippedRecipient(recipient, SkipReason.OPTED_OUT, "on the opt-out list"))
            continue
        try:
            text = template.render(recipient.fields)
            cost = plan_text(text, profile, method, max_parts=max_parts)
        except MissingFieldError as exc:
            skipped.append(
                SkippedRecipient(recipient, SkipReason.MISSING_FIELD, f"{exc.reason}: {exc.field}")
            )
            continue
        except TextTooLongError as exc:
            skipped.append(SkippedRecipient(recipient, SkipReason.TOO_LONG, exc.reason))
            continue
        # Recipients share a handful of zones, so next_allowed runs once per zone.
        zone_name = time_zones.name_for(msisdn)
        send_at = send_at_by_zone.get(zone_name)
        if send_at is None:
            send_at = plan.quiet_hours.next_allowed(start, time_zones.zone_for(msisdn))
            send_at_by_zone[zone_name] = send_at
        messages.append(
            PlannedMessage(recipient, text, send_at, zone_name, cost.air_parts, cost.data_coding)
        )
    return PlannedBatch(tuple(messages), tuple(skipped))
