"""A database of the schema before tenants and callbacks opens with this code, on both stores.

Its messages (written as the earlier releases wrote them) are the operator's (no
tenant, no callback) and go on as before; new messages carry their tenant and
callback, and their events reach the outbox.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
import trio

from smpp_engine.store import MessageState, NewMessage, PartState, ReceiptArrived, open_store
from smpp_engine.store.callbacks import OutboxStatus

from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at
from .test_upgrade import _ROWS, QUEUED, SUBMITTED

BEFORE_TENANTS = 13  # the schema just before tenants and callbacks
PG_BEFORE_TENANTS = 14


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, BEFORE_TENANTS)
        for statement in _ROWS:
            connection.execute(statement.format(true=1))
        connection.executemany(
            "INSERT INTO state_counts (smsc, state, n) VALUES ('sim', ?, 1)",
            [("queued",), ("submitted",), ("submitting",)],
        )
        connection.execute("INSERT INTO counters (name, value) VALUES ('last_message_id', 3)")
    finally:
        connection.close()


def _postgres_before(dsn: str) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(connection, PG_BEFORE_TENANTS)
            for statement in _ROWS:
                await connection.execute(statement.format(true="true"))
            await connection.execute("SELECT setval('messages_id_seq', 3)")
        finally:
            await connection.close()

    asyncio.run(write())


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with store_url_of(request.param, tmp_path) as url:
        writer: Callable[[], None]
        if request.param == "sqlite":
            writer = lambda: _sqlite_before(tmp_path / "store.db")  # noqa: E731
        else:
            writer = lambda: _postgres_before(url)  # noqa: E731
        await trio.to_thread.run_sync(writer)
        yield url


async def test_a_database_from_before_tenants_opens_and_goes_on(before_url: str) -> None:
    async with open_store(before_url) as store:
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        assert QUEUED in [c.message_id for c in claimed]
        await store.record([ReceiptArrived("sim", "abc", PartState.DELIVERED, 12.0)])
        sent = await store.get(SUBMITTED)
        assert sent is not None and sent.state is MessageState.DELIVERED
        assert sent.tenant is None
        outbox = store.list_callbacks  # type: ignore[attr-defined]
        assert await outbox(status=OutboxStatus.PENDING) == []
        [new] = await store.accept(
            [
                NewMessage(
                    smsc="sim",
                    source="ACME",
                    destination="447700900004",
                    text="new",
                    tenant="acme",
                    callback_url="https://hooks.example/sms",
                    callback_events=frozenset({"accepted"}),
                )
            ],
            now=13.0,
        )
        view = await store.get(new.message_id)
        assert view is not None and view.tenant == "acme"
        (event,) = await outbox(status=OutboxStatus.PENDING)
        assert (event.message_id, event.event) == (new.message_id, "accepted")
