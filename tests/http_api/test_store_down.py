"""A store that does not answer: 503 with a JSON reason, nothing written, readiness says so."""

from __future__ import annotations

from pathlib import Path

import httpx

from smpp_engine.http_api import create_app, probe_readiness
from smpp_engine.store.sqlite import open_sqlite_store

from .conftest import Api, client_for, context_for


async def test_a_closed_store_answers_503_on_every_kind(api: Api) -> None:
    await api.store.aclose()
    body = {"to": "447700900123", "from": "ACME", "text": "Hi"}
    posted = await api.client.post("/v1/messages", json=body)
    assert posted.status_code == 503, posted.text
    assert posted.json()["error"] == "store unavailable"
    assert (await api.client.get("/v1/messages/1")).status_code == 503
    assert (await api.client.get("/v1/campaigns")).status_code == 503
    # A batch with keys looks them up concurrently: the failure is still a 503.
    keyed = [{**body, "idempotency_key": f"k{n}"} for n in range(20)]
    batch = await api.client.post("/v1/messages/batch", json={"messages": keyed})
    assert batch.status_code == 503, batch.text
    readiness = await probe_readiness(api.store, lambda: {"main": 1, "backup": 1})
    assert readiness.store_reachable is False and readiness.store_error


async def test_nothing_is_half_written_when_the_store_goes_away(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    async with open_sqlite_store(path) as store:
        context, _ = context_for(store)
        async with client_for(context) as client:
            await store.aclose()
            answer = await client.post(
                "/v1/messages", json={"to": "447700900123", "from": "ACME", "text": "Hi"}
            )
            assert answer.status_code == 503
    async with open_sqlite_store(path) as reopened:
        assert sum((await reopened.count_by_state()).values()) == 0


async def test_readiness_from_a_live_store_and_the_binds(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "ready.db") as store:
        binds = {"main": 1, "backup": 1}
        context, _ = context_for(store)
        context.readiness = lambda: probe_readiness(store, lambda: binds)
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            assert (await client.get("/readyz")).status_code == 200
            binds["backup"] = 0
            assert (await client.get("/readyz")).status_code == 503


async def test_postgresql_gone_under_a_live_store_answers_503() -> None:
    from smpp_engine.store.postgres import open_postgres_store  # noqa: PLC0415

    from ..store.conftest import drop_database, fresh_database  # noqa: PLC0415

    dsn = await fresh_database()
    try:
        async with open_postgres_store(dsn) as store:
            context, _ = context_for(store)
            async with client_for(context) as client:
                body = {"to": "447700900123", "from": "ACME", "text": "Hi"}
                assert (await client.post("/v1/messages", json=body)).status_code == 201
                await drop_database(dsn)  # terminates the store's connections
                answer = await client.post("/v1/messages", json=body)
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"] == "store unavailable"
    finally:
        await drop_database(dsn)
