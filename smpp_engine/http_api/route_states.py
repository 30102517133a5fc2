"""``GET /v1/routes``: each route now, from the pipeline (binds, rate, restarts) and the
store (its messages by state and whether it is paused: what every gateway process
shares; a tenant's key is shown its own messages only); ``POST
/v1/routes/{name}/pause|resume|rebind`` and ``POST /v1/admin/reload``, the operator's
control of a running gateway."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response

from ..pipeline import RouteStatus
from ..settings import SettingsError
from ..store import MessageState, PauseStore, RoutePause
from ..views import iso_time
from .answers import Reloaded, ReloadRefused, RouteControl, Routes, respond
from .context import ApiContext
from .errors import ApiError
from .messages import api_key_name

__all__ = ["get_routes", "pause_route", "rebind_route", "reload_settings", "resume_route"]

#: What a route not started in this process shows (the API without a pipeline).
_UNKNOWN = RouteStatus(binds_up=0)


async def get_routes(context: ApiContext, request: Request) -> Response:
    statuses = context.route_status() if context.route_status is not None else {}
    pauses = await cast(PauseStore, context.store).route_pauses()
    # A tenant's key sees its own messages on each route, never the other tenants'.
    tenant = context.tenant_gate.of(request)
    mine = None if tenant is None else tenant.name
    routes: list[dict[str, Any]] = []
    for name in context.routes:
        status = statuses.get(name, _UNKNOWN)
        counts = await context.store.count_by_state(smsc=name, tenant=mine)
        routes.append(
            {
                "name": name,
                "smsc": status.smsc,
                "system_id": status.system_id,
                "binds": status.binds,
                "binds_up": status.binds_up,
                "rate": status.rate,
                "rate_state": status.rate_state,
                "restarts": status.restarts,
                "restarting": status.restarting,
                "last_error": status.last_error,
                "failover_after": status.failover_after,
                "queue": {state: counts.get(state, 0) for state in MessageState},
                **_paused(pauses.get(name)),
            }
        )
    return respond(Routes.model_validate({"routes": routes}))


async def pause_route(context: ApiContext, request: Request) -> Response:
    name = _route(context, request)
    pause = await cast(PauseStore, context.store).pause_route(
        name, now=context.clock(), by=api_key_name(request)
    )
    if context.pauses_changed is not None:
        await context.pauses_changed()
    return respond(RouteControl.model_validate({"name": name, **_paused(pause)}))


async def resume_route(context: ApiContext, request: Request) -> Response:
    name = _route(context, request)
    await cast(PauseStore, context.store).resume_route(name)
    if context.pauses_changed is not None:
        await context.pauses_changed()
    return respond(RouteControl(name=name, paused=False))


async def rebind_route(context: ApiContext, request: Request) -> Response:
    name = _route(context, request)
    if context.rebind is None:
        raise ApiError(409, "conflict", "no route runs in this process", field="name", value=name)
    context.rebind(name)
    pause = (await cast(PauseStore, context.store).route_pauses()).get(name)
    answer = RouteControl.model_validate({"name": name, "rebinding": True, **_paused(pause)})
    return respond(answer)


async def reload_settings(context: ApiContext, request: Request) -> Response:
    if context.reload is None:
        raise ApiError(
            409,
            "conflict",
            "this process has no settings to reload",
            field="reload",
            value=None,
        )
    try:
        report = await context.reload()
    except RuntimeError as exc:  # the gateway is stopping: its pipeline takes no routes
        raise ApiError(409, "conflict", str(exc), field="reload", value=None) from None
    except SettingsError as exc:
        problems = [{"key": p.key, "message": p.message, "value": p.value} for p in exc.problems]
        refused = ReloadRefused.model_validate(
            {"error": "invalid settings", "detail": str(exc), "problems": problems}
        )
        return respond(refused, 422)
    return respond(Reloaded.model_validate(report.as_json()))


def _route(context: ApiContext, request: Request) -> str:
    name = str(request.path_params["name"])
    if name not in context.routes:
        raise ApiError(404, "not found", f"no route is called {name!r}")
    return name


def _paused(pause: RoutePause | None) -> dict[str, Any]:
    if pause is None:
        return {"paused": False}
    return {"paused": True, "paused_since": iso_time(pause.since), "paused_by": pause.by}
