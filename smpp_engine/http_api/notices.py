"""Notices runs over HTTP: ``POST /v1/billing/notices/plan`` previews, ``.../run`` queues;
``GET /v1/billing/notices/warnings`` lists the disconnection warnings and their proof.

Both answer what ``smpp-engine notices plan|run --json`` prints (counts by kind
and reason). A run queues through the pipeline's accept, so the routes wake at
once; like the command, it is idempotent per notice and period: posting it again
queues nothing. The engine's ``[notices]`` quiet hours and caps apply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ..billing import RUN_YEARS, NoticeRunSummary, follow_up_warnings, run_notices
from ..protocol import plan_text
from ..store import BillingStore, NoBillingUtilityError
from .answers import NoticeRun, WarningProofs, respond
from .billing import PipelineQueue
from .bodies import parse_body, read_json
from .context import ApiContext
from .errors import ApiError, invalid

__all__ = ["NoticeRunBody", "get_warnings", "plan_notices", "post_notices_run"]


class NoticeRunBody(BaseModel):
    """The body of ``POST /v1/billing/notices/plan`` and ``.../run``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    now: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                description="Decide as of this ISO 8601 time with its offset; default: now.",
                json_schema_extra={"format": "date-time"},
            ),
        ]
        | None
    ) = None
    dry_run: Annotated[
        bool,
        Field(description="Decide and count, store and queue nothing (a plan never does)."),
    ] = False


def _now(context: ApiContext, text: str | None) -> datetime:
    if text is None:
        return datetime.fromtimestamp(context.clock(), UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise invalid("now", text, "expected ISO 8601") from None
    if at.utcoffset() is None:
        raise invalid("now", text, "give a time zone offset")
    if at.year not in RUN_YEARS:
        raise invalid("now", text, f"a year from {RUN_YEARS.start} to {RUN_YEARS.stop - 1}")
    return at


async def _decide(context: ApiContext, request: Request, *, preview: bool) -> Response:
    body = parse_body(NoticeRunBody, await read_json(request))
    now = _now(context, body.now)
    route = context.billing_route or context.routes[0]
    # Sized as the route sends them: the variant chosen is the one that fits its SMS.
    text = context.route_text(route)
    try:
        summary: NoticeRunSummary = await run_notices(
            cast(BillingStore, context.store),
            None if preview else PipelineQueue(context),
            now=now,
            route=route,
            dry_run=body.dry_run,
            adjust=context.notice_rules,
            sizer=partial(plan_text, profile=text.profile, method=text.method),
            routing=context.routing,
        )
    except NoBillingUtilityError:
        raise ApiError(
            404, "not found", "no billing data: load it with smpp-engine billing import"
        ) from None
    return respond(NoticeRun.model_validate(summary.to_json()))


async def plan_notices(context: ApiContext, request: Request) -> Response:
    return await _decide(context, request, preview=True)


async def post_notices_run(context: ApiContext, request: Request) -> Response:
    return await _decide(context, request, preview=False)


async def get_warnings(context: ApiContext, request: Request) -> Response:
    """The warnings as ``smpp-engine notices warnings --json`` lists them, at now."""
    followed = await follow_up_warnings(
        cast(BillingStore, context.store),
        context.store,
        None,
        now=datetime.fromtimestamp(context.clock(), UTC),
        route=context.billing_route or context.routes[0],
        wait=context.warning_wait,
        retries=context.warning_retries,
    )
    return respond(WarningProofs.model_validate(followed.to_json()))
