"""The OpenAPI 3 document of the API, served at ``/openapi.json``.

Written by hand, next to the handlers it describes: request bodies with their
limits, every answer's shape and status, and the two ways to present a key.
Contract tests generate requests from it and check the answers against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["openapi_document"]

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _object(required: Sequence[str], properties: dict[str, Schema], **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
MONEY: Schema = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
STATUS: Schema = _object(["code", "name"], {"code": INTEGER, "name": STRING})


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": _json(schema)}


_ERRORS: dict[str, Schema] = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "409": {"$ref": "#/components/responses/Conflict"},
    "413": {"$ref": "#/components/responses/TooLarge"},
    "422": {"$ref": "#/components/responses/Invalid"},
    "503": {"$ref": "#/components/responses/StoreUnavailable"},
}


def _operation(
    summary: str,
    responses: dict[str, Schema],
    *,
    body: Schema | None = None,
    parameters: Sequence[Schema] = (),
    errors: Sequence[str] = ("400", "401", "404", "413", "422", "503"),
    tag: str,
) -> Schema:
    operation: Schema = {
        "summary": summary,
        "tags": [tag],
        "responses": {**responses, **{code: _ERRORS[code] for code in errors}},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    if parameters:
        operation["parameters"] = list(parameters)
    return operation


def _path_parameter(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _schemas(routes: Sequence[str]) -> dict[str, Schema]:
    member = _object(
        ["msisdn"],
        {
            "msisdn": {
                "type": "string",
                "pattern": r"^\+?[1-9][0-9]{7,14}$",
                "description": "A phone number; spaces, dashes, 00 and a national 0 also go.",
            },
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 1000},
            },
        },
        additionalProperties=False,
    )
    name = {"type": "string", "minLength": 1, "maxLength": 200}
    country_code = {"type": "string", "minLength": 1, "maxLength": 3}
    route = {"type": "string", "enum": list(routes)}
    part = _object(
        ["part", "state", "smsc_message_id", "receipt"],
        {
            "part": INTEGER,
            "state": STRING,
            "bind": _nullable(STRING),
            "smsc_message_id": _nullable(STRING),
            "submitted_at": _nullable(TIME),
            "responded_at": _nullable(TIME),
            "submit_status": _nullable(STATUS),
            "receipt": _nullable(
                _object(
                    ["received_at"],
                    {
                        "received_at": TIME,
                        "error": _nullable(STRING),
                        "done_at": _nullable(TIME),
                    },
                )
            ),
        },
    )
    return {
        "Error": _object(
            ["error", "detail"],
            {"error": STRING, "detail": STRING, "field": STRING, "value": {}},
        ),
        "MessageRequest": _object(
            ["to", "from", "text"],
            {
                "to": {
                    "type": "string",
                    "pattern": r"^\+?[1-9][0-9]{7,14}$",
                    "description": "A phone number; spaces, dashes and 00 are also accepted.",
                },
                "from": {
                    "type": "string",
                    "pattern": r"^([A-Za-z0-9]{1,11}|\+[1-9][0-9]{0,15})$",
                    "description": "Alphanumeric (at most 11) or a number (at most 16 digits).",
                },
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 40000,
                    "description": "Planned with the route's text profile and concatenation "
                    "method; a text the route cannot send (over 255 parts) is a 422.",
                },
                "priority": {
                    "type": "string",
                    "enum": ["interactive", "transactional", "bulk"],
                    "description": "When absent: the configured [http] default_priority.",
                },
                "validity": {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": 1209600,
                    "description": "Seconds from now; or expires_at, not both.",
                },
                "expires_at": {**TIME, "maxLength": 64},
                "route": route,
                "registered_delivery": {"type": "boolean", "default": True},
                "idempotency_key": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 128,
                    "description": "Each API key's own. Sent again with the same message "
                    "(route, from, to, text, priority): the first answer, 200, duplicate "
                    "true. With another message: 409. Or the Idempotency-Key header.",
                },
            },
            additionalProperties=False,
        ),
        "MessageAccepted": _object(
            ["id", "parts", "encoding", "duplicate"],
            {
                "id": INTEGER,
                "parts": {"type": "integer", "minimum": 1},
                "encoding": {"type": "string", "enum": ["GSM7", "LATIN1", "UCS2"]},
                "duplicate": BOOLEAN,
            },
        ),
        "BatchRequest": _object(
            ["messages"],
            {
                "messages": {
                    "type": "array",
                    "items": _ref("MessageRequest"),
                    "minItems": 1,
                    "maxItems": 1000,
                }
            },
            additionalProperties=False,
        ),
        "BatchAccepted": _object(
            ["messages"], {"messages": {"type": "array", "items": _ref("MessageAccepted")}}
        ),
        "Message": _object(
            ["id", "state", "route", "from", "to", "parts", "part_details", "events"],
            {
                "id": INTEGER,
                "state": STRING,
                "route": STRING,
                "from": STRING,
                "to": STRING,
                "text": STRING,
                "priority": STRING,
                "parts": INTEGER,
                "created_at": TIME,
                "updated_at": TIME,
                "attempts": INTEGER,
                "possible_duplicate": BOOLEAN,
                "campaign_id": _nullable(INTEGER),
                "idempotency_key": _nullable(STRING),
                "error": _nullable(STATUS),
                "part_details": {"type": "array", "items": part},
                "events": {
                    "type": "array",
                    "items": _object(
                        ["at", "event"], {"at": TIME, "event": STRING, "detail": STRING}
                    ),
                },
            },
        ),
        "Member": member,
        "CampaignRequest": _object(
            ["name", "template", "sender"],
            {
                "name": name,
                "template": {"type": "string", "minLength": 1, "maxLength": 10000},
                "sender": {
                    "type": "string",
                    "pattern": r"^([A-Za-z0-9]{1,11}|\+[1-9][0-9]{0,15})$",
                },
                "recipients": {"type": "array", "items": _ref("Member")},
                "group": name,
                "route": route,
                "rate": {
                    "type": "number",
                    "minimum": 0.001,
                    "maximum": 100000,
                    "default": 50,
                    "description": "Messages per second for this campaign.",
                },
                "legal_notice": {"type": "boolean", "default": False},
                "start_at": {
                    **TIME,
                    "maxLength": 64,
                    "description": "With an offset; from 2000-01-01, at most 100 years ahead.",
                },
                "quiet_hours": _object(
                    [],
                    {
                        "weekday": _nullable({"type": "string", "maxLength": 32}),
                        "weekend": _nullable({"type": "string", "maxLength": 32}),
                    },
                    additionalProperties=False,
                ),
                "time_zone": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "default": "UTC",
                    "description": "An IANA time zone (Europe/Sofia) for recipients whose "
                    "number names none; anything else is a 422.",
                },
                "country_code": country_code,
            },
            additionalProperties=False,
            description="Exactly one of recipients and group.",
        ),
        "Campaign": _object(
            ["id", "name", "state", "route", "rate"],
            {
                "id": INTEGER,
                "name": STRING,
                "state": {
                    "type": "string",
                    "enum": ["draft", "scheduled", "running", "paused", "cancelled", "completed"],
                },
                "route": STRING,
                "sender": STRING,
                "template": STRING,
                "kind": {"type": "string", "enum": ["bulk", "legal_notice"]},
                "rate": _nullable(NUMBER),
                "start_at": _nullable(TIME),
                "created_at": TIME,
                "updated_at": TIME,
            },
        ),
        "CampaignStats": _object(
            ["total", "queued", "delivered", "failed", "pending_receipts"],
            {
                "total": INTEGER,
                "queued": INTEGER,
                "sent": INTEGER,
                "delivered": INTEGER,
                "failed": INTEGER,
                "pending_receipts": INTEGER,
                "by_state": {"type": "object", "additionalProperties": INTEGER},
                "errors": {
                    "type": "array",
                    "items": _object(
                        ["code", "name", "messages"],
                        {"code": INTEGER, "name": STRING, "messages": INTEGER},
                    ),
                },
            },
        ),
        "CampaignCreated": _object(
            ["campaign", "recipients", "queued", "skipped", "bad_rows", "duplicates"],
            {
                "campaign": _ref("Campaign"),
                "campaign_id": INTEGER,
                "state": STRING,
                "recipients": INTEGER,
                "queued": INTEGER,
                "skipped": {"type": "object", "additionalProperties": INTEGER},
                "bad_rows": {"type": "array", "items": {"type": "object"}},
                "duplicates": INTEGER,
                "sms_parts": INTEGER,
                "max_parts": INTEGER,
                "ucs2_messages": INTEGER,
                "first_send_at": _nullable(TIME),
                "last_send_at": _nullable(TIME),
            },
        ),
        "GroupRequest": _object(
            ["name"],
            {
                "name": name,
                "members": {"type": "array", "items": _ref("Member")},
                "country_code": country_code,
            },
            additionalProperties=False,
        ),
        "MembersRequest": _object(
            ["members"],
            {
                "members": {"type": "array", "items": _ref("Member")},
                "country_code": country_code,
            },
            additionalProperties=False,
        ),
        "Group": _object(
            ["id", "name", "members"],
            {"id": INTEGER, "name": STRING, "members": INTEGER, "created_at": TIME},
        ),
        "PaymentRequest": _object(
            ["amount", "reference"],
            {
                "amount": {
                    "type": "string",
                    "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
                    "description": "A decimal string, never a JSON number.",
                },
                "reference": {"type": "string", "minLength": 1, "maxLength": 128},
                "period": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"},
            },
            additionalProperties=False,
        ),
        "PaymentPosted": _object(
            ["account", "reference", "duplicate"],
            {
                "account": STRING,
                "reference": STRING,
                "duplicate": BOOLEAN,
                "paid": MONEY,
                "balance_after": MONEY,
                "confirmations": {"type": "array", "items": STRING},
                "message_ids": {"type": "array", "items": INTEGER},
            },
        ),
        "Account": _account_schema(),
        "Readiness": _object(
            ["ready", "store"],
            {
                "ready": BOOLEAN,
                "routes": {
                    "type": "object",
                    "additionalProperties": _object(
                        ["binds_up"],
                        {
                            "binds_up": INTEGER,
                            "restarts": INTEGER,
                            "restarting": BOOLEAN,
                            "last_error": _nullable(STRING),
                        },
                    ),
                },
                "routes_without_binds": {"type": "array", "items": STRING},
                "routes_restarting": {"type": "array", "items": STRING},
                "store": _object(["reachable"], {"reachable": BOOLEAN, "error": _nullable(STRING)}),
            },
        ),
    }


def _account_schema() -> Schema:
    reading = _nullable(
        _object(
            ["value", "taken_at"],
            {
                "value": MONEY,
                "taken_at": TIME,
                "source": STRING,
                "status": STRING,
                "period": STRING,
            },
        )
    )
    meter = _object(
        ["serial", "service", "registers"],
        {
            "id": INTEGER,
            "serial": STRING,
            "service": STRING,
            "status": STRING,
            "digits": INTEGER,
            "decimals": INTEGER,
            "multiplier": MONEY,
            "registers": {
                "type": "array",
                "items": _object(
                    ["id", "zone"],
                    {
                        "id": INTEGER,
                        "zone": STRING,
                        "last_reading": reading,
                        "pending_reading": reading,
                    },
                ),
            },
        },
    )
    return _object(
        ["account", "balance", "debts", "phones"],
        {
            "account": STRING,
            "language": _nullable(STRING),
            "time_zone": _nullable(STRING),
            "closed": BOOLEAN,
            "balance": _object(
                ["amount"],
                {
                    key: MONEY
                    for key in ("amount", "opening", "charges", "penalties", "payments", "advance")
                },
            ),
            "due_date": _nullable({"type": "string", "format": "date"}),
            "debts": {
                "type": "array",
                "items": _object(
                    ["period", "principal", "penalty", "total"],
                    {
                        "period": STRING,
                        "principal": MONEY,
                        "penalty": MONEY,
                        "total": MONEY,
                        "due_date": _nullable({"type": "string", "format": "date"}),
                    },
                ),
            },
            "monthly_charge": MONEY,
            "services": {
                "type": "object",
                "additionalProperties": _object(
                    ["debt", "monthly_charge"], {"debt": MONEY, "monthly_charge": MONEY}
                ),
            },
            "phones": {
                "type": "array",
                "items": _object(["msisdn", "opted_out"], {"msisdn": STRING, "opted_out": BOOLEAN}),
            },
            "last_reading_period": _nullable(STRING),
            "meters": _nullable({"type": "array", "items": meter}),
            "notices": {
                "type": "array",
                "description": "The last notices, newest first, with their delivery: a "
                "disconnection warning's delivered_at is the legal proof its deadline "
                "counts from.",
                "items": _object(
                    ["id", "kind", "msisdn", "created_at", "state", "smsc_message_ids"],
                    {
                        "id": INTEGER,
                        "kind": STRING,
                        "msisdn": STRING,
                        "text": STRING,
                        "created_at": TIME,
                        "send_at": _nullable(TIME),
                        "message_id": _nullable(INTEGER),
                        "state": STRING,
                        "smsc_message_ids": {"type": "array", "items": STRING},
                        "delivered_at": _nullable(TIME),
                    },
                ),
            },
        },
    )


def _paths() -> dict[str, Schema]:
    campaign_id = _path_parameter("campaign_id", {"type": "integer", "minimum": 0})
    group_name = _path_parameter("name", {"type": "string", "minLength": 1, "maxLength": 200})
    account = _path_parameter("account", {"type": "string", "minLength": 1, "maxLength": 64})
    idempotency_header = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    }
    public: Schema = {"security": []}
    steer = {
        action: {
            "post": _operation(
                f"{action.capitalize()} a campaign (409 when its state does not allow it).",
                {"200": _answer("The campaign after the change.", _ref("Campaign"))},
                parameters=[campaign_id],
                errors=("401", "404", "409", "503"),
                tag="campaigns",
            )
        }
        for action in ("pause", "resume", "cancel")
    }
    return {
        "/healthz": {
            "get": {
                "summary": "Alive: the process serves HTTP.",
                "tags": ["health"],
                **public,
                "responses": {
                    "200": _answer("Alive.", _object(["status"], {"status": {"type": "string"}}))
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Ready: every route has a bind up and the store answers.",
                "tags": ["health"],
                **public,
                "responses": {
                    "200": _answer("Ready.", _ref("Readiness")),
                    "503": _answer("Not ready; the body says what is missing.", _ref("Readiness")),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (public when the configuration says so).",
                "tags": ["health"],
                "responses": {
                    "200": {
                        "description": "The exposition text.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "401": _ERRORS["401"],
                },
            }
        },
        "/v1/messages": {
            "post": _operation(
                "Queue one SMS; 201 once it is durable, 200 for a known idempotency key "
                "with the same message, 409 for one with another message.",
                {
                    "201": _answer("Accepted and stored.", _ref("MessageAccepted")),
                    "200": _answer(
                        "The idempotency key was used before, for this message: the first answer.",
                        _ref("MessageAccepted"),
                    ),
                },
                body=_ref("MessageRequest"),
                parameters=[idempotency_header],
                errors=("400", "401", "409", "413", "422", "503"),
                tag="messages",
            )
        },
        "/v1/messages/batch": {
            "post": _operation(
                "Queue up to 1,000 SMS in one durable transaction: all of them, or none "
                "(a 422 names the item, e.g. messages[3].to). 201 when any is new; "
                "200 when every idempotency key was used before. Items repeating a key "
                "with the same message are one message (the same id); with another, a "
                "422 naming both. An item whose key was used before for another message "
                "is a 409 naming the item.",
                {
                    "201": _answer("Accepted and stored, in order.", _ref("BatchAccepted")),
                    "200": _answer("Every message was known.", _ref("BatchAccepted")),
                },
                body=_ref("BatchRequest"),
                errors=("400", "401", "409", "413", "422", "503"),
                tag="messages",
            )
        },
        "/v1/messages/{message_id}": {
            "get": _operation(
                "A message: state, parts with SMSC ids and receipts, events.",
                {"200": _answer("The message.", _ref("Message"))},
                parameters=[_path_parameter("message_id", {"type": "integer", "minimum": 0})],
                errors=("401", "404", "503"),
                tag="messages",
            )
        },
        "/v1/campaigns": {
            "post": _operation(
                "Plan, pace and queue a campaign; it starts running.",
                {"201": _answer("Created and queued.", _ref("CampaignCreated"))},
                body=_ref("CampaignRequest"),
                errors=("400", "401", "409", "413", "422", "503"),
                tag="campaigns",
            ),
            "get": _operation(
                "Every campaign, newest first.",
                {
                    "200": _answer(
                        "The campaigns.",
                        _object(
                            ["campaigns"],
                            {"campaigns": {"type": "array", "items": _ref("Campaign")}},
                        ),
                    )
                },
                errors=("401", "503"),
                tag="campaigns",
            ),
        },
        "/v1/campaigns/{campaign_id}": {
            "get": _operation(
                "A campaign and its figures.",
                {
                    "200": _answer(
                        "The campaign.",
                        {
                            "allOf": [
                                _ref("Campaign"),
                                _object(["stats"], {"stats": _ref("CampaignStats")}),
                            ]
                        },
                    )
                },
                parameters=[campaign_id],
                errors=("401", "404", "503"),
                tag="campaigns",
            )
        },
        **{f"/v1/campaigns/{{campaign_id}}/{action}": item for action, item in steer.items()},
        "/v1/groups": {
            "post": _operation(
                "Create a recipient group, with members if given.",
                {"201": _answer("Created.", _ref("Group"))},
                body=_ref("GroupRequest"),
                errors=("400", "401", "409", "413", "422", "503"),
                tag="groups",
            ),
            "get": _operation(
                "Every group with its member count.",
                {
                    "200": _answer(
                        "The groups.",
                        _object(["groups"], {"groups": {"type": "array", "items": _ref("Group")}}),
                    )
                },
                errors=("401", "503"),
                tag="groups",
            ),
        },
        "/v1/groups/{name}/members": {
            "post": _operation(
                "Add members, or update the fields of those already in.",
                {
                    "200": _answer(
                        "The group after the change.",
                        {"allOf": [_ref("Group"), _object(["upserted"], {"upserted": INTEGER})]},
                    )
                },
                body=_ref("MembersRequest"),
                parameters=[group_name],
                tag="groups",
            )
        },
        "/v1/groups/{name}/members/{msisdn}": {
            "delete": _operation(
                "Remove one member by number.",
                {
                    "200": _answer(
                        "The group after the change.",
                        {"allOf": [_ref("Group"), _object(["removed"], {"removed": INTEGER})]},
                    )
                },
                parameters=[
                    group_name,
                    _path_parameter("msisdn", {"type": "string", "minLength": 1, "maxLength": 64}),
                ],
                errors=("401", "404", "422", "503"),
                tag="groups",
            )
        },
        "/v1/billing/accounts/{account}": {
            "get": _operation(
                "Balance, debts by period, phones, meters with their last readings.",
                {"200": _answer("The account.", _ref("Account"))},
                parameters=[account],
                errors=("401", "404", "503"),
                tag="billing",
            )
        },
        "/v1/billing/accounts/{account}/payments": {
            "post": _operation(
                "Post a payment once per reference; queue its confirmation SMS.",
                {
                    "201": _answer("Posted.", _ref("PaymentPosted")),
                    "200": _answer("The reference was posted before.", _ref("PaymentPosted")),
                },
                body=_ref("PaymentRequest"),
                parameters=[account],
                tag="billing",
            )
        },
    }


def openapi_document(routes: Sequence[str]) -> dict[str, Any]:
    """The document for an API whose SMSC routes are ``routes``."""
    error = _json(_ref("Error"))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "smpp-engine HTTP API",
            "version": "1",
            "description": "Send and track SMS, steer campaigns, post utility payments.",
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": _schemas(routes),
            "responses": {
                "BadRequest": {"description": "The body is not a JSON object.", "content": error},
                "Unauthorized": {
                    "description": "No API key, or not a known one.",
                    "content": error,
                },
                "NotFound": {"description": "No such record.", "content": error},
                "Conflict": {
                    "description": "The record's state forbids it, or an idempotency key "
                    "was used before for another message; field and value name it.",
                    "content": error,
                },
                "TooLarge": {"description": "The body is too large.", "content": error},
                "Invalid": {
                    "description": "A field's value cannot be used; field and value name it.",
                    "content": error,
                },
                "StoreUnavailable": {
                    "description": "The store did not answer; nothing was written.",
                    "content": error,
                },
            },
        },
    }
