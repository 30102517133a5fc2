"""``GET /v1/usage[/csv]`` and the callback dead letters: what a tenant (or the operator) sees.

A tenant's key sees its own usage and dead letters only (asking for another
tenant's is a 404, as for a tenant that does not exist); the operator's keys
see every tenant's, or one with ``tenant=NAME``.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ..store.callbacks import OutboxEvent, OutboxStatus
from ..store.mo import MoRoute, MoStore
from ..usage import UsageRangeError, day_range, usage_csv, usage_json
from ..views import iso_time
from .answers import CallbackEvents, CallbacksReplayed, KeptMoMessages, Usage, respond
from .bodies import parse_body, read_json
from .context import ApiContext
from .errors import ApiError, invalid
from .tenancy import callback_store, tenant_store

__all__ = [
    "ReplayBody",
    "get_usage",
    "get_usage_csv",
    "list_dead_callbacks",
    "list_mo",
    "replay_callbacks",
]


class ReplayBody(BaseModel):
    """The body of ``POST /v1/callbacks/dead/replay``: one event, or every dead letter."""

    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


def _tenant_asked(context: ApiContext, request: Request) -> str | None:
    """The tenant whose records are asked for: a tenant key's own, else ``?tenant=``."""
    asked = request.query_params.get("tenant")
    tenant = context.tenant_gate.of(request)
    if tenant is None:
        return asked or None
    if asked and asked != tenant.name:
        raise ApiError(404, "not found", f"no tenant is named {asked!r}")
    return tenant.name


async def _usage(context: ApiContext, request: Request) -> tuple[str, str, list[Any]]:
    since = request.query_params.get("from", "")
    until = request.query_params.get("to", since)
    try:
        first, last, start, end = day_range(since, until)
    except UsageRangeError as exc:
        raise invalid(exc.field, exc.value, exc.reason) from None
    tenant = _tenant_asked(context, request)
    rows = await tenant_store(context).tenant_usage(since=start, until=end, tenant=tenant)
    return first.isoformat(), last.isoformat(), rows


async def get_usage(context: ApiContext, request: Request) -> Response:
    since, until, rows = await _usage(context, request)
    answer = {"since": since, "until": until, "rows": usage_json(rows)}
    return respond(Usage.model_validate(answer))


async def get_usage_csv(context: ApiContext, request: Request) -> Response:
    since, until, rows = await _usage(context, request)
    return Response(
        usage_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="usage-{since}-{until}.csv"'},
    )


def callback_event_json(event: OutboxEvent) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "message_id": event.message_id,
        "tenant": event.tenant,
        "url": event.url,
        "event": event.event,
        "occurred_at": iso_time(event.occurred_at),
        "status": event.status.value,
        "attempts": event.attempts,
        "next_at": iso_time(event.next_at),
        "last_error": event.last_error,
    }


async def list_dead_callbacks(context: ApiContext, request: Request) -> Response:
    tenant = _tenant_asked(context, request)
    events = await callback_store(context).list_callbacks(
        status=OutboxStatus.DEAD, tenant=tenant, limit=1000
    )
    answer = {"events": [callback_event_json(e) for e in events]}
    return respond(CallbackEvents.model_validate(answer))


async def replay_callbacks(context: ApiContext, request: Request) -> Response:
    body = parse_body(ReplayBody, await read_json(request))
    tenant = _tenant_asked(context, request)
    replayed = await callback_store(context).replay_callbacks(
        now=context.clock(), tenant=tenant, event_id=body.event_id
    )
    return respond(CallbacksReplayed(replayed=replayed))


async def list_mo(context: ApiContext, request: Request) -> Response:
    """The MO messages kept (newest first, at most 1,000): ``route=unrouted`` for those
    no route took; a tenant's key sees the ones routed to it."""
    route_text = request.query_params.get("route")
    route = None
    if route_text is not None:
        if route_text not in (MoRoute.TENANT.value, MoRoute.UNROUTED.value):
            raise invalid("route", route_text, "expected tenant or unrouted")
        route = MoRoute(route_text)
    tenant = _tenant_asked(context, request)
    if context.tenant_gate.of(request) is not None:
        route = MoRoute.TENANT  # a tenant's are routed to it; unrouted ones are nobody's
    kept = await cast(MoStore, context.store).list_mo(route=route, tenant=tenant, limit=1000)
    answer = {
        "messages": [
            {
                "id": k.id,
                "mo_id": k.mo_id,
                "smsc": k.smsc,
                "source": k.source,
                "destination": k.destination,
                "text": k.text,
                "parts": k.parts,
                "received_at": iso_time(k.received_at),
                "route": k.route.value,
                "tenant": k.tenant,
            }
            for k in kept
        ]
    }
    return respond(KeptMoMessages.model_validate(answer))
