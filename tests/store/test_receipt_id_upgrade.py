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
from .test_upgrade import _ROWS, QUEUED


def _before(migrations: tuple[object, ...]) -> int:
    """The schema version just before the migration adding receipt_id (found by its
    content: other migrations may come after it)."""
    for index, migration in enumerate(migrations):
        if "ADD COLUMN receipt_id" in str(migration):
            return index
    raise AssertionError("no migration adds messages.receipt_id")


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        for version in range(1, _before(sqlite_schema.MIGRATIONS) + 1):
            for statement in sqlite_schema.MIGRATIONS[version - 1]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
        for statement in _ROWS:
            connection.execute(statement.format(true=1))
        connection.execute("INSERT INTO counters (name, value) VALUES ('last_message_id', 3)")
    finally:
        connection.close()


def _postgres_before(dsn: str) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(
                "CREATE TABLE schema_version (version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for version in range(1, _before(postgres_schema.MIGRATIONS) + 1):
                await connection.execute(postgres_schema.MIGRATIONS[version - 1])
                await connection.execute(
                    "INSERT INTO schema_version (version) VALUES ($1)", version
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
