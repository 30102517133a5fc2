"""``POST /v1/messages`` and ``GET /v1/messages/{id}``: one SMS in, its fate out.

A message is answered 201 only once the pipeline's accept has returned, i.e.
once it is committed: an id a client holds always names a stored message. The
text's encoding and part count come from the protocol core's planner, the
destination is normalised as campaigns normalise it, and the sender is checked
as the SMSC would check it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from throttling import Priority

from ..campaigns import MsisdnError, normalise_msisdn
from ..protocol import (
    PduError,
    TextEncodeError,
    TextPlan,
    TextTooLongError,
    plan_text,
    sender_address,
)
from ..store import Accepted, NewMessage
from ..views import message_view_json
from .bodies import parse_body, read_json
from .context import ApiContext
from .errors import ApiError, invalid

__all__ = [
    "MAX_BATCH",
    "MAX_ID",
    "BatchRequest",
    "MessageRequest",
    "get_message",
    "post_message",
    "post_messages",
    "sender_fields",
]

MAX_ID = 2**63 - 1  # the stores' id columns are 64-bit
MAX_VALIDITY = 14 * 24 * 3600.0  # SMSCs keep a message for days, not months
# One batch is one store transaction; larger ones would hold the writer too long.
MAX_BATCH = 1000

_PRIORITIES = {
    "interactive": Priority.INTERACTIVE,
    "transactional": Priority.TRANSACTIONAL,
    "bulk": Priority.BULK,
}


class MessageRequest(BaseModel):
    """The body of ``POST /v1/messages``."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    to: Annotated[str, Field(min_length=1, max_length=64)]
    sender: Annotated[str, Field(alias="from", min_length=1, max_length=64)]
    text: Annotated[str, Field(min_length=1, max_length=40_000)]
    #: None: the configured default ([http] default_priority).
    priority: Literal["interactive", "transactional", "bulk"] | None = None
    validity: Annotated[float, Field(gt=0, le=MAX_VALIDITY)] | None = None
    expires_at: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    route: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    registered_delivery: bool = True
    idempotency_key: Annotated[str, Field(min_length=1, max_length=128)] | None = None


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
    try:
        expiry = datetime.fromisoformat(body.expires_at)
    except ValueError:
        raise invalid(field, body.expires_at, "expected ISO 8601 with an offset") from None
    if expiry.utcoffset() is None:
        raise invalid(field, body.expires_at, "give an offset (Z or +02:00)")
    stamp = expiry.timestamp()
    if not now < stamp <= now + MAX_VALIDITY:
        raise invalid(field, body.expires_at, "must be in the future, within 14 days")
    return stamp


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


def _new_message(
    context: ApiContext, body: MessageRequest, now: float, key: str | None, at: str = ""
) -> tuple[NewMessage, TextPlan]:
    """The message ``body`` asks for, with its text plan; 422s name ``at`` + the field."""
    route = body.route or context.routes[0]
    if route not in context.routes:
        known = ", ".join(context.routes)
        raise invalid(f"{at}route", route, f"no such route (known: {known})")
    try:
        destination = normalise_msisdn(body.to, field="to")
    except MsisdnError as exc:
        raise invalid(f"{at}to", body.to, exc.reason) from None
    ton, npi, source = sender_fields(body.sender, field=f"{at}from")
    try:
        plan = plan_text(body.text)
    except (TextTooLongError, TextEncodeError) as exc:
        raise invalid(f"{at}text", body.text, str(exc)) from None
    message = NewMessage(
        smsc=route,
        source=source,
        source_ton=ton,
        source_npi=npi,
        destination=destination,
        text=body.text,
        parts=plan.parts,
        priority=int(
            context.default_priority if body.priority is None else _PRIORITIES[body.priority]
        ),
        registered_delivery=body.registered_delivery,
        expires_at=_expiry(body, now, at),
        idempotency_key=key,
    )
    return message, plan


def _accepted_json(accepted: Accepted, plan: TextPlan) -> dict[str, Any]:
    return {
        "id": accepted.message_id,
        "parts": plan.parts,
        "encoding": plan.alphabet.name,
        "duplicate": accepted.duplicate,
    }


async def post_message(context: ApiContext, request: Request) -> Response:
    body = parse_body(MessageRequest, await read_json(request))
    message, plan = _new_message(context, body, context.clock(), _idempotency_key(request, body))
    (accepted,) = await context.accept([message])
    return JSONResponse(
        _accepted_json(accepted, plan), status_code=200 if accepted.duplicate else 201
    )


class BatchRequest(BaseModel):
    """The body of ``POST /v1/messages/batch``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    messages: Annotated[list[MessageRequest], Field(min_length=1, max_length=MAX_BATCH)]


async def post_messages(context: ApiContext, request: Request) -> Response:
    """Up to MAX_BATCH messages made durable together: all of them, or (on a 422) none."""
    body = parse_body(BatchRequest, await read_json(request))
    now = context.clock()
    planned = [
        _new_message(context, item, now, item.idempotency_key, at=f"messages[{n}].")
        for n, item in enumerate(body.messages)
    ]
    accepted = await context.accept([message for message, _ in planned])
    answers = [_accepted_json(a, plan) for a, (_, plan) in zip(accepted, planned, strict=True)]
    fresh = any(not a.duplicate for a in accepted)
    return JSONResponse({"messages": answers}, status_code=201 if fresh else 200)


def path_id(request: Request, name: str, what: str) -> int:
    """An integer path parameter; one past the stores' range names nothing (404)."""
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise ApiError(404, "not found", f"no {what} has id {value}")
    return value


async def get_message(context: ApiContext, request: Request) -> Response:
    message_id = path_id(request, "message_id", "message")
    view = await context.store.get(message_id)
    if view is None:
        raise ApiError(404, "not found", f"no message has id {message_id}")
    return JSONResponse(message_view_json(view))
