"""``POST /v1/messages`` and ``GET /v1/messages/{id}``: one SMS in, its fate out.

A message is answered 201 only once the pipeline's accept has returned, i.e.
once it is committed: an id a client holds always names a stored message. The
text's encoding and part count come from the protocol core's planner with the
route's own text profile and concatenation method (what the route's dispatcher
will split it with), the destination is normalised as campaigns normalise it,
and the sender is checked as the SMSC would check it. Idempotency keys are each
API key's own (:mod:`.idempotency`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import trio
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ..campaigns import MsisdnError, normalise_msisdn
from ..protocol import (
    Address,
    Npi,
    PduError,
    TextPlan,
    Ton,
    check_address,
    plan_text,
    sender_address,
)
from ..routing import MessageFacts, RouteChoice, RoutingTable, kind_of_priority
from ..settings import NamedPriority
from ..store import Accepted, NewMessage, StoreError
from ..views import message_view_json
from .answers import BatchAccepted, Message, MessageAccepted, respond
from .bodies import IsoTime, PhoneNumber, RouteName, SenderId, parse_body, read_json
from .context import ApiContext
from .errors import ApiError, invalid
from .idempotency import client_key, differences, scoped_key, stored_differences
from .tenancy import (
    Tenant,
    callback_choice,
    check_sender,
    quota_error,
    rate_error,
    tenant_store,
)

__all__ = [
    "MAX_BATCH",
    "MAX_ID",
    "BatchRequest",
    "MessageRequest",
    "api_key_name",
    "get_message",
    "post_message",
    "post_messages",
    "sender_fields",
]

MAX_ID = 2**63 - 1  # the stores' id columns are 64-bit
MAX_VALIDITY = 14 * 24 * 3600.0  # SMSCs keep a message for days, not months
# One batch is one store transaction; larger ones would hold the writer too long.
MAX_BATCH = 1000


class MessageRequest(BaseModel):
    """The body of ``POST /v1/messages``; without a priority, the configured
    ``[http] default_priority``."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    to: PhoneNumber
    sender: Annotated[
        SenderId | None,
        Field(
            alias="from",
            description="Required unless the key's tenant has a default sender; a tenant "
            "sends only from its own sender ids (else a 422 naming from).",
        ),
    ] = None
    text: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40_000,
            description="Planned with the route's text profile and concatenation method; "
            "a text the route cannot send (over 255 parts) is a 422.",
        ),
    ]
    #: None: the configured default ([http] default_priority).
    priority: NamedPriority | None = None
    validity: (
        Annotated[
            float,
            Field(gt=0, le=MAX_VALIDITY, description="Seconds from now; or expires_at, not both."),
        ]
        | None
    ) = None
    expires_at: IsoTime | None = None
    send_at: Annotated[
        IsoTime | None,
        Field(
            description="Not sent before this moment (ISO 8601 with an offset), at most 14 "
            "days ahead and before the message expires; without it, at once."
        ),
    ] = None
    route: RouteName | None = None
    registered_delivery: bool = True
    flash: Annotated[
        bool,
        Field(
            description="Sent as a flash SMS (data_coding message class 0: shown at once, "
            "not stored by the handset); a 422 when its route does not allow it."
        ),
    ] = False
    callback_url: Annotated[
        str | None,
        Field(
            max_length=2048,
            description="Where this message's state changes are posted (signed JSON); "
            "else the tenant's callback_url. A tenant may name only its allowed hosts.",
        ),
    ] = None
    callback_events: Annotated[
        list[str] | None,
        Field(
            max_length=16,
            description="The events posted: accepted, submitted, delivered, undeliverable, "
            "expired, rejected, deleted, unknown, cancelled, quarantined; else the "
            "tenant's (default: submitted and every final state).",
        ),
    ] = None
    idempotency_key: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=128,
                description="Each API key's own. Sent again with the same message (route, "
                "from, to, text, priority): the first answer, 200, duplicate true. With "
                "another message: 409. Or the Idempotency-Key header.",
            ),
        ]
        | None
    ) = None


def sender_fields(sender: str, *, field: str = "from") -> tuple[int, int, str]:
    """TON, NPI and address for ``sender``, or a 422 naming ``field``.

    Alphanumeric: at most 11 GSM characters (TON 5). Numeric: at most 16
    digits, international (TON 1) with a leading ``+`` or ``00``, else national
    (TON 2, short codes).
    """
    try:
        return sender_address(sender)
    except PduError as exc:
        raise invalid(field, sender, exc.reason) from None


