"""A database at an earlier schema version, as an upgrade test needs one.

Each upgrade test writes a database as a previous release left it (schema up to
some migration, then rows written by SQL) and opens it with today's store. The
schema part is the same for all of them: the ``schema_version`` table as the
migrators keep it, then migrations 1 to ``version`` in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from smpp_engine.store.schema import postgres as postgres_schema
from smpp_engine.store.schema import sqlite as sqlite_schema

__all__ = ["postgres_schema_at", "sqlite_schema_at", "version_before"]


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
