"""API key scopes over every operation of the document.

Each operation needs one scope (read for reads, send, campaigns or billing for
writes of that kind, admin for the gateway's control). A key holding only that
scope gets past the gate; a key holding every other scope but that one gets 403
naming it; a key configured without scopes holds them all. The document says
which scope each operation needs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import cast

import httpx
import pytest

from smpp_engine.http_api import ApiContext, create_app, openapi_document
from smpp_engine.http_api.schema import OPERATIONS
from smpp_engine.settings import SCOPES, hash_api_key
from smpp_engine.store import Accepted, NewMessage, Store

from ..store.conftest import open_test_store
from .conftest import ROUTES
from .document import DocumentCheck, checked

#: A value for each path parameter: any will do, the gate answers before the handler.
_PARAMETERS = {
    "name": "main",
    "message_id": "1",
    "campaign_id": "1",
    "account": "100200300",
    "msisdn": "447700900001",
}
_PROTECTED = [operation for operation in OPERATIONS if not operation.public]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: _PARAMETERS[match[1]], path)


def _context(store: Store) -> ApiContext:
    async def accept(messages: list[NewMessage]) -> list[Accepted]:
        return await store.accept(messages, now=time.time())

    async def ready() -> object:
        raise AssertionError("not asked")

    digests = {f"only-{scope}": hash_api_key(f"key-only-{scope}") for scope in SCOPES}
    digests |= {f"all-but-{scope}": hash_api_key(f"key-all-but-{scope}") for scope in SCOPES}
    digests["unscoped"] = hash_api_key("key-unscoped")
    scopes = {f"only-{scope}": frozenset({scope}) for scope in SCOPES}
    scopes |= {f"all-but-{scope}": frozenset(SCOPES) - {scope} for scope in SCOPES}
    return ApiContext(
        store=store,
        accept=accept,  # type: ignore[arg-type]
        routes=ROUTES,
        api_key_digests=digests,
        api_key_scopes=scopes,
        metrics_public=False,
        readiness=ready,  # type: ignore[arg-type]
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_every_protected_operation_declares_one_scope_and_the_document_shows_it() -> None:
    paths = openapi_document(ROUTES)["paths"]
    for operation in _PROTECTED:
        assert operation.scope in SCOPES, operation.path
        documented = paths[operation.path][operation.method]
        assert documented["x-scope"] == operation.scope
        assert documented["security"] == [
            {"bearer": [operation.scope]},
            {"apiKey": [operation.scope]},
        ]
        assert "403" in documented["responses"]
        if operation.method == "get":
            assert operation.scope == "read", operation.path


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_key_passes_with_the_scope_and_is_refused_403_without_it(
    kind: str, tmp_path: Path
) -> None:
    async for store in open_test_store(kind, tmp_path):
        context = _context(store)
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://api.test",
            event_hooks=checked(DocumentCheck(ROUTES)),
        ) as client:
            for operation in _PROTECTED:
                method, url, needed = (
                    operation.method.upper(),
                    _url(operation.path),
                    operation.scope,
                )
                body = b"{}" if method == "POST" else None
                refused = await client.request(
                    method, url, content=body, headers=_bearer(f"key-all-but-{needed}")
                )
                assert refused.status_code == 403, f"{method} {url}"
                assert refused.json()["scope"] == needed
                assert needed in refused.json()["detail"]
                for key in (f"key-only-{needed}", "key-unscoped"):
                    passed = await client.request(method, url, content=body, headers=_bearer(key))
                    assert passed.status_code not in (401, 403), f"{method} {url}: {passed.text}"
            # A HEAD is a GET: it needs read.
            head = await client.head("/v1/routes", headers=_bearer("key-only-send"))
            assert head.status_code == 403


def test_keys_replaced_while_the_api_runs_take_effect_on_the_next_request(
    tmp_path: Path,
) -> None:
    context = _context(cast(Store, object()))
    assert context.keys.check({"x-api-key": "key-only-send"}).scopes == {"send"}
    context.replace_keys({"new": hash_api_key("key-new")}, {"new": frozenset({"admin"})})
    assert context.keys.check({"x-api-key": "key-only-send"}).name is None
    check = context.keys.check({"x-api-key": "key-new"})
    assert (check.name, check.scopes) == ("new", {"admin"})
