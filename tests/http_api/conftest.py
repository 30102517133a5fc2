"""An API on a real store (SQLite file and PostgreSQL), reached with httpx through ASGI.

The store's own ``accept`` stands in for the pipeline's (it is what the
pipeline's accept does, less waking the route); the end-to-end test runs a real
pipeline against the simulator instead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from smpp_engine.http_api import ApiContext, Readiness, create_app
from smpp_engine.settings import hash_api_key
from smpp_engine.store import Accepted, NewMessage, Store

from ..store.conftest import open_test_store

KEY = "k-7f3a9c2e51d04b8f"
OTHER_KEY = "k-second-ops-key"
ROUTES = ("main", "backup")
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class Api:
    """An app on a store, its context, and a client that sends the key."""

    store: Store
    context: ApiContext
    client: httpx.AsyncClient
    readiness: list[Readiness] = field(default_factory=list)


def context_for(
    store: Store, *, metrics_public: bool = False
) -> tuple[ApiContext, list[Readiness]]:
    readiness = [Readiness({route: 1 for route in ROUTES})]

    async def accept(messages: Sequence[NewMessage]) -> list[Accepted]:
        return await store.accept(messages, now=time.time())

    async def ready() -> Readiness:
        return readiness[0]

    context = ApiContext(
        store=store,
        accept=accept,
        routes=ROUTES,
        api_key_digests={"ops": hash_api_key(KEY), "billing": hash_api_key(OTHER_KEY)},
        metrics_public=metrics_public,
        readiness=ready,
    )
    return context, readiness


def client_for(context: ApiContext) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(context))
    return httpx.AsyncClient(transport=transport, base_url="http://api.test", headers=AUTH)


@pytest.fixture(params=["sqlite", "postgresql"])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    """The API on an empty store of each kind."""
    async for store in open_test_store(request.param, tmp_path):
        context, readiness = context_for(store)
        async with client_for(context) as client:
            yield Api(store, context, client, readiness)


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[Api]:
    """The API on an empty SQLite store only (tests of the HTTP layer itself)."""
    async for store in open_test_store("sqlite", tmp_path):
        context, readiness = context_for(store)
        async with client_for(context) as client:
            yield Api(store, context, client, readiness)