def _expiry(body: MessageRequest, now: float, at: str) -> float | None:
    if body.validity is not None and body.expires_at is not None:
        raise invalid(f"{at}validity", body.validity, "give validity or expires_at, not both")
    if body.validity is not None:
        return now + body.validity
    if body.expires_at is None:
        return None
    field = f"{at}expires_at"
    stamp = _moment(body.expires_at, field)
    if not now < stamp <= now + MAX_VALIDITY:
        raise invalid(field, body.expires_at, "must be in the future, within 14 days")
    return stamp


#: A send_at this far in the past is taken for now (clocks differ a little), not refused.
_SEND_AT_SLACK = 60.0


def _send_at(body: MessageRequest, now: float, expires_at: float | None, at: str) -> float:
    """The message's not-before time (0: at once), or a 422 naming ``send_at``."""
    if body.send_at is None:
        return 0.0
    field = f"{at}send_at"
    stamp = _moment(body.send_at, field)
    if stamp < now - _SEND_AT_SLACK:
        raise invalid(field, body.send_at, "is in the past")
    if stamp > now + MAX_VALIDITY:
        raise invalid(field, body.send_at, "at most 14 days ahead")
    if expires_at is not None and stamp >= expires_at:
        raise invalid(field, body.send_at, "must be before the message expires")
    return max(stamp, 0.0)


def _moment(text: str, field: str) -> float:
    """An ISO 8601 time with an offset as seconds since the epoch, or a 422 naming ``field``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(field, text, "expected ISO 8601 with an offset") from None
    if moment.utcoffset() is None:
        raise invalid(field, text, "give an offset (Z or +02:00)")
    try:
        return moment.timestamp()
    except OverflowError:  # year 1 at +14:00, year 9999 at -14:00: off the calendar in UTC
        return -1.0


def _idempotency_key(request: Request, body: MessageRequest) -> str | None:
    header = request.headers.get("idempotency-key")
    if header is not None:
        header = header.strip()
        if not 1 <= len(header) <= 128:
            raise invalid("Idempotency-Key", header, "1 to 128 characters")
    if header and body.idempotency_key and header != body.idempotency_key:
        raise invalid(
            "idempotency_key", body.idempotency_key, "differs from the Idempotency-Key header"
        )
    return body.idempotency_key or header or None


def api_key_name(request: Request) -> str:
    """The name of the API key the request was authenticated with (set by the gate)."""
    name = request.scope.get("state", {}).get("api_key_name")
    if not isinstance(name, str):
        raise ApiError(401, "unauthorized", "the request carries no authenticated API key")
    return name


def _client(request: Request) -> str | None:
    """The API key's name for routing rules; None when no gate set it (an open test app)."""
    name = request.scope.get("state", {}).get("api_key_name")
    return name if isinstance(name, str) else None


def _route(
    context: ApiContext,
    body: MessageRequest,
    facts: tuple[str, str, str | None, str | None],
    now: float,
    at: str,
) -> RouteChoice | None:
    """The route ``body`` goes on: the one it names (honoured, recorded "explicit"), else
    the routing table's choice; None without a table (the first route, as ever).
    ``facts``: the destination, the sender, the client and the idempotency key."""
    if body.route is not None:
        if body.route not in context.routes:
            known = ", ".join(context.routes)
            raise invalid(f"{at}route", body.route, f"no such route (known: {known})")
        return None if context.routing is None else RoutingTable.explicit(body.route)
    if context.routing is None:
        return None
    destination, source, client, key = facts
    priority = context.default_priority if body.priority is None else body.priority
    return context.routing.choose(
        MessageFacts(
            destination=destination,
            source=source,
            kind=kind_of_priority(priority),
            client=client,
            key=MessageFacts.stable_key(key, destination, source, body.text),
        ),
        now,
    )


