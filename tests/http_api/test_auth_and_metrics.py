"""API keys (401 counted by reason, the key never logged), request metrics, health and /metrics."""

from __future__ import annotations

import httpx
import structlog
from prometheus_client import REGISTRY

from smpp_engine.http_api import Readiness, create_app

from .conftest import KEY, OTHER_KEY, Api, client_for, context_for


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_request_without_a_key_or_with_a_wrong_one_is_refused_and_counted(
    sqlite_api: Api,
) -> None:
    missing_before = _sample("smpp_http_auth_failures_total", reason="missing")
    invalid_before = _sample("smpp_http_auth_failures_total", reason="invalid")
    body = {"to": "447700900123", "from": "ACME", "text": "Hi"}
    async with httpx.AsyncClient(
        transport=sqlite_api.client._transport, base_url="http://api.test"
    ) as bare:
        missing = await bare.post("/v1/messages", json=body)
        wrong = await bare.post("/v1/messages", json=body, headers={"X-API-Key": "guess"})
        basic = await bare.get("/v1/campaigns", headers={"Authorization": f"Basic {KEY}"})
        by_header = await bare.get("/v1/campaigns", headers={"X-API-Key": OTHER_KEY})
    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing.json()["error"] == "unauthorized" and "detail" in missing.json()
    assert by_header.status_code == 200
    assert _sample("smpp_http_auth_failures_total", reason="missing") == missing_before + 2
    assert _sample("smpp_http_auth_failures_total", reason="invalid") == invalid_before + 1
    assert sum((await sqlite_api.store.count_by_state()).values()) == 0


async def test_keys_are_never_logged(sqlite_api: Api) -> None:
    with structlog.testing.capture_logs() as captured:
        await sqlite_api.client.post("/v1/messages", json={"to": "1", "from": "A", "text": "x"})
        await sqlite_api.client.get("/v1/campaigns", headers={"Authorization": "Bearer wrong-key"})
        await sqlite_api.client.get("/v1/campaigns", headers={"X-API-Key": KEY + "x"})
    assert any(entry.get("reason") == "invalid" for entry in captured), captured
    text = repr(captured)
    assert KEY not in text and "wrong-key" not in text


async def test_requests_are_counted_by_route_template_not_raw_path(sqlite_api: Api) -> None:
    template = "/v1/messages/{message_id:int}"
    before = _sample("smpp_http_requests_total", route=template, method="GET", status="404")
    for message_id in (11, 12, 13):
        assert (await sqlite_api.client.get(f"/v1/messages/{message_id}")).status_code == 404
    after = _sample("smpp_http_requests_total", route=template, method="GET", status="404")
    assert after == before + 3
    assert _sample("smpp_http_request_duration_seconds_count", route=template) >= 3
    unmatched = _sample("smpp_http_requests_total", route="unmatched", method="GET", status="404")
    assert (await sqlite_api.client.get("/no/such/path/42")).status_code == 404
    assert (
        _sample("smpp_http_requests_total", route="unmatched", method="GET", status="404")
        == unmatched + 1
    )
    assert (
        REGISTRY.get_sample_value(
            "smpp_http_requests_total",
            {"route": "/v1/messages/11", "method": "GET", "status": "404"},
        )
        is None
    )


async def test_an_unknown_method_is_counted_as_other(sqlite_api: Api) -> None:
    before = _sample(
        "smpp_http_requests_total", route="/v1/campaigns", method="other", status="405"
    )
    answer = await sqlite_api.client.request("BREW", "/v1/campaigns")
    assert answer.status_code == 405 and answer.json()["error"] == "method not allowed"
    after = _sample("smpp_http_requests_total", route="/v1/campaigns", method="other", status="405")
    assert after == before + 1


async def test_health_is_public_and_readiness_says_what_is_missing(sqlite_api: Api) -> None:
    async with httpx.AsyncClient(
        transport=sqlite_api.client._transport, base_url="http://api.test"
    ) as bare:
        assert (await bare.get("/healthz")).json() == {"status": "alive"}
        ready = await bare.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        sqlite_api.readiness[0] = Readiness({"main": 2, "backup": 0})
        degraded = await bare.get("/readyz")
        assert degraded.status_code == 503
        assert degraded.json()["routes_without_binds"] == ["backup"]
        sqlite_api.readiness[0] = Readiness(
            {"main": 1, "backup": 1}, store_reachable=False, store_error="connection refused"
        )
        no_store = await bare.get("/readyz")
        assert no_store.status_code == 503
        assert no_store.json()["store"] == {"reachable": False, "error": "connection refused"}
        assert (await bare.get("/metrics")).status_code == 401


async def test_metrics_need_a_key_unless_configured_public(sqlite_api: Api) -> None:
    exposed = await sqlite_api.client.get("/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    assert "smpp_http_requests_total" in exposed.text
    context, _ = context_for(sqlite_api.store, metrics_public=True)
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as bare:
        assert (await bare.get("/metrics")).status_code == 200
        assert (await bare.get("/v1/campaigns")).status_code == 401
    async with client_for(context) as keyed:
        assert (await keyed.get("/v1/campaigns")).status_code == 200
