"""The HTTP API application: routes, the gate (keys and metrics), errors as JSON.

Handlers take the :class:`ApiContext` and the request; this module binds them
to paths. A store that fails answers 503 (nothing of the request was written:
every store call is one transaction), a bad input 400 or 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..store import StoreError
from . import billing, campaigns, messages, notices, route_states, tenants
from .answers import Alive, Readiness, StoreReadiness, StoreUnavailable, respond
from .context import ApiContext
from .errors import ApiError, api_error_response, http_exception_response
from .gate import Gate
from .schema import OPERATIONS, openapi_document

__all__ = ["create_app"]

_log = structlog.get_logger("smpp_engine.http_api")

Handler = Callable[[ApiContext, Request], Awaitable[Response]]


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    _log.warning("HTTP request failed: store unavailable", path=request.url.path, error=str(exc))
    answer = StoreUnavailable(error="store unavailable", detail=str(exc))
    return respond(answer, 503, {"Retry-After": "5"})


def create_app(context: ApiContext) -> Starlette:
    """The API for ``context``: ``/v1/...`` under API keys, health and metrics beside."""
    documents: dict[tuple[str, ...], dict[str, object]] = {}

    def bound(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return partial(handler, context)

    async def healthz(request: Request) -> Response:
        return respond(Alive(status="alive"))

    async def readyz(request: Request) -> Response:
        try:
            readiness = await context.readiness()
        except StoreError as exc:
            unready = Readiness(ready=False, store=StoreReadiness(reachable=False, error=str(exc)))
            return respond(unready, 503)
        answer = Readiness.model_validate(readiness.to_json(context.routes))
        return respond(answer, 200 if answer.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        # Made again only when a reload changed the routes it lists.
        routes = tuple(context.routes)
        if routes not in documents:
            documents.clear()
            documents[routes] = openapi_document(routes)
        return JSONResponse(documents[routes])

    steer = "/v1/campaigns/{campaign_id:int}/{action:str}"
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/routes", bound(route_states.get_routes), methods=["GET"]),
        Route("/v1/routes/{name}/pause", bound(route_states.pause_route), methods=["POST"]),
        Route("/v1/routes/{name}/resume", bound(route_states.resume_route), methods=["POST"]),
        Route("/v1/routes/{name}/rebind", bound(route_states.rebind_route), methods=["POST"]),
        Route("/v1/admin/reload", bound(route_states.reload_settings), methods=["POST"]),
        Route("/v1/messages", bound(messages.post_message), methods=["POST"]),
        Route("/v1/messages/batch", bound(messages.post_messages), methods=["POST"]),
        Route("/v1/messages/{message_id:int}", bound(messages.get_message), methods=["GET"]),
        Route("/v1/campaigns", bound(campaigns.post_campaign), methods=["POST"]),
        Route("/v1/campaigns", bound(campaigns.list_campaigns), methods=["GET"]),
        Route("/v1/campaigns/{campaign_id:int}", bound(campaigns.get_campaign), methods=["GET"]),
        *(
            Route(
                steer.replace("{action:str}", action),
                partial(_steer, context, action),
                methods=["POST"],
            )
            for action in ("pause", "resume", "cancel")
        ),
        Route("/v1/groups", bound(campaigns.create_group), methods=["POST"]),
        Route("/v1/groups", bound(campaigns.list_groups), methods=["GET"]),
        Route("/v1/groups/{name}/members", bound(campaigns.upsert_group_members), methods=["POST"]),
        Route(
            "/v1/groups/{name}/members/{msisdn}",
            bound(campaigns.remove_group_member),
            methods=["DELETE"],
        ),
        Route("/v1/billing/accounts/{account}", bound(billing.get_account), methods=["GET"]),
        Route(
            "/v1/billing/accounts/{account}/payments",
            bound(billing.post_payment),
            methods=["POST"],
        ),
        Route("/v1/billing/notices/plan", bound(notices.plan_notices), methods=["POST"]),
        Route("/v1/billing/notices/run", bound(notices.post_notices_run), methods=["POST"]),
        Route("/v1/billing/notices/warnings", bound(notices.get_warnings), methods=["GET"]),
        Route("/v1/usage", bound(tenants.get_usage), methods=["GET"]),
        Route("/v1/usage/csv", bound(tenants.get_usage_csv), methods=["GET"]),
        Route("/v1/callbacks/dead", bound(tenants.list_dead_callbacks), methods=["GET"]),
        Route("/v1/callbacks/dead/replay", bound(tenants.replay_callbacks), methods=["POST"]),
        Route("/v1/mo", bound(tenants.list_mo), methods=["GET"]),
    ]
    public = {"/healthz", "/readyz", "/openapi.json"}
    if context.metrics_public:
        public.add("/metrics")
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                Gate,
                routes=routes,
                keys=lambda: context.keys,
                public=public,
                scopes={
                    (operation.method.upper(), operation.path): operation.scope
                    for operation in OPERATIONS
                    if operation.scope is not None
                },
            )
        ],
        exception_handlers={
            ApiError: api_error_response,
            StoreError: _store_unavailable,
            HTTPException: http_exception_response,
        },
    )


async def _steer(context: ApiContext, action: str, request: Request) -> Response:
    request.path_params["action"] = action
    return await campaigns.steer_campaign(context, request)
