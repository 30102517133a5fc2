"""Campaigns and recipient groups over HTTP, on the same service the command line uses.

``POST /v1/campaigns`` plans, paces and queues a campaign from inline
recipients or a group (:func:`~smpp_engine.campaigns.service.create_campaign`),
its texts planned with the route's text profile and concatenation method;
pause, resume and cancel go through the campaign's state machine, so an action
its state does not allow is a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ..campaigns import (
    MAX_RATE,
    MIN_RATE,
    CampaignAction,
    CampaignError,
    CampaignKind,
    IllegalTransitionError,
    MsisdnError,
    QuietHours,
    Recipient,
    RecipientTimeZones,
    check_country_code,
    normalise_msisdn,
)
from ..campaigns.service import (
    CampaignBackend,
    CampaignRequest,
    change_campaign,
    create_campaign,
    follow_campaign,
)
from ..store import CampaignView, DuplicateNameError, GroupMember, GroupView
from ..views import campaign_stats_json, campaign_view_json, group_view_json
from .answers import (
    Campaign,
    CampaignCreated,
    Campaigns,
    CampaignWithStats,
    Group,
    GroupMemberRemoved,
    GroupMembersUpserted,
    Groups,
    respond,
)
from .bodies import IsoTime, PhoneNumber, RouteName, SenderId, parse_body, path_text, read_json
from .context import ApiContext
from .errors import ApiError, invalid
from .messages import MAX_ID, sender_fields
from .tenancy import Tenant, callback_choice

__all__ = [
    "create_group",
    "get_campaign",
    "list_campaigns",
    "list_groups",
    "post_campaign",
    "remove_group_member",
    "steer_campaign",
    "upsert_group_members",
]

Name = Annotated[str, Field(min_length=1, max_length=200)]
FieldValue = Annotated[str, Field(max_length=1000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MemberBody(_Body):
    """A recipient: a number and the fields its template may use."""

    msisdn: Annotated[
        PhoneNumber,
        Field(description="A phone number; spaces, dashes, 00 and a national 0 also go."),
    ]
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class QuietHoursBody(_Body):
    """Hours (``22:00-08:00``) in the recipient's time zone when nothing is sent; null: none."""

    weekday: Annotated[str, Field(max_length=32)] | None = "22:00-08:00"
    weekend: Annotated[str, Field(max_length=32)] | None = "20:00-09:00"


class CampaignBody(_Body):
    """The body of ``POST /v1/campaigns``: exactly one of ``recipients`` and ``group``."""

    name: Name
    template: Annotated[str, Field(min_length=1, max_length=10_000)]
    sender: SenderId
    recipients: list[MemberBody] | None = None
    group: Name | None = None
    route: RouteName | None = None
    rate: Annotated[
        float,
        Field(ge=MIN_RATE, le=MAX_RATE, description="Messages per second for this campaign."),
    ] = 50.0
    legal_notice: bool = False
    start_at: (
        Annotated[
            IsoTime,
            Field(description="With an offset; from 2000-01-01, at most 100 years ahead."),
        ]
        | None
    ) = None
    quiet_hours: QuietHoursBody = Field(default_factory=QuietHoursBody)
    time_zone: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            description="An IANA time zone (Europe/Sofia) for recipients whose number names "
            "none; anything else is a 422.",
        ),
    ] = "UTC"
    country_code: Annotated[str, Field(min_length=1, max_length=3)] | None = None


class GroupBody(_Body):
    """The body of ``POST /v1/groups``."""

    name: Name
    members: list[MemberBody] = Field(default_factory=list)
    country_code: Annotated[str, Field(min_length=1, max_length=3)] | None = None


class MembersBody(_Body):
    """The body of ``POST /v1/groups/{name}/members``."""

    members: list[MemberBody]
    country_code: Annotated[str, Field(min_length=1, max_length=3)] | None = None


def _backend(context: ApiContext) -> CampaignBackend:
    # Both stores keep campaigns; the context is typed by the message interface.
    return cast(CampaignBackend, context.store)


