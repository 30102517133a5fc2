"""``GET /v1/routes``: each route now, from the pipeline (binds, rate, restarts) and the
store (its messages by state, the one count every gateway process shares)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..pipeline import RouteStatus
from ..store import MessageState
from .answers import Routes, respond
from .context import ApiContext

__all__ = ["get_routes"]

#: What a route not started in this process shows (the API without a pipeline).
_UNKNOWN = RouteStatus(binds_up=0)


async def get_routes(context: ApiContext, request: Request) -> Response:
    statuses = context.route_status() if context.route_status is not None else {}
    routes: list[dict[str, Any]] = []
    for name in context.routes:
        status = statuses.get(name, _UNKNOWN)
        counts = await context.store.count_by_state(smsc=name)
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
                "queue": {state: counts.get(state, 0) for state in MessageState},
            }
        )
    return respond(Routes.model_validate({"routes": routes}))
