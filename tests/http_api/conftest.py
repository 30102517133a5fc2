"""An API on a real store (SQLite file and PostgreSQL), reached with httpx through ASGI.

The store's own ``accept`` stands in for the pipeline's (it is what the
pipeline's accept does, less waking the route); the end-to-end test runs a real
pipeline against the simulator instead. The two routes write text differently,
as two operators' SMSCs do: ``main`` GSM 7-bit with 8-bit UDH references,
``backup`` GSM 7-bit as IA5 (ASCII) octets with 16-bit references.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from smpp_engine.http_api import ApiContext, Readiness, RouteText, create_app
from smpp_engine.protocol import Alphabet, Concatenation, TextProfile
from smpp_engine.settings import hash_api_key
from smpp_engine.store import Accepted, NewMessage, Store

from ..store.conftest import open_test_store
from .document import DocumentCheck, checked

KEY = "k-7f3a9c2e51d04b8f"
OTHER_KEY = "k-second-ops-key"
#: A key that may only read: each write answers it 403 naming the scope.
READ_KEY = "k-read-only-key"
ROUTES = ("main", "backup")
ROUTE_TEXTS = {
    "main": RouteText(),
    "backup": RouteText(TextProfile(default_alphabet=Alphabet.IA5), Concatenation.UDH16),
}
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class Api:
    """An app on a store, its context, and a client that sends the key."""

    store: Store
    context: ApiContext
    client: httpx.AsyncClient
    readiness: list[Readiness] = field(default_factory=list)


def context_for(
    store: Store,
    *,
    metrics_public: bool = False,
    routes: Sequence[str] = ROUTES,
    route_texts: Mapping[str, RouteText] = ROUTE_TEXTS,
) -> tuple[ApiContext, list[Readiness]]:
    readiness = [Readiness({route: 1 for route in routes})]

    async def accept(messages: Sequence[NewMessage]) -> list[Accepted]:
        return await store.accept(messages, now=time.time())

    async def ready() -> Readiness:
        return readiness[0]

    context = ApiContext(
        store=store,
        accept=accept,
        routes=routes,
        api_key_digests={
            "ops": hash_api_key(KEY),
            "billing": hash_api_key(OTHER_KEY),
            "reader": hash_api_key(READ_KEY),
        },
        api_key_scopes={"reader": frozenset({"read"})},
        metrics_public=metrics_public,
        readiness=ready,
        route_texts=route_texts,
    )
    return context, readiness


@functools.cache
def document_check(routes: tuple[str, ...]) -> DocumentCheck:
    """One check per set of routes: the document and its validators are made once."""
    return DocumentCheck(routes)


def client_for(context: ApiContext) -> httpx.AsyncClient:
    """A client of the API that checks every answer against the document."""
    transport = httpx.ASGITransport(app=create_app(context))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://api.test",
        headers=AUTH,
        event_hooks=checked(document_check(tuple(context.routes))),
    )


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