def _now(context: ApiContext) -> datetime:
    return datetime.fromtimestamp(context.clock(), UTC)


def _campaign_error(exc: CampaignError, body: BaseModel | None = None) -> ApiError:
    """A 422 naming the field; a field of ``body`` is shown as the client wrote it."""
    value = exc.value
    if body is not None and exc.field in type(body).model_fields:
        value = getattr(body, exc.field)
    return invalid(exc.field, value, exc.reason)


def _members(members: list[MemberBody], country_code: str | None, key: str) -> list[GroupMember]:
    if country_code is not None:
        try:
            check_country_code(country_code, field="country_code")
        except CampaignError as exc:
            raise _campaign_error(exc) from None
    normalised = []
    for index, member in enumerate(members):
        field = f"{key}[{index}].msisdn"
        try:
            msisdn = normalise_msisdn(member.msisdn, default_country_code=country_code, field=field)
        except MsisdnError as exc:
            raise invalid(field, member.msisdn, exc.reason) from None
        normalised.append(GroupMember(msisdn, dict(member.fields)))
    return normalised


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise invalid("start_at", text, "expected ISO 8601 with an offset") from None
    if start.utcoffset() is None:
        raise invalid("start_at", text, "give an offset (Z or +02:00)")
    return start


def _request(
    context: ApiContext, body: CampaignBody, tenant: Tenant | None = None
) -> CampaignRequest:
    route = body.route or context.routes[0]
    if route not in context.routes:
        raise invalid("route", route, f"no such route (known: {', '.join(context.routes)})")
    if (body.recipients is None) == (body.group is None):
        raise invalid("recipients", None, "give exactly one of recipients and group")
    if tenant is not None and tenant.senders and body.sender not in tenant.senders:
        allowed = ", ".join(sorted(tenant.senders))
        raise invalid(
            "sender", body.sender, f"not a sender id of tenant {tenant.name!r} (allowed: {allowed})"
        )
    sender_fields(body.sender, field="sender")
    callback_url, callback_events = callback_choice(tenant, None, None, "")
    inline = None
    if body.recipients is not None:
        members = _members(body.recipients, body.country_code, "recipients")
        inline = tuple(
            Recipient(m.msisdn, m.fields, line) for line, m in enumerate(members, start=1)
        )
    text = context.route_text(route)
    try:
        return CampaignRequest(
            name=body.name,
            smsc=route,
            sender=body.sender,
            template=body.template,
            rate=body.rate,
            kind=CampaignKind.LEGAL_NOTICE if body.legal_notice else CampaignKind.BULK,
            start_at=_start(body.start_at),
            quiet_hours=QuietHours.parse(body.quiet_hours.weekday, body.quiet_hours.weekend),
            time_zones=RecipientTimeZones(default=body.time_zone),
            group=body.group,
            recipients=inline,
            default_country_code=body.country_code,
            profile=text.profile,
            method=text.method,
            max_parts=text.max_parts,
            tenant=None if tenant is None else tenant.name,
            callback_url=callback_url,
            callback_events=callback_events,
        )
    except CampaignError as exc:
        raise _campaign_error(exc, body) from None


async def post_campaign(context: ApiContext, request: Request) -> Response:
    body = parse_body(CampaignBody, await read_json(request))
    campaign_request = _request(context, body, context.tenant_gate.of(request))
    try:
        report = await create_campaign(_backend(context), campaign_request, now=_now(context))
    except DuplicateNameError as exc:
        raise ApiError(409, "conflict", str(exc), field="name", value=exc.name) from None
    except CampaignError as exc:
        raise _campaign_error(exc, body) from None
    assert report.campaign is not None  # not a dry run
    answer = {**report.to_dict(), "campaign": campaign_view_json(report.campaign)}
    return respond(CampaignCreated.model_validate(answer), 201)


