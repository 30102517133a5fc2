"""Campaigns on a store: create one from a CSV file or a group, change its state, follow it.

The one module of the package that does I/O: it reads the recipients file (in a
worker thread, it can hold 200,000 rows), asks the store which recipients opted
out, plans and paces the messages with the pure modules, and stores them. The
pipeline then sends each one when its ``not_before`` comes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

import trio

from throttling import Priority

from ..protocol import DEFAULT_PROFILE, MAX_PARTS, Concatenation, TextProfile, sender_address
from ..store import NewMessage, Store
from ..store.campaigns.interface import CampaignStore
from ..store.campaigns.model import CampaignStats, CampaignView, NewCampaign
from .errors import CampaignError, CampaignSettingError
from .optout import CampaignKind
from .pacing import check_rate, pace
from .plan import CampaignPlan, PlannedBatch, plan_messages
from .quiet_hours import QuietHours
from .recipients import Recipient, deduplicate
from .recipients_csv import OnError, RowError, read_recipients
from .state import CampaignAction, CampaignState, transition
from .template import Template
from .time_zones import RecipientTimeZones

__all__ = [
    "CampaignBackend",
    "CampaignReport",
    "CampaignRequest",
    "UnknownCampaignNameError",
    "change_campaign",
    "create_campaign",
    "follow_campaign",
]


class CampaignBackend(Store, CampaignStore, Protocol):
    """A store that keeps campaigns too (both backends are)."""


_CHUNK = 5000  # messages per store transaction: bounded memory, few round trips


class UnknownCampaignNameError(CampaignError):
    """No campaign (or group) has this name."""


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    """Everything ``campaign create`` is told.

    Exactly one of ``csv_path``, ``group`` and ``recipients`` (given inline,
    MSISDNs already normalised; repeated numbers are counted as duplicates).
    """

    name: str
    smsc: str
    sender: str
    template: str
    rate: float
    kind: CampaignKind = CampaignKind.BULK
    start_at: datetime | None = None
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    time_zones: RecipientTimeZones = field(default_factory=RecipientTimeZones)
    csv_path: Path | None = None
    group: str | None = None
    recipients: tuple[Recipient, ...] | None = None
    on_error: OnError = "skip"
    default_country_code: str | None = None
    profile: TextProfile = DEFAULT_PROFILE
    method: Concatenation = Concatenation.UDH8
    #: The route's most SMS per message (``[[smsc]] max_parts``).
    max_parts: int = MAX_PARTS
    #: The tenant creating it (its messages carry it too); None: the operator.
    tenant: str | None = None
    #: Where its messages' state changes are posted, and which (none: nowhere).
    callback_url: str | None = None
    callback_events: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """What ``campaign create`` did: the campaign, what was queued, what was not and why."""

    campaign: CampaignView | None  # None for a dry run
    recipients: int
    queued: int
    skipped: dict[str, int]
    row_errors: tuple[RowError, ...]
    duplicates: int
    total_parts: int
    max_parts: int
    ucs2_messages: int
    first_send_at: datetime | None
    last_send_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "campaign": self.campaign.name if self.campaign else None,
            "campaign_id": self.campaign.campaign_id if self.campaign else None,
            "state": self.campaign.state if self.campaign else "dry-run",
            "recipients": self.recipients,
            "queued": self.queued,
            "skipped": self.skipped,
            "bad_rows": [
                {"line": e.line, "field": e.field, "value": e.value, "reason": e.reason}
                for e in self.row_errors
            ],
            "duplicates": self.duplicates,
            "sms_parts": self.total_parts,
            "max_parts": self.max_parts,
            "ucs2_messages": self.ucs2_messages,
            "first_send_at": self.first_send_at.isoformat() if self.first_send_at else None,
            "last_send_at": self.last_send_at.isoformat() if self.last_send_at else None,
        }


async def create_campaign(
    store: CampaignBackend, request: CampaignRequest, *, now: datetime, dry_run: bool = False
) -> CampaignReport:
    """Plan, pace and (unless ``dry_run``) store the campaign's messages; it starts RUNNING.

    Raises :class:`CampaignError` subclasses for bad settings, an unreadable or
    (with ``on_error="refuse"``) bad recipients file, or an unknown group.
    """
    template = Template(request.template)
    plan = CampaignPlan(
        name=request.name,
        template=template,
        sender=request.sender,
        rate=request.rate,
        kind=request.kind,
        start_at=request.start_at,
        quiet_hours=request.quiet_hours,
        time_zones=request.time_zones,
    )
    recipients, row_errors, duplicates = await _recipients(store, request, template)
    opted_out: set[str] = set()
    if request.kind.respects_opt_out:
        opted_out = await store.opted_out([r.msisdn for r in recipients])
    batch: PlannedBatch = await trio.to_thread.run_sync(
        partial(
            plan_messages,
            plan,
            recipients,
            opted_out,
            now,
            profile=request.profile,
            method=request.method,
            max_parts=request.max_parts,
        )
    )
    slots = await trio.to_thread.run_sync(pace, batch.messages, request.rate, request.quiet_hours)
    skipped: dict[str, int] = {}
    for reason, count in batch.skipped_by_reason().items():
        if count:
            skipped[reason.value] = count
    campaign = None
    if not dry_run:
        campaign = await _store_campaign(store, request, template, batch, slots, now)
    return CampaignReport(
        campaign=campaign,
        recipients=len(recipients),
        queued=len(batch.messages),
        skipped=skipped,
        row_errors=tuple(row_errors),
        duplicates=duplicates,
        total_parts=batch.total_parts,
        max_parts=max((m.parts for m in batch.messages), default=0),
        ucs2_messages=sum(1 for m in batch.messages if m.data_coding == 8),
        first_send_at=min(slots, default=None),
        last_send_at=max(slots, default=None),
    )


async def _recipients(
    store: CampaignBackend, request: CampaignRequest, template: Template
) -> tuple[list[Recipient], list[RowError], int]:
    sources = (request.csv_path, request.group, request.recipients)
    if sum(source is not None for source in sources) != 1:
        raise CampaignSettingError(
            "give exactly one of a recipients file, a group and a recipient list",
            field="recipients",
            value={"csv": request.csv_path, "group": request.group},
        )
    if request.recipients is not None:
        kept, duplicates = deduplicate(request.recipients)
        return kept, [], len(duplicates)
    if request.csv_path is not None:
        imported = await trio.to_thread.run_sync(
            partial(
                read_recipients,
                request.csv_path,
                required=template.fields,
                on_error=request.on_error,
                default_country_code=request.default_country_code,
            )
        )
        return imported.recipients, imported.errors, len(imported.duplicates)
    assert request.group is not None
    group = await store.find_group(request.group)
    if group is None:
        raise UnknownCampaignNameError("no such group", field="group", value=request.group)
    members = await store.group_members(group.group_id)
    recipients = [Recipient(m.msisdn, dict(m.fields), line) for line, m in enumerate(members, 1)]
    return recipients, [], 0


async def _store_campaign(  # noqa: PLR0917 - private, called once
    store: CampaignBackend,
    request: CampaignRequest,
    template: Template,
    batch: PlannedBatch,
    slots: Sequence[datetime],
    now: datetime,
) -> CampaignView:
    stamp = now.timestamp()
    settings = {
        "quiet_hours": request.quiet_hours.to_json(),
        "time_zones": {
            "default": request.time_zones.default,
            "prefixes": request.time_zones.prefixes,
        },
    }
    view: CampaignView = await store.create_campaign(
        NewCampaign(
            name=request.name,
            smsc=request.smsc,
            sender=request.sender,
            template=template.text,
            kind=request.kind.value,
            rate=request.rate,
            start_at=request.start_at.timestamp() if request.start_at else None,
            settings=json.dumps(settings),
            tenant=request.tenant,
        ),
        now=stamp,
    )
    ton, npi, source = sender_address(request.sender)
    # Legal notices (disconnection warnings) are transactional: they overtake bulk.
    priority = Priority.BULK if request.kind is CampaignKind.BULK else Priority.TRANSACTIONAL
    messages = [
        NewMessage(
            smsc=request.smsc,
            source=source,
            source_ton=ton,
            source_npi=npi,
            destination=planned.recipient.msisdn,
            text=planned.text,
            parts=planned.parts,
            priority=priority,
            not_before=slot.timestamp(),
            # A campaign queues each number once, even if this call is retried.
            idempotency_key=f"campaign:{view.campaign_id}:{planned.recipient.msisdn}",
            tenant=request.tenant,
            callback_url=request.callback_url,
            callback_events=request.callback_events if request.callback_url else frozenset(),
        )
        for planned, slot in zip(batch.messages, slots, strict=True)
    ]
    for first in range(0, len(messages), _CHUNK):
        await store.add_campaign_messages(
            view.campaign_id, messages[first : first + _CHUNK], now=stamp
        )
    state = CampaignState(view.state)
    for action in (CampaignAction.SCHEDULE, CampaignAction.START):
        state = transition(state, action)
    updated: CampaignView = await store.set_campaign_state(view.campaign_id, state.value, now=stamp)
    return updated


async def _find(store: CampaignBackend, name: str) -> CampaignView:
    view: CampaignView | None = await store.find_campaign(name)
    if view is None:
        raise UnknownCampaignNameError("no such campaign", field="name", value=name)
    return view


def _state(view: CampaignView) -> CampaignState:
    try:
        return CampaignState(view.state)
    except ValueError:  # kept by a newer version, or by hand
        raise CampaignSettingError(
            "not a campaign state this version knows", field="state", value=view.state
        ) from None


async def change_campaign(
    store: CampaignBackend, name: str, action: CampaignAction, *, now: datetime
) -> CampaignView:
    """Pause, resume or cancel a campaign (raises IllegalTransitionError when it cannot).

    Resuming spreads the waiting messages at the campaign's rate again from now,
    outside each recipient's quiet hours as the campaign was created with.
    """
    view = await _find(store, name)
    state = transition(_state(view), action)
    if action is CampaignAction.RESUME:
        # Checked before the state changes: a campaign stored with a rate that
        # cannot be paced (kept by an older version) stays paused.
        check_rate(view.rate)
    stamp = now.timestamp()
    updated: CampaignView = await store.set_campaign_state(view.campaign_id, state.value, now=stamp)
    if action is CampaignAction.RESUME:
        await _pace_again(store, view, now)
    return updated


@dataclass(frozen=True, slots=True)
class _Waiting:
    message_id: int
    send_at: datetime
    time_zone: str


async def _pace_again(store: CampaignBackend, view: CampaignView, now: datetime) -> None:
    quiet_hours, time_zones = _pacing_settings(view)
    if quiet_hours is None or time_zones is None:
        # Created before its quiet hours were kept in a readable form: the rate only.
        await store.repace_campaign(view.campaign_id, rate=view.rate, now=now.timestamp())
        return
    queued = await store.queued_campaign_messages(view.campaign_id)
    waiting = [
        _Waiting(m.message_id, _due(m.not_before, now), time_zones.name_for(m.destination))
        for m in queued
    ]
    slots = await trio.to_thread.run_sync(pace, waiting, view.rate, quiet_hours)
    await store.schedule_campaign_messages(
        view.campaign_id,
        [(w.message_id, slot.timestamp()) for w, slot in zip(waiting, slots, strict=True)],
        now=now.timestamp(),
    )


def _due(not_before: float, now: datetime) -> datetime:
    """When a waiting message may go: its own time, or ``now`` when that has passed or
    is no date at all (a value no calendar holds, kept by an older version)."""
    try:
        return max(now, datetime.fromtimestamp(not_before, UTC))
    except (OverflowError, ValueError, OSError):
        return now


def _pacing_settings(view: CampaignView) -> tuple[QuietHours | None, RecipientTimeZones | None]:
    """The quiet hours and time zones a campaign was created with, when readable."""
    try:
        settings = json.loads(view.settings)
        quiet_hours = QuietHours.from_json(settings["quiet_hours"])
        zones = settings["time_zones"]
        return quiet_hours, RecipientTimeZones(zones["default"], zones["prefixes"])
    except (ValueError, KeyError, TypeError, AttributeError, CampaignSettingError):
        return None, None


async def follow_campaign(
    store: CampaignBackend, name: str, *, now: datetime
) -> tuple[CampaignView, CampaignStats]:
    """The campaign and its statistics; a running campaign with nothing left becomes COMPLETED."""
    view = await _find(store, name)
    stats: CampaignStats = await store.campaign_stats(view.campaign_id)
    if (
        view.state == CampaignState.RUNNING.value
        and stats.queued == 0
        and stats.receipts_pending == 0
    ):
        state = transition(CampaignState.RUNNING, CampaignAction.COMPLETE)
        view = await store.set_campaign_state(view.campaign_id, state.value, now=now.timestamp())
    return view, stats
