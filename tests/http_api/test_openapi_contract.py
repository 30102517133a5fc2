"""The API against its own OpenAPI document, with schemathesis.

Requests are generated from ``/openapi.json``'s description, valid and invalid
(positive and negative modes), sent with a valid key to the API served on
loopback TCP over a real SQLite store holding billing data, a group and a
campaign. Every answer must be no server error, have a documented status and
content type, and match the documented schema. Examples are bounded per
operation so the whole run takes seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import schemathesis
import trio
from hypothesis import HealthCheck, settings

from smpp_engine.http_api import create_app, openapi_document, serve_api
from smpp_engine.store import BillingStore, import_billing_data, load_billing_json
from smpp_engine.store.sqlite import open_sqlite_store

from .conftest import AUTH, ROUTES, context_for
from .test_billing import EXAMPLE

schema = schemathesis.openapi.from_dict(openapi_document(ROUTES))

CHECKS: Sequence[Any] = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


async def _seed(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as client:
        group = await client.post(
            "/v1/groups", json={"name": "g", "members": [{"msisdn": "447700900001"}]}
        )
        assert group.status_code == 201, group.text
        campaign = await client.post(
            "/v1/campaigns",
            json={"name": "c", "template": "Hello", "sender": "ACME", "group": "g"},
        )
        assert campaign.status_code == 201, campaign.text


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API served from a trio run in a thread of its own, for the synchronous checks."""
    path: Path = tmp_path_factory.mktemp("contract") / "contract.db"
    served: list[Any] = []
    started = threading.Event()

    async def serve() -> None:
        try:
            async with open_sqlite_store(path) as store, trio.open_nursery() as nursery:
                report = await import_billing_data(
                    cast(BillingStore, store), load_billing_json(str(EXAMPLE))
                )
                assert not report.problems
                context, _ = context_for(store)
                port = await nursery.start(
                    partial(serve_api, create_app(context), host="127.0.0.1", port=0)
                )
                url = f"http://127.0.0.1:{port}"
                await _seed(url)
                served.extend([url, trio.lowlevel.current_trio_token(), nursery.cancel_scope])
                started.set()
        finally:
            started.set()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    started.wait(60)
    assert served, "the API did not start"
    url, token, scope = served
    yield url
    token.run_sync_soon(scope.cancel)
    thread.join(30)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_every_answer_conforms_to_the_document(case: Any, base_url: str) -> None:
    case.call_and_validate(base_url=base_url, headers=dict(AUTH), checks=list(CHECKS))
