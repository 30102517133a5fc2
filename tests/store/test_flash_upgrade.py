"""Flash messages (the ``flash`` column), on both stores.

A database of the schema before the column opens and goes on: its messages are not
flash; a message accepted as flash is claimed and shown as flash.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
import trio

from smpp_engine.store import NewMessage, open_store
from smpp_engine.store.schema import postgres as postgres_schema
from smpp_engine.store.schema import sqlite as sqlite_schema

from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at, version_before
from .test_upgrade import _ROWS, QUEUED


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, version_before(sqlite_schema.MIGRATIONS, "ADD COLUMN flash"))
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
            await postgres_schema_at(
                connection, version_before(postgres_schema.MIGRATIONS, "ADD COLUMN flash")
            )
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


async def test_a_database_from_before_flash_opens_and_keeps_flash_messages(
    before_url: str,
) -> None:
    async with open_store(before_url) as store:
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        old = [c for c in claimed if c.message_id == QUEUED]
        assert old and not old[0].flash
        old_view = await store.get(QUEUED)
        assert old_view is not None and not old_view.flash
        flash, plain = await store.accept(
            [
                NewMessage(
                    smsc="sim", source="ACME", destination="447700900004", text="Now!", flash=True
                ),
                NewMessage(smsc="sim", source="ACME", destination="447700900005", text="plain"),
            ],
            now=13.0,
        )
        claimed = await store.claim("sim", 10, owner="new-gateway", now=14.0, lease=30.0)
        by_id = {c.message_id: c for c in claimed}
        assert by_id[flash.message_id].flash
        assert not by_id[plain.message_id].flash
        shown = await store.get(flash.message_id)
        assert shown is not None and shown.flash
