"""The gate finds each request's route template once per (method, path) and stays bounded."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from smpp_engine.http_api.auth import KeyRing
from smpp_engine.http_api.gate import Gate
from smpp_engine.settings import hash_api_key

KEY = "gate-template-key"
ADMIN_KEY = "gate-template-admin"


async def _read(request: Request) -> PlainTextResponse:
    return PlainTextResponse("read")


async def _write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("written")


def _client() -> tuple[httpx.AsyncClient, Gate]:
    routes = [
        Route("/gt/{item:int}", _read, methods=["GET"]),
        Route("/gt/{item:int}/notes", _write, methods=["POST"]),
    ]
    gate = Gate(
        Starlette(routes=routes),
        routes=routes,
        keys=lambda: KeyRing(
            {"reader": hash_api_key(KEY), "admin": hash_api_key(ADMIN_KEY)},
            {"reader": frozenset({"read"})},
        ),
        public=(),
        scopes={("GET", "/gt/{item}"): "read", ("POST", "/gt/{item}/notes"): "send"},
    )
    transport = httpx.ASGITransport(app=gate)
    client = httpx.AsyncClient(
        transport=transport, base_url="http://gate.test", headers={"X-API-Key": KEY}
    )
    return client, gate


def _count(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("smpp_http_requests_total", labels) or 0.0


async def test_a_path_met_again_keeps_its_template_and_its_scope_per_method() -> None:
    client, _ = _client()
    read_before = _count("/gt/{item:int}", "GET", "200")
    refused_before = _count("/gt/{item:int}/notes", "POST", "403")
    undeclared_before = _count("/gt/{item:int}", "POST", "403")
    async with client:
        for _ in range(3):
            assert (await client.get("/gt/7")).text == "read"
            # Same key, the operation next door: refused for the scope it needs.
            answer = await client.post("/gt/7/notes")
            assert answer.status_code == 403 and answer.json()["scope"] == "send"
        # The same path with a method no route takes: the template, not the path.
        assert (await client.post("/gt/7")).status_code == 403  # undeclared: admin needed
    assert _count("/gt/{item:int}", "GET", "200") == read_before + 3
    assert _count("/gt/{item:int}/notes", "POST", "403") == refused_before + 3
    assert _count("/gt/{item:int}", "POST", "403") == undeclared_before + 1


async def test_the_templates_kept_stay_bounded_under_a_scan_of_random_paths() -> None:
    client, gate = _client()
    before = _count("unmatched", "GET", "404")
    async with client:
        for n in range(5000):
            answer = await client.get(f"/scan/{n}", headers={"X-API-Key": ADMIN_KEY})
            assert answer.status_code == 404
        assert (await client.get("/gt/1")).text == "read"
    assert len(gate._templates) <= 4096
    assert _count("unmatched", "GET", "404") == before + 5000
