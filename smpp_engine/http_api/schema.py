"""The OpenAPI 3.1 document of the API, served at ``/openapi.json``, made from the models.

Request bodies are the models the handlers parse with; answers are the models of
:mod:`.answers`; pydantic writes their JSON Schema (``$defs`` become
``components/schemas``). What is left to say by hand is the table below: each
operation's path, summary, body, parameters, answers by status, the errors it
can give, and whether it needs a key. A request's ``route`` lists the
configured routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from ..settings import Scope
from . import answers as a
from .billing import PaymentBody
from .bodies import ROUTE_MARK
from .campaigns import CampaignBody, GroupBody, MembersBody
from .messages import BatchRequest, MessageRequest
from .notices import NoticeRunBody
from .tenants import ReplayBody

__all__ = ["ERRORS", "OPERATIONS", "Operation", "Reply", "openapi_document"]

Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented answer: a JSON ``model``, or text when None; ``name`` for one
    shared by many operations (``components/responses``)."""

    description: str
    model: type[BaseModel] | None
    name: str = ""
    #: The media type of a text answer (model None).
    media_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path (``{name}`` for a path parameter, as Starlette has it
    without the converter). ``errors`` are statuses answered with an error body
    (:data:`ERRORS`); ``public`` needs no API key. Its tag is the path's first
    segment after ``/v1`` (``health`` outside it)."""

    method: Literal["get", "post", "delete"]
    path: str
    summary: str
    replies: Mapping[int, Reply]
    errors: Sequence[int] = ()
    body: type[BaseModel] | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    header: bool = False
    public: bool = False
    #: The scope a key needs for it (None only when ``public``): read for reads,
    #: send, campaigns or billing for writes of that kind, admin for the gateway's
    #: control. The gate enforces it; every non-public operation may answer 403.
    scope: Scope | None = None
    #: Optional query parameters, by name.
    query: Mapping[str, Any] = field(default_factory=dict)


#: The error answers, by status: what each means and its shape.
ERRORS: Mapping[int, Reply] = {
    400: Reply("The body is not a JSON object.", a.FieldError, "BadRequest"),
    401: Reply("No API key, or not a known one.", a.Error, "Unauthorized"),
    403: Reply(
        "The API key does not hold the scope the operation needs; scope names it.",
        a.ScopeError,
        "Forbidden",
    ),
    404: Reply("No such record.", a.Error, "NotFound"),
    409: Reply(
        "The record's state forbids it, or an idempotency key was used before for "
        "another message; field and value name it.",
        a.FieldError,
        "Conflict",
    ),
    413: Reply("The body is too large.", a.Error, "TooLarge"),
    429: Reply(
        "The key's tenant is over its daily or monthly quota, or its throughput: nothing "
        "was accepted; Retry-After says when to try again.",
        a.Error,
        "TooMany",
    ),
    422: Reply("A field's value cannot be used; field and value name it.", a.FieldError, "Invalid"),
    503: Reply(
        "The store did not answer; nothing was written.", a.StoreUnavailable, "StoreUnavailable"
    ),
}

_ID = Annotated[int, Field(ge=0)]
_NAME = Annotated[str, Field(min_length=1, max_length=200)]
_ACCOUNT = Annotated[str, Field(min_length=1, max_length=64)]
_CAMPAIGN = {"campaign_id": _ID}
_WRITE_ERRORS = (400, 401, 409, 413, 422, 503)
_SEND_ERRORS = (400, 401, 409, 413, 422, 429, 503)
_DAY = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
_USAGE_QUERY = {"from": _DAY, "to": _DAY, "tenant": Annotated[str, Field(min_length=1)]}


def _steer(action: str) -> Operation:
    return Operation(
        "post",
        f"/v1/campaigns/{{campaign_id}}/{action}",
        f"{action.capitalize()} a campaign (409 when its state does not allow it).",
        {200: Reply("The campaign after the change.", a.Campaign)},
        (401, 404, 409, 503),
        parameters=_CAMPAIGN,
        scope="campaigns",
    )


OPERATIONS: Sequence[Operation] = (
    Operation(
        "get",
        "/healthz",
        "Alive: the process serves HTTP.",
        {200: Reply("Alive.", a.Alive)},
        public=True,
    ),
    Operation(
        "get",
        "/readyz",
        "Ready: every route has a bind up and the store answers.",
        {
            200: Reply("Ready.", a.Readiness),
            503: Reply("Not ready; the body says what is missing.", a.Readiness),
        },
        public=True,
    ),
    Operation(
        "get",
        "/metrics",
        "Prometheus metrics (public when the configuration says so).",
        {200: Reply("The exposition text.", None)},
        (401,),
        scope="read",
    ),
    Operation(
        "get",
        "/v1/routes",
        "Each route now: its SMSC account, binds up, the rate allowed, restarts and last "
        "error, and its messages in the store by state (to a tenant's key: that tenant's "
        "own messages only).",
        {200: Reply("The routes, the default first.", a.Routes)},
        (401, 503),
        scope="read",
    ),
    *(
        Operation(
            "post",
            f"/v1/routes/{{name}}/{action}",
            summary,
            {200: Reply("The route after the change.", a.RouteControl)},
            (401, 404, *extra, 503),
            parameters={"name": _NAME},
            scope="admin",
        )
        for action, summary, extra in (
            (
                "pause",
                "Pause a route in every gateway process on the store: it claims nothing "
                "new, finishes what is in flight and keeps its binds (receipts and MO "
                "still arrive).",
                (),
            ),
            ("resume", "Resume a paused route: it claims again.", ()),
            (
                "rebind",
                "Drop the route's binds in this process and bind again; the answers in "
                "flight are awaited or recovered, nothing is lost.",
                (409,),
            ),
        )
    ),
    Operation(
        "post",
        "/v1/admin/reload",
        "Re-read the settings file and apply its routes and API keys without dropping a "
        "message; a file that does not load is refused and the running settings stay.",
        {
            200: Reply("What was applied.", a.Reloaded),
            422: Reply("The settings did not load; nothing changed.", a.ReloadRefused),
        },
        (401, 409, 503),
        scope="admin",
    ),
    Operation(
        "post",
        "/v1/messages",
        "Queue one SMS; 201 once it is durable, 200 for a known idempotency key with the "
        "same message, 409 for one with another message.",
        {
            201: Reply("Accepted and stored.", a.MessageAccepted),
            200: Reply(
                "The idempotency key was used before, for this message: the first answer.",
                a.MessageAccepted,
            ),
        },
        _SEND_ERRORS,
        body=MessageRequest,
        header=True,
        scope="send",
    ),
    Operation(
        "post",
        "/v1/messages/batch",
        "Queue up to 1,000 SMS in one durable transaction: all of them, or none (a 422 "
        "names the item, e.g. messages[3].to). 201 when any is new; 200 when every "
        "idempotency key was used before. Items repeating a key with the same message are "
        "one message (the same id); with another, a 422 naming both. An item whose key was "
        "used before for another message is a 409 naming the item.",
        {
            201: Reply("Accepted and stored, in order.", a.BatchAccepted),
            200: Reply("Every message was known.", a.BatchAccepted),
        },
        _SEND_ERRORS,
        body=BatchRequest,
        scope="send",
    ),
    Operation(
        "get",
        "/v1/messages/{message_id}",
        "A message: state, parts with SMSC ids and receipts, events.",
        {200: Reply("The message.", a.Message)},
        (401, 404, 503),
        parameters={"message_id": _ID},
        scope="read",
    ),
    Operation(
        "post",
        "/v1/campaigns",
        "Plan, pace and queue a campaign; it starts running.",
        {201: Reply("Created and queued.", a.CampaignCreated)},
        _WRITE_ERRORS,
        body=CampaignBody,
        scope="campaigns",
    ),
    Operation(
        "get",
        "/v1/campaigns",
        "Every campaign, newest first.",
        {200: Reply("The campaigns.", a.Campaigns)},
        (401, 503),
        scope="read",
    ),
    Operation(
        "get",
        "/v1/campaigns/{campaign_id}",
        "A campaign and its figures.",
        {200: Reply("The campaign.", a.CampaignWithStats)},
        (401, 404, 503),
        parameters=_CAMPAIGN,
        scope="read",
    ),
    _steer("pause"),
    _steer("resume"),
    _steer("cancel"),
    Operation(
        "post",
        "/v1/groups",
        "Create a recipient group, with members if given.",
        {201: Reply("Created.", a.Group)},
        _WRITE_ERRORS,
        body=GroupBody,
        scope="campaigns",
    ),
    Operation(
        "get",
        "/v1/groups",
        "Every group with its member count.",
        {200: Reply("The groups.", a.Groups)},
        (401, 503),
        scope="read",
    ),
    Operation(
        "post",
        "/v1/groups/{name}/members",
        "Add members, or update the fields of those already in.",
        {200: Reply("The group after the change.", a.GroupMembersUpserted)},
        (400, 401, 404, 413, 422, 503),
        body=MembersBody,
        parameters={"name": _NAME},
        scope="campaigns",
    ),
    Operation(
        "delete",
        "/v1/groups/{name}/members/{msisdn}",
        "Remove one member by number.",
        {200: Reply("The group after the change.", a.GroupMemberRemoved)},
        (401, 404, 422, 503),
        parameters={"name": _NAME, "msisdn": Annotated[str, Field(min_length=1, max_length=64)]},
        scope="campaigns",
    ),
    Operation(
        "get",
        "/v1/billing/accounts/{account}",
        "Balance, debts by period, phones, meters with their last readings, the last "
        "notices, and the disconnection warnings with their proof and time to pay.",
        {200: Reply("The account.", a.Account)},
        (401, 404, 503),
        parameters={"account": _ACCOUNT},
        scope="read",
    ),
    Operation(
        "post",
        "/v1/billing/accounts/{account}/payments",
        "Post a payment once per reference; queue its confirmation SMS.",
        {
            201: Reply("Posted.", a.PaymentPosted),
            200: Reply("The reference was posted before.", a.PaymentKnown),
        },
        (400, 401, 404, 413, 422, 503),
        body=PaymentBody,
        parameters={"account": _ACCOUNT},
        scope="billing",
    ),
    Operation(
        "post",
        "/v1/billing/notices/plan",
        "Preview a notices run: each kind's notices that would go and why the others "
        "would not; nothing is stored.",
        {200: Reply("The counts by kind and reason.", a.NoticeRun)},
        (400, 401, 404, 413, 422, 503),
        body=NoticeRunBody,
        scope="billing",
    ),
    Operation(
        "post",
        "/v1/billing/notices/run",
        "Queue the debt notices, disconnection warnings, reading and payment reminders and "
        "meter verification invitations due for every account, once per notice and period "
        "(posting it again queues nothing).",
        {200: Reply("The counts by kind and reason, and what was queued.", a.NoticeRun)},
        (400, 401, 404, 413, 422, 503),
        body=NoticeRunBody,
        scope="billing",
    ),
    Operation(
        "get",
        "/v1/billing/notices/warnings",
        "The disconnection warnings of the last 60 days and their proof: delivered "
        "(proven), awaiting their receipt, due to be sent again, or unreached (paper mail).",
        {200: Reply("Each warning and the counts by status.", a.WarningProofs)},
        (401, 503),
        scope="read",
    ),
    Operation(
        "get",
        "/v1/usage",
        "Messages and SMS parts per tenant, UTC day (from, to: YYYY-MM-DD, inclusive) and "
        "state, for invoicing; a tenant's key sees its own.",
        {200: Reply("The rows by day, tenant and state.", a.Usage)},
        (401, 404, 422, 503),
        query=_USAGE_QUERY,
        scope="read",
    ),
    Operation(
        "get",
        "/v1/usage/csv",
        "The same as CSV (day,tenant,state,messages,parts).",
        {200: Reply("CSV with a header line.", None, media_type="text/csv")},
        (401, 404, 422, 503),
        query=_USAGE_QUERY,
        scope="read",
    ),
    Operation(
        "get",
        "/v1/callbacks/dead",
        "Callback events parked after their retries ran out (a tenant's key: its own).",
        {200: Reply("The dead letters, oldest first.", a.CallbackEvents)},
        (401, 404, 503),
        query={"tenant": Annotated[str, Field(min_length=1)]},
        scope="read",
    ),
    Operation(
        "post",
        "/v1/callbacks/dead/replay",
        "Put dead letters back in the outbox (one event_id, or all of the tenant's), "
        "with a fresh retry window.",
        {200: Reply("How many went back.", a.CallbacksReplayed)},
        (400, 401, 404, 413, 422, 503),
        body=ReplayBody,
        # A tenant replays its own dead letters: they go to its own endpoint.
        scope="send",
    ),
    Operation(
        "get",
        "/v1/mo",
        "MO messages the gateway kept, newest first: routed to a tenant (its endpoint got "
        "them), or taken by no route (route=unrouted). A tenant's key sees its own.",
        {200: Reply("At most 1,000 messages.", a.KeptMoMessages)},
        (401, 404, 422, 503),
        query={
            "route": Literal["tenant", "unrouted"],
            "tenant": Annotated[str, Field(min_length=1)],
        },
        scope="read",
    ),
)

_IDEMPOTENCY_KEY = Annotated[str, Field(min_length=1, max_length=128)]


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schema as the document wants it: no title on every property,
    and no ``default`` on an answer (a default says what the server assumes when a
    client leaves a key out; an answer's optional key is simply not there)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> Schema:
        json_schema: Schema = super().default_schema(schema)
        if self.mode == "serialization":
            json_schema.pop("default", None)
        return json_schema


_Refs = Mapping[tuple[Any, JsonSchemaMode], Schema]


def _components(routes: Sequence[str]) -> tuple[_Refs, Schema]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for operation in OPERATIONS:
        if operation.body is not None:
            models.append((operation.body, "validation"))
        models.extend(
            (reply.model, "serialization")
            for reply in operation.replies.values()
            if reply.model is not None
        )
    models.extend((reply.model, "serialization") for reply in ERRORS.values() if reply.model)
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(
        unique, ref_template="#/components/schemas/{model}", schema_generator=_Generator
    )
    schemas: Schema = top.get("$defs", {})
    _name_routes(schemas, routes)
    return dict(refs), schemas


def _name_routes(node: Any, routes: Sequence[str]) -> None:
    """Every string marked as a route name lists the configured routes."""
    if isinstance(node, dict):
        if node.pop(ROUTE_MARK, False):
            node["enum"] = list(routes)
        for value in node.values():
            _name_routes(value, routes)
    elif isinstance(node, list):
        for value in node:
            _name_routes(value, routes)


def _parameter(name: str, where: str, annotation: Any, *, required: bool = True) -> Schema:
    schema = TypeAdapter(annotation).json_schema(schema_generator=_Generator)
    return {"name": name, "in": where, "required": required, "schema": schema}


def _tag(path: str) -> str:
    parts = path.split("/")
    return parts[2] if parts[1] == "v1" else "health"


def _operation(operation: Operation, refs: _Refs) -> Schema:
    responses: Schema = {}
    for status, reply in operation.replies.items():
        if reply.model is None:
            content = {reply.media_type: {"schema": {"type": "string"}}}
        else:
            content = {"application/json": {"schema": refs[(reply.model, "serialization")]}}
        responses[str(status)] = {"description": reply.description, "content": content}
    errors = list(operation.errors)
    if not operation.public and 403 not in errors:
        errors.insert(errors.index(401) + 1 if 401 in errors else 0, 403)
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status].name}"}
    document: Schema = {
        "summary": operation.summary,
        "tags": [_tag(operation.path)],
        "responses": responses,
    }
    parameters = [
        _parameter(name, "path", annotation) for name, annotation in operation.parameters.items()
    ]
    parameters += [
        _parameter(name, "query", annotation, required=False)
        for name, annotation in operation.query.items()
    ]
    if operation.header:
        parameters.append(_parameter("Idempotency-Key", "header", _IDEMPOTENCY_KEY, required=False))
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        body = refs[(operation.body, "validation")]
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if operation.public:
        document["security"] = []
    else:
        # OpenAPI 3.1 lets an API key's requirement list roles: the scope it needs.
        document["security"] = [{"bearer": [operation.scope]}, {"apiKey": [operation.scope]}]
        document["x-scope"] = operation.scope
    return document


def openapi_document(routes: Sequence[str]) -> dict[str, Any]:
    """The document for an API whose SMSC routes are ``routes``."""
    refs, schemas = _components(routes)
    paths: Schema = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smpp-engine HTTP API",
            "version": "1",
            "description": "Send and track SMS, steer campaigns, post utility payments. "
            "An API key may be limited to scopes (send, campaigns, billing, read, admin); "
            "each operation names the one it needs (x-scope), and a key without it is "
            "answered 403.",
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": schemas,
            "responses": {
                reply.name: {
                    "description": reply.description,
                    "content": {
                        "application/json": {"schema": refs[(reply.model, "serialization")]}
                    },
                }
                for reply in ERRORS.values()
            },
        },
    }
