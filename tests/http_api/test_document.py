"""The OpenAPI document, made from the models, against the app and its real answers.

Every route the app serves is documented and every documented one served; a
tour of the API meets every answer the document gives (each status of each
operation, each error shape) and checks it against the document (``client_for``
checks every answer of every test the same way: :mod:`.document`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import httpx
import pytest
from starlette.routing import Route

from smpp_engine.control import ReloadReport
from smpp_engine.http_api import ApiContext, Readiness, create_app, openapi_document
from smpp_engine.http_api.bodies import MAX_BODY
from smpp_engine.http_api.schema import ERRORS, OPERATIONS
from smpp_engine.http_api.tenancy import Tenant, TenantGate
from smpp_engine.pipeline import RouteStatus
from smpp_engine.settings import Problem, SettingsError, hash_api_key
from smpp_engine.store import BillingStore, Store, import_billing_data, load_billing_json

from ..store.conftest import open_test_store
from .conftest import AUTH, READ_KEY, ROUTES, context_for
from .document import DocumentCheck, checked
from .test_billing import ACCOUNT, EXAMPLE

MESSAGE = {"to": "447700900123", "from": "ACME", "text": "Your bill is ready"}


def test_every_route_served_is_documented_and_every_documented_one_served() -> None:
    context, _ = context_for(cast(Store, object()))  # no request is made
    app = create_app(context)
    served = {
        (method.lower(), re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for route in app.routes
        if isinstance(route, Route) and route.path != "/openapi.json"
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {
        (method, path)
        for path, operations in openapi_document(ROUTES)["paths"].items()
        for method in operations
    }
    assert served == documented


def test_a_request_names_one_of_the_configured_routes() -> None:
    schemas = openapi_document(("east", "west"))["components"]["schemas"]
    for body in ("MessageRequest", "CampaignBody"):
        (named, _) = schemas[body]["properties"]["route"]["anyOf"]
        assert named["enum"] == ["east", "west"]


def test_only_public_routes_need_no_key() -> None:
    paths = openapi_document(ROUTES)["paths"]
    public = {
        path
        for path, operations in paths.items()
        for operation in operations.values()
        if operation.get("security") == []
    }
    assert public == {"/healthz", "/readyz"}


SPENT_KEY = "k-tenant-with-no-quota-left"


async def test_a_tour_meets_every_answer_the_document_gives(tmp_path: Path) -> None:
    check = DocumentCheck(ROUTES)
    async for store in open_test_store("sqlite", tmp_path):
        report = await import_billing_data(
            cast(BillingStore, store), load_billing_json(str(EXAMPLE))
        )
        assert not report.problems
        context, readiness = context_for(store)
        # A tenant with no quota left: its sends are answered 429.
        context.replace_keys(
            {**context.api_key_digests, "spent": hash_api_key(SPENT_KEY)},
            context.api_key_scopes,
            TenantGate({"spent": Tenant("spent", daily_quota=0)}, {"spent": "spent"}),
        )
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://api.test",
            headers=AUTH,
            event_hooks=checked(check),
        ) as client:
            await _tour(client, readiness)
            await _control_tour(client, context)
            await store.aclose()
            for url in ("/v1/messages/1", "/v1/campaigns", "/readyz"):
                assert (await client.get(url)).status_code == 503
    expected = {
        (f"{operation.method.upper()} {operation.path}", status)
        for operation in OPERATIONS
        for status in operation.replies
    }
    assert expected <= check.seen, sorted(expected - check.seen)
    errors = {status for _, status in check.seen if status in ERRORS}
    assert errors == set(ERRORS), set(ERRORS) - errors


async def _tour(client: httpx.AsyncClient, readiness: list[Readiness]) -> None:
    async def expect(status: int, method: str, url: str, **kwargs: object) -> httpx.Response:
        answer = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == status, f"{method} {url}: {answer.text}"
        return answer

    await expect(200, "GET", "/healthz")
    await expect(200, "GET", "/readyz")
    readiness[0] = Readiness(
        {"main": 1},
        route_status={"main": RouteStatus(1), "backup": RouteStatus(0, 2, True, "bind refused")},
    )
    await expect(503, "GET", "/readyz")
    await expect(200, "GET", "/metrics")
    await expect(401, "GET", "/metrics", headers={"Authorization": "Bearer wrong"})
    await expect(200, "GET", "/v1/routes")
    # Messages
    keyed = {**MESSAGE, "idempotency_key": "tour-1"}
    message = (await expect(201, "POST", "/v1/messages", json=keyed)).json()
    await expect(200, "POST", "/v1/messages", json=keyed)
    await expect(409, "POST", "/v1/messages", json={**keyed, "text": "another"})
    await expect(422, "POST", "/v1/messages", json={**MESSAGE, "to": "12"})
    await expect(400, "POST", "/v1/messages", content=b"[1]")
    await expect(413, "POST", "/v1/messages", content=b" " * (MAX_BODY + 1))
    batch = {"messages": [MESSAGE, {**MESSAGE, "text": "ж" * 200, "route": "backup"}]}
    await expect(201, "POST", "/v1/messages/batch", json=batch)
    await expect(200, "POST", "/v1/messages/batch", json={"messages": [keyed]})
    await expect(200, "GET", f"/v1/messages/{message['id']}")
    await expect(404, "GET", "/v1/messages/999999")
    # Groups and campaigns
    group = {"name": "tour", "members": [{"msisdn": "447700900001", "fields": {"n": "A"}}]}
    await expect(201, "POST", "/v1/groups", json=group)
    await expect(200, "GET", "/v1/groups")
    members = {"members": [{"msisdn": "447700900002"}]}
    await expect(200, "POST", "/v1/groups/tour/members", json=members)
    await expect(200, "DELETE", "/v1/groups/tour/members/447700900002")
    campaign = {"name": "c", "template": "Hi {n}", "sender": "ACME", "group": "tour"}
    created = (await expect(201, "POST", "/v1/campaigns", json=campaign)).json()
    url = f"/v1/campaigns/{created['campaign_id']}"
    await expect(200, "GET", "/v1/campaigns")
    await expect(200, "GET", url)
    for action in ("pause", "resume", "cancel"):
        await expect(200, "POST", f"{url}/{action}")
    await expect(409, "POST", f"{url}/resume")
    # Billing
    payments = f"/v1/billing/accounts/{ACCOUNT}/payments"
    payment = {"amount": "12.50", "reference": "TOUR-1", "period": "2024-03"}
    await expect(201, "POST", payments, json=payment)
    await expect(200, "POST", payments, json=payment)
    account = (await expect(200, "GET", f"/v1/billing/accounts/{ACCOUNT}")).json()
    assert account["meters"] and account["notices"]
    at = {"now": "2024-03-20T09:00:00+00:00"}
    await expect(200, "POST", "/v1/billing/notices/plan", json=at)
    await expect(200, "POST", "/v1/billing/notices/run", json=at)
    await expect(200, "GET", "/v1/billing/notices/warnings")
    await expect(200, "GET", "/v1/usage", params={"from": "2026-01-01", "to": "2026-01-31"})
    await expect(200, "GET", "/v1/usage/csv", params={"from": "2026-01-01"})
    await expect(200, "GET", "/v1/callbacks/dead")
    await expect(200, "POST", "/v1/callbacks/dead/replay", json={})
    await expect(200, "GET", "/v1/mo", params={"route": "unrouted"})
    spent = {"Authorization": f"Bearer {SPENT_KEY}"}
    sms = {"to": "+447700900123", "from": "ACME", "text": "hi"}
    await expect(429, "POST", "/v1/messages", json=sms, headers=spent)


async def _control_tour(client: httpx.AsyncClient, context: ApiContext) -> None:
    async def expect(status: int, method: str, url: str, **kwargs: object) -> httpx.Response:
        answer = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == status, f"{method} {url}: {answer.text}"
        return answer

    reader = {"Authorization": f"Bearer {READ_KEY}"}
    refused = await expect(403, "POST", "/v1/messages", json=MESSAGE, headers=reader)
    assert refused.json()["scope"] == "send"
    await expect(403, "POST", "/v1/routes/main/pause", headers=reader)
    await expect(200, "GET", "/v1/routes", headers=reader)
    paused = (await expect(200, "POST", "/v1/routes/main/pause")).json()
    assert paused["paused"] and paused["paused_by"] == "ops"
    await expect(404, "POST", "/v1/routes/nowhere/pause")
    await expect(409, "POST", "/v1/routes/main/rebind")
    rebound: list[str] = []
    context.rebind = rebound.append
    await expect(200, "POST", "/v1/routes/main/rebind")
    assert rebound == ["main"]
    await expect(200, "POST", "/v1/routes/main/resume")
    await expect(409, "POST", "/v1/admin/reload")
    outcomes: list[ReloadReport | SettingsError] = [
        ReloadReport(changed=["main"], keys=3),
        SettingsError([Problem("gw.toml", "smsc[0].port", "expected a port", "x")]),
    ]

    async def reload() -> ReloadReport:
        outcome = outcomes.pop(0)
        if isinstance(outcome, SettingsError):
            raise outcome
        return outcome

    context.reload = reload
    await expect(200, "POST", "/v1/admin/reload")
    problem = (await expect(422, "POST", "/v1/admin/reload")).json()["problems"][0]
    assert problem["key"] == "smsc[0].port"


@pytest.mark.parametrize("routes", [ROUTES, ("only",)])
def test_the_document_is_made_the_same_each_time(routes: tuple[str, ...]) -> None:
    assert openapi_document(routes) == openapi_document(routes)