def _new_message(
    context: ApiContext,
    body: MessageRequest,
    now: float,
    key: str | None,
    *,
    at: str = "",
    client: str | None = None,
    tenant: Tenant | None = None,
) -> tuple[NewMessage, TextPlan]:
    """The message ``body`` asks for, with its text plan; 422s name ``at`` + the field.

    The text is planned as its route's dispatcher will split it: with the
    route's text profile and concatenation method. ``client``: the API key's
    name, which routing rules may match.
    """
    try:
        destination = normalise_msisdn(body.to, field="to")
        check_address(Address(Ton.INTERNATIONAL, Npi.ISDN, destination), "destination_addr")
    except MsisdnError as exc:
        raise invalid(f"{at}to", body.to, exc.reason) from None
    except PduError as exc:
        raise invalid(f"{at}to", body.to, exc.reason) from None
    sender = check_sender(tenant, body.sender, at)
    ton, npi, source = sender_fields(sender, field=f"{at}from")
    callback_url, callback_events = callback_choice(
        tenant, body.callback_url, body.callback_events, at
    )
    choice = _route(context, body, (destination, sender, client, key), now, at)
    route = choice.route if choice is not None else body.route or context.routes[0]
    text = context.route_text(route)
    if body.flash and not text.flash:
        raise invalid(f"{at}flash", body.flash, f"route {route!r} does not allow flash")
    try:
        plan = plan_text(body.text, text.profile, text.method, max_parts=text.max_parts)
    except PduError as exc:
        raise invalid(f"{at}text", body.text, f"{exc} on route {route!r}") from None
    expires_at = _expiry(body, now, at)
    not_before = _send_at(body, now, expires_at, at)
    message = NewMessage(
        smsc=route,
        source=source,
        source_ton=ton,
        source_npi=npi,
        destination=destination,
        text=body.text,
        parts=plan.parts,
        priority=context.default_priority if body.priority is None else body.priority,
        registered_delivery=body.registered_delivery,
        flash=body.flash,
        expires_at=expires_at,
        not_before=not_before,
        send_at=not_before if body.send_at is not None else None,
        idempotency_key=key,
        route_rule=None if choice is None else choice.rule,
        route_plan=() if choice is None else choice.plan,
        tenant=None if tenant is None else tenant.name,
        callback_url=callback_url,
        callback_events=callback_events if callback_url is not None else frozenset(),
    )
    return message, plan


def _accepted(accepted: Accepted, plan: TextPlan) -> dict[str, Any]:
    """A :class:`MessageAccepted`'s fields; validated into the answer all at once, which
    costs a batch of 1,000 less than building 1,000 models."""
    return {
        "id": accepted.message_id,
        "parts": plan.parts,
        "encoding": plan.alphabet.name,
        "duplicate": accepted.duplicate,
    }


def _scoped(request: Request, key: str | None) -> str | None:
    return None if key is None else scoped_key(api_key_name(request), key)


async def _differences(context: ApiContext, message_id: int, message: NewMessage) -> list[str]:
    stored = await context.store.get(message_id)
    return ["message"] if stored is None else stored_differences(stored, message)


def _conflict(message_id: int, message: NewMessage, differ: Sequence[str], field: str) -> ApiError:
    """The 409 for a key the store holds for another message: it names ``field``."""
    key = client_key(message.idempotency_key)
    return ApiError(
        409,
        "conflict",
        f"{field}: the key {key!r} was used for another message (id {message_id}; "
        f"this one differs in {', '.join(differ)}); send a new message with a new key",
        field=field,
        value=key,
    )


async def _accept_as(
    context: ApiContext, tenant: Tenant | None, messages: Sequence[NewMessage], now: float
) -> list[Accepted]:
    """Accept ``messages`` for ``tenant``: within its throughput and quotas (counted in the
    store before the accept; given back for what the accept did not store)."""
    if tenant is None:
        return await context.accept(messages)
    wait = tenant.take(len(messages), now)
    if wait > 0:
        raise rate_error(tenant, wait)
    parts = sum(m.parts for m in messages)
    counted = tenant.daily_quota is not None or tenant.monthly_quota is not None
    if counted:
        refusal = await tenant_store(context).reserve_quota(
            tenant.name,
            messages=len(messages),
            parts=parts,
            now=now,
            daily=tenant.daily_quota,
            monthly=tenant.monthly_quota,
        )
        if refusal is not None:
            raise quota_error(tenant, refusal, now)
    try:
        accepted = await context.accept(messages)
    except BaseException:
        if counted:
            with trio.CancelScope(shield=True):
                await tenant_store(context).release_quota(
                    tenant.name, messages=len(messages), parts=parts, at=now
                )
        raise
    repeated = [m for m, a in zip(messages, accepted, strict=True) if a.duplicate]
    if counted and repeated:
        # A message sent again under its idempotency key is not a second message.
        await tenant_store(context).release_quota(
            tenant.name,
            messages=len(repeated),
            parts=sum(m.parts for m in repeated),
            at=now,
        )
    return accepted


async def post_message(context: ApiContext, request: Request) -> Response:
    body = parse_body(MessageRequest, await read_json(request))
    key = _scoped(request, _idempotency_key(request, body))
    tenant = context.tenant_gate.of(request)
    now = context.clock()
    message, plan = _new_message(context, body, now, key, client=_client(request), tenant=tenant)
    (accepted,) = await _accept_as(context, tenant, [message], now)
    if accepted.duplicate:
        # The store kept nothing of this request: a 409 leaves nothing behind.
        differ = await _differences(context, accepted.message_id, message)
        if differ:
            raise _conflict(accepted.message_id, message, differ, "idempotency_key")
    answer = MessageAccepted.model_validate(_accepted(accepted, plan))
    return respond(answer, 200 if accepted.duplicate else 201)


