"""A database at an earlier schema version, as an upgrade test needs one.

Each upgrade test writes a database as a previous release left it (schema up to
some migration, then rows written by SQL) and opens it with today's store. The
schema part is the same for all of them: the ``schema_version`` table as the
migrators keep it, then migrations 1 to ``version`` in order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import trio

from smpp_engine.store.schema import postgres as postgres_schema
from smpp_engine.store.schema import sqlite as sqlite_schema

from .conftest import store_url_of

__all__ = [
    "postgres_schema_at",
    "sqlite_schema_at",
    "store_before",
    "version_before",
    "versions_before",
]


def sqlite_schema_at(connection: sqlite3.Connection, version: int) -> None:
    """Bring an empty SQLite database to schema ``version`` (migrations 1 to ``version``)."""
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    for number in range(1, version + 1):
        for statement in sqlite_schema.MIGRATIONS[number - 1]:
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version VALUES (?, 0)", (number,))


async def postgres_schema_at(connection: Any, version: int) -> None:
    """Bring an empty PostgreSQL database (an asyncpg connection) to schema ``version``."""
    await connection.execute(
        "CREATE TABLE schema_version (version integer PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for number in range(1, version + 1):
        await connection.execute(postgres_schema.MIGRATIONS[number - 1])
        await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)


def version_before(migrations: Sequence[object], marker: str) -> int:
    """The schema version just before the first migration whose text holds ``marker``
    (found by content, so migrations added after it do not move the test's start)."""
    for index, migration in enumerate(migrations):
        if marker in str(migration):
            return index
    raise AssertionError(f"no migration holds {marker!r}")


def versions_before(marker: str) -> tuple[int, int]:
    """SQLite's and PostgreSQL's schema versions just before the migration holding
    ``marker``: the ``versions`` of :func:`store_before`."""
    return (
        version_before(sqlite_schema.MIGRATIONS, marker),
        version_before(postgres_schema.MIGRATIONS, marker),
    )


@asynccontextmanager
async def store_before(
    kind: str,
    tmp_path: Path,
    versions: tuple[int, int],
    statements: Sequence[str],
    *,
    last_id: int,
    sqlite_only: Sequence[str] = (),
) -> AsyncIterator[str]:
    """The URL of a ``kind`` store at schema ``versions`` (SQLite's, PostgreSQL's)
    holding the rows ``statements`` write (``{true}`` spelled for the backend), with
    message ids used up to ``last_id``; ``sqlite_only`` runs on SQLite alone (its
    state counts, which PostgreSQL derives otherwise)."""
    async with store_url_of(kind, tmp_path) as url:
        if kind == "sqlite":
            write = partial(_sqlite_rows, tmp_path / "store.db", versions[0], statements)
            await trio.to_thread.run_sync(write, last_id, sqlite_only)
        else:
            write_pg = partial(_postgres_rows, url, versions[1], statements)
            await trio.to_thread.run_sync(write_pg, last_id)
        yield url


def _sqlite_rows(
    path: Path, version: int, statements: Sequence[str], last_id: int, extra: Sequence[str]
) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, version)
        for statement in statements:
            connection.execute(statement.format(true=1))
        for statement in extra:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO counters (name, value) VALUES ('last_message_id', ?)", (last_id,)
        )
    finally:
        connection.close()


def _postgres_rows(dsn: str, version: int, statements: Sequence[str], last_id: int) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(connection, version)
            for statement in statements:
                await connection.execute(statement.format(true="true"))
            await connection.execute("SELECT setval('messages_id_seq', $1)", last_id)
        finally:
            await connection.close()

    asyncio.run(write())
