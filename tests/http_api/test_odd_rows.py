"""What the store holds is shown, whatever it is: on both stores, odd rows are no 500.

Rows written by an older version (or by hand) may hold a start beyond year
9999, a rate no pacing takes, a time before year 1, and on PostgreSQL even
Infinity or NaN. A view shows such a value as null and the rest as usual; the
list they are in is still answered, and a campaign whose rate cannot be paced
stays paused with a 409 naming the rate.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import trio

from smpp_engine.store import Store
from smpp_engine.store.postgres import open_postgres_store
from smpp_engine.store.sqlite import open_sqlite_store

from ..store.conftest import drop_database, fresh_database
from .conftest import client_for, context_for


@dataclass
class Raw:
    """A store, a client of the API on it, and a way to write rows behind its back."""

    store: Store
    client: httpx.AsyncClient
    kind: str
    target: str  # the SQLite file or the PostgreSQL DSN

    async def execute(self, sql: str) -> None:
        if self.kind == "sqlite":
            await trio.to_thread.run_sync(_sqlite_execute, self.target, sql)
        else:
            await trio.to_thread.run_sync(_postgres_execute, self.target, sql)


def _sqlite_execute(path: str, sql: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(sql)


def _postgres_execute(dsn: str, sql: str) -> None:
    # Test set-up only: a throwaway asyncio loop in a worker thread.
    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgresql"])
async def raw(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Raw]:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        async with open_sqlite_store(path) as store:
            context, _ = context_for(store)
            async with client_for(context) as client:
                yield Raw(store, client, "sqlite", str(path))
        return
    dsn = await fresh_database()
    try:
        async with open_postgres_store(dsn) as store:
            context, _ = context_for(store)
            async with client_for(context) as client:
                yield Raw(store, client, "postgresql", dsn)
    finally:
        await drop_database(dsn)


async def _campaign(raw: Raw, name: str) -> int:
    created = await raw.client.post(
        "/v1/campaigns",
        json={"name": name, "template": "Hello", "sender": "ACME",
              "recipients": [{"msisdn": "447700900001"}]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["campaign"]["id"]
    return campaign_id


async def test_a_campaign_with_odd_values_is_shown_and_so_is_the_list(raw: Raw) -> None:
    odd = await _campaign(raw, "odd")
    fine = await _campaign(raw, "fine")
    await raw.execute(
        f"UPDATE campaigns SET start_at = 1e300, rate = 1e-300, created_at = -1e20, "
        f"state = 'paused' WHERE id = {odd}"
    )
    listed = await raw.client.get("/v1/campaigns")
    assert listed.status_code == 200, listed.text
    shown = {c["name"]: c for c in listed.json()["campaigns"]}
    assert (shown["odd"]["start_at"], shown["odd"]["created_at"]) == (None, None)
    assert shown["odd"]["rate"] == 1e-300
    assert shown["fine"]["created_at"] is not None
    one = await raw.client.get(f"/v1/campaigns/{odd}")
    assert one.status_code == 200, one.text
    resumed = await raw.client.post(f"/v1/campaigns/{odd}/resume")
    assert resumed.status_code == 409, resumed.text
    assert resumed.json()["field"] == "rate"
    assert (await raw.client.get(f"/v1/campaigns/{odd}")).json()["state"] == "paused"
    assert (await raw.client.post(f"/v1/campaigns/{fine}/pause")).status_code == 200


@pytest.mark.parametrize("raw", ["postgresql"], indirect=True)  # SQLite keeps NaN as NULL
async def test_postgresql_infinities_and_nan_are_shown_as_null(raw: Raw) -> None:
    odd = await _campaign(raw, "odd")
    await raw.execute(
        "UPDATE campaigns SET rate = 'Infinity', start_at = 'NaN', "
        f"updated_at = '-Infinity' WHERE id = {odd}"
    )
    listed = await raw.client.get("/v1/campaigns")
    assert listed.status_code == 200, listed.text
    (shown,) = listed.json()["campaigns"]
    assert (shown["rate"], shown["start_at"], shown["updated_at"]) == (None, None, None)


async def test_a_message_with_odd_times_is_shown(raw: Raw) -> None:
    posted = await raw.client.post(
        "/v1/messages", json={"to": "447700900123", "from": "ACME", "text": "Hi"}
    )
    message_id = posted.json()["id"]
    await raw.execute(
        f"UPDATE messages SET created_at = 1e300, updated_at = -1e300 WHERE id = {message_id}"
    )
    await raw.execute(f"UPDATE message_events SET at = 1e18 WHERE message_id = {message_id}")
    shown = await raw.client.get(f"/v1/messages/{message_id}")
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert (view["created_at"], view["updated_at"]) == (None, None)
    assert [event["at"] for event in view["events"]] == [None]


async def test_a_campaign_in_a_state_this_version_does_not_know_is_shown(raw: Raw) -> None:
    odd = await _campaign(raw, "odd")
    await raw.execute(f"UPDATE campaigns SET state = 'archived' WHERE id = {odd}")
    assert (await raw.client.get("/v1/campaigns")).status_code == 200
    shown = await raw.client.get(f"/v1/campaigns/{odd}")
    assert (shown.status_code, shown.json()["state"]) == (200, "archived")
    paused = await raw.client.post(f"/v1/campaigns/{odd}/pause")
    assert paused.status_code == 409, paused.text
    assert (paused.json()["field"], paused.json()["value"]) == ("state", "archived")
