"""What each route answers, as pydantic models: the OpenAPI document's responses come from here.

Every JSON answer goes out through its model (:func:`respond`): the handlers
build theirs as models, and the views of stored records, dicts shared with the
command line (:mod:`smpp_engine.views`), are validated into theirs. A model is
closed (``additionalProperties: false``), so an answer can differ from the
document only by failing loudly, never by a key the document does not name.
What the models leave to the document (formats, patterns of money and times)
the HTTP API tests check on every answer they get.

A key the document marks optional but not nullable is left out of the answer
when it has no value (``field`` and ``value`` of an error without a field);
``None`` is a JSON null only where the type says ``| None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from starlette.responses import Response

from ..store import MessageState, PartState

__all__ = [
    "Account",
    "Alive",
    "BatchAccepted",
    "CallbackEvent",
    "CallbackEvents",
    "CallbacksReplayed",
    "Campaign",
    "CampaignCreated",
    "CampaignStats",
    "CampaignWithStats",
    "Campaigns",
    "Error",
    "FieldError",
    "Group",
    "GroupMemberRemoved",
    "GroupMembersUpserted",
    "Groups",
    "KeptMoMessages",
    "Message",
    "MessageAccepted",
    "NoticeRun",
    "PaymentKnown",
    "PaymentPosted",
    "Readiness",
    "ReloadRefused",
    "Reloaded",
    "RouteControl",
    "RouteReadiness",
    "ScopeError",
    "StoreReadiness",
    "StoreUnavailable",
    "Usage",
    "UsageRow",
    "respond",
]

#: ISO 8601 with its offset, as :func:`smpp_engine.views.iso_time` writes it.
Time = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
#: Money is a decimal string, never a JSON number.
Money = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})]
#: What a client sent, echoed back: JSON scalars only (anything else as its repr).
Echo = Annotated[
    str | int | float | bool | None,
    WithJsonSchema({"type": ["string", "integer", "number", "boolean", "null"]}),
]


class Answer(BaseModel):
    """An answer's shape: closed, as the API writes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def respond(
    answer: Answer, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``answer`` as the HTTP answer: keys by their wire names, unset optional keys left out."""
    body = answer.model_dump_json(by_alias=True, exclude_unset=True)
    return Response(body, status_code, headers, media_type="application/json")


# --- errors ---------------------------------------------------------------------------


class Error(Answer):
    """What went wrong, in a word (``error``) and a sentence (``detail``)."""

    error: str
    detail: str


class ScopeError(Error):
    """A known API key without the scope the operation needs; ``scope`` names it."""

    error: Literal["forbidden"]
    scope: Literal["send", "campaigns", "billing", "read", "admin"]


class FieldError(Error):
    """A request refused for one input: ``field`` names it (``messages[3].to``,
    ``body``, ``Idempotency-Key``), ``value`` is what was found there."""

    field: str
    value: Echo


class StoreUnavailable(Answer):
    """The store did not answer; nothing of the request was written. Retry after 5 s."""

    error: Literal["store unavailable"]
    detail: str


# --- health ---------------------------------------------------------------------------


class Alive(Answer):
    status: Literal["alive"]


class RouteReadiness(Answer):
    """One route: its binds up, and its restarts after faults when the pipeline runs it."""

    binds_up: int
    restarts: int | SkipJsonSchema[None] = None
    restarting: bool | SkipJsonSchema[None] = None
    last_error: str | None = None


class StoreReadiness(Answer):
    reachable: bool
    error: str | None


class Readiness(Answer):
    """Ready when every route has a bind up, none is restarting and the store answers.

    When the store cannot be asked, only ``ready`` and ``store`` are given.
    """

    ready: bool
    routes: dict[str, RouteReadiness] | SkipJsonSchema[None] = None
    routes_without_binds: list[str] | SkipJsonSchema[None] = None
    routes_restarting: list[str] | SkipJsonSchema[None] = None
    store: StoreReadiness


# --- routes ---------------------------------------------------------------------------


class RouteState(Answer):
    """One route now: its SMSC account, binds, the rate its controller allows (null: no
    limit), restarts after faults, and its messages in the store by state (to a tenant's
    key: that tenant's messages only)."""

    name: str
    smsc: str
    system_id: str
    binds: Annotated[int, Field(ge=0)]
    binds_up: Annotated[int, Field(ge=0)]
    rate: float | None
    rate_state: str | None
    restarts: Annotated[int, Field(ge=0)]
    restarting: bool
    last_error: str | None
    queue: dict[MessageState, Annotated[int, Field(ge=0)]]
    paused: bool
    paused_since: Time | None = None
    paused_by: str | None = None
    failover_after: Annotated[
        float | None,
        Field(
            description="Seconds with no bind up before messages whose routing rule lists "
            "another route move there ([[smsc]] failover_after); null for a route this "
            "process does not run."
        ),
    ] = None


class Routes(Answer):
    """Every route, in the settings' order (the first is the default)."""

    routes: list[RouteState]


class RouteControl(Answer):
    """A route after a pause, resume or rebind. ``paused`` holds in every gateway
    process on the store (each notices it within a second or two); ``rebinding``:
    this process drops the route's binds and binds again, nothing lost."""

    name: str
    paused: bool
    paused_since: Time | None = None
    paused_by: str | None = None
    rebinding: bool = False


class ReloadedRoutes(Answer):
    added: list[str]
    removed: list[str]
    changed: list[str]


class Reloaded(Answer):
    """What a reload applied: routes added, removed (their queued messages stay in the
    store: ``queued_on_removed``) and changed (drained and started again), the number of
    API keys now in force, and the changed settings that take a restart."""

    routes: ReloadedRoutes
    keys: Annotated[int, Field(ge=0)]
    restart_needed: list[str]
    queued_on_removed: dict[str, Annotated[int, Field(ge=0)]]


class SettingsProblem(Answer):
    key: str
    message: str
    value: str | None = None


class ReloadRefused(Answer):
    """The settings file did not load: nothing was applied, the running settings stay."""

    error: Literal["invalid settings"]
    detail: str
    problems: list[SettingsProblem]


# --- messages -------------------------------------------------------------------------


class MessageAccepted(Answer):
    """A message stored: its id, how its text goes out, and whether it was known already."""

    id: int
    parts: Annotated[int, Field(ge=1)]
    encoding: Literal["GSM7", "LATIN1", "UCS2"]
    duplicate: bool


class BatchAccepted(Answer):
    """Every message of the batch, in order."""

    messages: list[MessageAccepted]


class SmppStatus(Answer):
    """An SMPP command_status and its name (``ESME_RTHROTTLED``)."""

    code: int
    name: str


class Receipt(Answer):
    received_at: Time | None
    error: str | None
    done_at: Time | None


class Part(Answer):
    """One submit_sm of the message: where it went and what became of it."""

    part: int
    state: PartState
    bind: str | None
    smsc_message_id: str | None
    submitted_at: Time | None
    responded_at: Time | None
    submit_status: SmppStatus | None
    receipt: Receipt | None


class MessageEvent(Answer):
    at: Time | None
    event: str
    detail: str


class Message(Answer):
    """A message, its parts with SMSC ids, binds and receipts, and its history.

    A time no calendar can show (kept by an older version) is null; so is a
    value JSON cannot carry.
    """

    id: int
    state: MessageState
    route: Annotated[str, Field(description="The route it is on now (after any failover).")]
    route_rule: Annotated[
        str | None,
        Field(
            description="The routing rule that chose its route: a [[routing.rules]] name, "
            "'default' (no rule matched) or 'explicit' (the request named the route); "
            "null without a routing table."
        ),
    ]
    route_plan: Annotated[
        list[str],
        Field(
            description="The routes its rule allows, in failover order (the first is where "
            "it was sent first); empty without a routing table."
        ),
    ]
    sender: str = Field(alias="from")
    to: str
    text: str
    priority: Annotated[
        str, Field(description="interactive, transactional or bulk; another as its number.")
    ]
    parts: int
    flash: Annotated[bool, Field(description="Sent as a flash SMS (message class 0).")]
    created_at: Time | None
    updated_at: Time | None
    attempts: int
    possible_duplicate: bool
    campaign_id: int | None
    idempotency_key: str | None
    error: SmppStatus | None
    part_details: list[Part]
    events: list[MessageEvent]


# --- campaigns and groups ---------------------------------------------------------------


class Campaign(Answer):
    """A campaign as stored: its settings and its state."""

    id: int
    name: str
    state: Annotated[
        str,
        Field(
            description="draft, scheduled, running, paused, cancelled or completed; a state "
            "this version does not know is shown as stored."
        ),
    ]
    route: str
    sender: str
    template: str
    kind: Annotated[str, Field(description="bulk or legal_notice.")]
    rate: Annotated[float | None, Field(description="Messages per second.")]
    start_at: Time | None
    created_at: Time | None
    updated_at: Time | None


class SubmitErrors(Answer):
    code: int
    name: str
    messages: int


class CampaignStats(Answer):
    """Where a campaign's messages are, with its submit errors by status."""

    total: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: Annotated[int, Field(description="Withdrawn before they were sent.")]
    pending_receipts: int
    by_state: dict[MessageState, int]
    errors: list[SubmitErrors]


class CampaignWithStats(Campaign):
    stats: CampaignStats


class Campaigns(Answer):
    campaigns: list[Campaign]


class BadRow(Answer):
    """A recipient left out: its line, the field at fault, what was there and why."""

    line: int
    field: str
    value: str
    reason: str


class CampaignCreated(Answer):
    """A campaign created and queued: what was queued, what was not and why."""

    campaign: Campaign
    campaign_id: int
    state: str
    recipients: int
    queued: int
    skipped: dict[str, int]
    bad_rows: list[BadRow]
    duplicates: int
    sms_parts: int
    max_parts: int
    ucs2_messages: int
    first_send_at: Time | None
    last_send_at: Time | None


class Group(Answer):
    id: int
    name: str
    members: int
    created_at: Time | None


class Groups(Answer):
    groups: list[Group]


class GroupMembersUpserted(Group):
    """The group after the change; ``upserted`` members were added or updated."""

    upserted: int


class GroupMemberRemoved(Group):
    """The group after the change; ``removed`` is 1, or 0 when the number was not in it."""

    removed: int


# --- billing ----------------------------------------------------------------------------


class Balance(Answer):
    amount: Money
    opening: Money
    charges: Money
    penalties: Money
    payments: Money
    advance: Money


class Debt(Answer):
    period: str
    principal: Money
    penalty: Money
    total: Money
    due_date: Day | None


class ServiceOwed(Answer):
    debt: Money
    monthly_charge: Money


class Phone(Answer):
    msisdn: str
    opted_out: bool


class Reading(Answer):
    value: Money
    taken_at: Time
    source: str
    status: str
    period: str


class Register(Answer):
    id: int
    zone: str
    last_reading: Reading | None
    pending_reading: Reading | None


class Meter(Answer):
    id: int
    serial: str
    service: str
    status: str
    digits: int
    decimals: int
    multiplier: Money
    registers: list[Register]


class Notice(Answer):
    """A notice sent to the account, with its delivery: a disconnection warning's
    ``delivered_at`` is the legal proof its deadline counts from."""

    id: int | None
    kind: str
    msisdn: str
    text: str
    created_at: Time
    send_at: Time | None
    message_id: int | None
    state: str
    smsc_message_ids: list[str]
    delivered_at: Time | None


class AccountWarning(Answer):
    """One disconnection warning of the account and its proof, judged as
    ``GET /v1/billing/notices/warnings`` judges it: proven (a receipt's done date is
    ``delivered_at``, and the consumer's time to pay counts from it: the last day to
    pay in the consumer's zone, and the instant it runs out), awaiting its receipt,
    due to be sent again, or unreached (paper mail)."""

    key: str
    msisdn: str
    service: str | None
    status: Literal["proven", "awaiting", "retry", "unreached"]
    attempts: Annotated[int, Field(ge=1)]
    first_sent_at: Time
    delivered_at: Time | None
    last_day_to_pay: Day | None
    pay_by: Time | None


class Account(Answer):
    """A utility account: balance, debts by period, phones, meters with their last
    readings (null when no phone is bound), the last notices, newest first, and the
    disconnection warnings of the last 60 days with their proof."""

    account: str
    language: str | None
    time_zone: str | None
    closed: bool
    balance: Balance
    due_date: Day | None
    debts: list[Debt]
    monthly_charge: Money
    services: dict[str, ServiceOwed]
    phones: list[Phone]
    last_reading_period: str | None
    meters: list[Meter] | None
    notices: list[Notice]
    warnings: list[AccountWarning]


class PaymentKnown(Answer):
    """A payment posted before under this reference: nothing posted again.

    ``confirmations`` and ``message_ids`` name the confirmations an earlier
    attempt left unqueued, queued now.
    """

    account: str
    reference: str
    duplicate: Literal[True]
    confirmations: list[str]
    message_ids: list[int]


class PaymentPosted(Answer):
    """A payment posted, the balance after it, and its confirmations queued."""

    account: str
    reference: str
    duplicate: Literal[False]
    confirmations: list[str]
    message_ids: list[int]
    paid: Money
    balance_after: Money


class WarningProofView(Answer):
    """One disconnection warning: its key, account and phone, its proof status, the
    attempts made, when the first went and when one was delivered (its proof)."""

    key: str
    account: str
    msisdn: str
    status: Literal["proven", "awaiting", "retry", "unreached"]
    attempts: Annotated[int, Field(ge=1)]
    first_sent_at: Time
    delivered_at: Time | None


class WarningProofs(Answer):
    """The disconnection warnings of the last 60 days and their proof: counts by
    status, and each warning; the unreached ones are for paper mail. Listing sends
    nothing (``retried`` is empty): the gateway sends the retries with the day's
    notices."""

    counts: dict[str, int]
    retried: list[str]
    warnings: list[WarningProofView]


class NoticeRun(Answer):
    """A notices run, or its preview: the counts by kind and reason, as
    ``smpp-engine notices run --json`` prints them.

    ``going`` are the notices that go (at once, or when quiet hours end: those
    are also in ``held_for_quiet_hours``); ``skipped`` the others by kind and
    reason; ``queued`` the messages queued by this run (none for a preview);
    ``resumed`` those of them an earlier, interrupted run had stored.
    """

    now: Time
    dry_run: bool
    accounts: int
    going: dict[str, int]
    held_for_quiet_hours: dict[str, int]
    skipped: dict[str, dict[str, int]]
    queued: dict[str, int]
    resumed: int


class UsageRow(Answer):
    """One tenant's messages accepted on one UTC day, in one state now."""

    day: Day
    tenant: str | None
    state: MessageState
    messages: int
    parts: int


class Usage(Answer):
    """Messages and parts per tenant, day and state (for invoicing); days are UTC."""

    since: Day
    until: Day
    rows: list[UsageRow]


class CallbackEvent(Answer):
    """An event of the callback outbox; ``event_id`` is what its receiver sees."""

    event_id: str
    message_id: int | None
    tenant: str | None
    url: str
    event: str
    occurred_at: Time
    status: Literal["pending", "dead"]
    attempts: int
    next_at: Time
    last_error: str | None


class CallbackEvents(Answer):
    events: list[CallbackEvent]


class CallbacksReplayed(Answer):
    """How many dead letters went back to the outbox."""

    replayed: int


class KeptMoMessage(Answer):
    """An MO message the gateway kept: routed to a tenant, or taken by no route."""

    id: int
    mo_id: str
    smsc: str
    source: str
    destination: str
    text: str
    parts: int
    received_at: Time
    route: Literal["tenant", "unrouted"]
    tenant: str | None


class KeptMoMessages(Answer):
    messages: list[KeptMoMessage]
