"""The ``store`` fixture: every contract test runs on SQLite and on PostgreSQL.

PostgreSQL is the machine's server on 127.0.0.1:5432 (user postgres, trust
auth); each test gets a database of its own, dropped afterwards. With ``CI=true``
an unreachable server fails the PostgreSQL tests instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import trio

from smpp_engine.store import Store

PG_HOST = os.environ.get("SMPP_ENGINE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SMPP_ENGINE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SMPP_ENGINE_TEST_PG_USER", "postgres")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip (or, under CI, fail) a test when the PostgreSQL server is not there."""
    if _pg_reachable():
        return
    message = f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the PostgreSQL tests must run)")
    pytest.skip(message)


def _admin(query: str) -> None:
    # Test set-up only: a throwaway asyncio loop in a worker thread creates and drops
    # databases; the product reaches PostgreSQL through its own bridge.
    async def run() -> None:
        connection = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres"
        )
        try:
            await connection.execute(query)
        finally:
            await connection.close()

    asyncio.run(run())


async def fresh_database() -> str:
    """Create an empty database; return its DSN."""
    require_postgres()
    name = f"smpp_engine_test_{uuid.uuid4().hex[:12]}"
    await trio.to_thread.run_sync(_admin, f'CREATE DATABASE "{name}"')
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    await trio.to_thread.run_sync(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def store_url_of(kind: str, tmp_path: Path, file: str = "store.db") -> AsyncIterator[str]:
    """A URL of an empty store of ``kind`` (sqlite: a file in ``tmp_path``; postgresql: a
    database of its own, dropped afterwards), for code that opens the store itself."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / file}"
        return
    dsn = await fresh_database()
    try:
        yield dsn
    finally:
        await drop_database(dsn)


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    dsn = await fresh_database()
    try:
        yield dsn
    finally:
        await drop_database(dsn)


async def open_test_store(kind: str, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty, migrated store of ``kind`` (sqlite or postgresql) for one test.

    An async generator for ``async for``: a fixture yields from it. A PostgreSQL
    store gets a database of its own, dropped afterwards.
    """
    if kind == "sqlite":
        from smpp_engine.store.sqlite import open_sqlite_store  # noqa: PLC0415

        async with open_sqlite_store(tmp_path / "store.db") as opened:
            yield opened
        return
    from smpp_engine.store.postgres import open_postgres_store  # noqa: PLC0415

    dsn = await fresh_database()
    try:
        async with open_postgres_store(dsn) as opened:
            yield opened
    finally:
        await drop_database(dsn)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty, migrated store of each kind."""
    async for opened in open_test_store(request.param, tmp_path):
        yield opened