async def list_campaigns(context: ApiContext, request: Request) -> Response:
    views = await _backend(context).list_campaigns()
    tenant = context.tenant_gate.of(request)
    if tenant is not None:
        views = [view for view in views if view.tenant == tenant.name]
    answer = {"campaigns": [campaign_view_json(view) for view in views]}
    return respond(Campaigns.model_validate(answer))


async def _campaign(context: ApiContext, request: Request) -> CampaignView:
    campaign_id = int(request.path_params["campaign_id"])
    view = None
    if campaign_id <= MAX_ID:
        view = await _backend(context).get_campaign(campaign_id)
    tenant = context.tenant_gate.of(request)
    if view is not None and tenant is not None and view.tenant != tenant.name:
        view = None  # another tenant's: answered as none, its id reveals nothing
    if view is None:
        raise ApiError(404, "not found", f"no campaign has id {campaign_id}")
    return view


async def get_campaign(context: ApiContext, request: Request) -> Response:
    """The campaign and its figures; a running one with nothing left becomes completed."""
    found = await _campaign(context, request)
    view, stats = await follow_campaign(_backend(context), found.name, now=_now(context))
    answer = {**campaign_view_json(view), "stats": campaign_stats_json(stats)}
    return respond(CampaignWithStats.model_validate(answer))


async def steer_campaign(context: ApiContext, request: Request) -> Response:
    action = CampaignAction(request.path_params["action"])
    found = await _campaign(context, request)
    try:
        view = await change_campaign(_backend(context), found.name, action, now=_now(context))
    except IllegalTransitionError as exc:
        raise ApiError(409, "conflict", exc.reason, field="state", value=exc.state.value) from None
    except CampaignError as exc:
        # What the campaign was stored with cannot be paced again (an older version's rate).
        raise ApiError(
            409,
            "conflict",
            f"the campaign cannot be {action.value}d: {exc.field} {exc.reason}",
            field=exc.field,
            value=exc.value,
        ) from None
    return respond(Campaign.model_validate(campaign_view_json(view)))


async def create_group(context: ApiContext, request: Request) -> Response:
    body = parse_body(GroupBody, await read_json(request))
    if not body.name.strip():
        raise invalid("name", body.name, "a name needs more than spaces")
    members = _members(body.members, body.country_code, "members")
    store = _backend(context)
    try:
        group = await store.create_group(body.name, now=context.clock())
    except DuplicateNameError as exc:
        raise ApiError(409, "conflict", str(exc), field="name", value=exc.name) from None
    if members:
        await store.upsert_group_members(group.group_id, members)
        group = await _group(context, body.name)
    return respond(Group.model_validate(group_view_json(group)), 201)


async def list_groups(context: ApiContext, request: Request) -> Response:
    groups = await _backend(context).list_groups()
    return respond(Groups.model_validate({"groups": [group_view_json(g) for g in groups]}))


async def _group(context: ApiContext, name: str) -> GroupView:
    group = await _backend(context).find_group(name)
    if group is None:
        raise ApiError(404, "not found", f"no recipient group is named {name!r}")
    return group


async def upsert_group_members(context: ApiContext, request: Request) -> Response:
    """Add members, or update the fields of those already in."""
    group = await _group(context, path_text(request, "name", "recipient group"))
    body = parse_body(MembersBody, await read_json(request))
    members = _members(body.members, body.country_code, "members")
    changed = await _backend(context).upsert_group_members(group.group_id, members)
    answer = {**group_view_json(await _group(context, group.name)), "upserted": changed}
    return respond(GroupMembersUpserted.model_validate(answer))


async def remove_group_member(context: ApiContext, request: Request) -> Response:
    group = await _group(context, path_text(request, "name", "recipient group"))
    text = request.path_params["msisdn"]
    try:
        msisdn = normalise_msisdn(text, field="msisdn")
    except MsisdnError as exc:
        raise invalid("msisdn", text, exc.reason) from None
    removed = await _backend(context).remove_group_members(group.group_id, [msisdn])
    answer = {**group_view_json(await _group(context, group.name)), "removed": removed}
    return respond(GroupMemberRemoved.model_validate(answer))
