"""The receipt_id column (a submit_multi's other destinations named by its one id), on
both stores: a database of the schema before it opens and goes on, its messages named
by their own ids; the names given are read back, only for the messages given them."""

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
        sqlite_schema_at(
            connection, version_before(sqlite_schema.MIGRATIONS, "ADD COLUMN receipt_id")
        )
        for statement in _ROWS:
            connection.execute(statement.format(true=1))
        connection.execute("INSERT INTO counters (name, value) VALUES ('last_message_id', 3)")
    finally:
        connection.close()


def _postgres_before(dsn: str) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(
                connection, version_before(postgres_schema.MIGRATIONS, "ADD COLUMN receipt_id")
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


async def test_a_database_from_before_receipt_ids_opens_and_names_new_ones(
    before_url: str,
) -> None:
    async with open_store(before_url) as store:
        assert await store.receipt_ids([QUEUED]) == {}
        accepted = await store.accept(
            [
                NewMessage(smsc="sim", source="ACME", destination=f"44770090010{n}", text="x")
                for n in range(3)
            ],
            now=13.0,
        )
        first, *others = (a.message_id for a in accepted)
        await store.name_receipts(first, others)
        everyone = [QUEUED, first, *others]
        assert await store.receipt_ids(everyone) == dict.fromkeys(others, first)