class BatchRequest(BaseModel):
    """The body of ``POST /v1/messages/batch``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    messages: Annotated[list[MessageRequest], Field(min_length=1, max_length=MAX_BATCH)]


_LOOKUPS = 16  # keys of one batch looked up at once


def _first_of_keys(messages: Sequence[NewMessage]) -> dict[str, int]:
    """Each key of a batch and its first item; a 422 when a later item gives the key
    another message (the same message twice is one message, both items its id)."""
    first_of: dict[str, int] = {}
    for index, message in enumerate(messages):
        key = message.idempotency_key
        if key is None:
            continue
        first = first_of.setdefault(key, index)
        if first == index:
            continue
        differ = differences(messages[first], message)
        if differ:
            raise invalid(
                f"messages[{index}].idempotency_key",
                client_key(key),
                f"the key of messages[{first}], with another message "
                f"(it differs in {', '.join(differ)})",
            )
    return first_of


async def _known_keys(
    context: ApiContext, messages: Sequence[NewMessage], first_of: dict[str, int]
) -> dict[str, int]:
    """The stored message id of each key of the batch that is stored; a 409 naming the
    first item whose key the store holds for another message."""
    known: dict[str, int] = {}
    conflicts: dict[int, list[str]] = {}
    failed: list[StoreError] = []
    limiter = trio.CapacityLimiter(_LOOKUPS)

    async def look_up(key: str) -> None:
        async with limiter:
            if failed:
                return
            try:
                found = await context.store.find_by_idempotency_key(key)
                if found is None:
                    return
                known[key] = found
                differ = await _differences(context, found, messages[first_of[key]])
            except StoreError as exc:
                # Raised after the nursery, as itself: the app answers it with a 503.
                failed.append(exc)
                return
        if differ:
            conflicts[first_of[key]] = differ

    async with trio.open_nursery() as nursery:
        for key in first_of:
            nursery.start_soon(look_up, key)
    if failed:
        raise failed[0]
    if conflicts:
        index = min(conflicts)
        message = messages[index]
        assert message.idempotency_key is not None
        field = f"messages[{index}].idempotency_key"
        raise _conflict(known[message.idempotency_key], message, conflicts[index], field)
    return known


async def post_messages(context: ApiContext, request: Request) -> Response:
    """Up to MAX_BATCH messages made durable together: all of them, or (on a 4xx) none.

    An item whose key is stored already is answered as that message (200 when
    every item is), or refused with a 409 naming the item when it differs;
    items repeating a key of the batch are one message.
    """
    body = parse_body(BatchRequest, await read_json(request))
    now = context.clock()
    name = api_key_name(request)
    tenant = context.tenant_gate.of(request)
    planned = [
        _new_message(
            context,
            item,
            now,
            None if item.idempotency_key is None else scoped_key(name, item.idempotency_key),
            at=f"messages[{n}].",
            client=name,
            tenant=tenant,
        )
        for n, item in enumerate(body.messages)
    ]
    messages = [message for message, _ in planned]
    first_of = _first_of_keys(messages)
    # Checked before the accept, so that a 409 leaves the whole batch unwritten.
    known = await _known_keys(context, messages, first_of)
    accepted = await _accept_as(context, tenant, messages, now)
    for index, answer in enumerate(accepted):
        stored_key = messages[index].idempotency_key
        if (
            answer.duplicate
            and stored_key is not None
            and stored_key not in known
            and first_of[stored_key] == index
        ):
            # Stored by a concurrent request since the check above.
            differ = await _differences(context, answer.message_id, messages[index])
            if differ:
                field = f"messages[{index}].idempotency_key"
                raise _conflict(answer.message_id, messages[index], differ, field)
    batch = BatchAccepted.model_validate(
        {"messages": [_accepted(a, plan) for a, (_, plan) in zip(accepted, planned, strict=True)]}
    )
    fresh = any(not a.duplicate for a in accepted)
    return respond(batch, 201 if fresh else 200)


def path_id(request: Request, name: str, what: str) -> int:
    """An integer path parameter; one past the stores' range names nothing (404)."""
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise ApiError(404, "not found", f"no {what} has id {value}")
    return value


async def get_message(context: ApiContext, request: Request) -> Response:
    message_id = path_id(request, "message_id", "message")
    view = await context.store.get(message_id)
    tenant = context.tenant_gate.of(request)
    if view is None or (tenant is not None and view.tenant != tenant.name):
        # Another tenant's message is answered as none: its id reveals nothing.
        raise ApiError(404, "not found", f"no message has id {message_id}")
    answer = message_view_json(view)
    answer["idempotency_key"] = client_key(view.idempotency_key)
    return respond(Message.model_validate(answer))
