"""A database the previous release (schema version 4) wrote opens with this code, on both stores.

The rows are written as that release wrote them, by SQL against its own schema:
a queued message, one submitted and waiting for its receipt, and one SUBMITTING
under a lease its process never came back to. Opened now, the schema is brought
up to date and each goes on as it would have: the queued one is claimed, the
receipt completes the submitted one, and the one caught mid-submission is
requeued as a possible duplicate (that release did not mark what it sent, so
everything it left SUBMITTING counts as dispatched).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
import trio

from smpp_engine.store import (
    MessageState,
    PartState,
    ReceiptArrived,
    open_store,
)

from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at

PREVIOUS_RELEASE = 4
QUEUED, SUBMITTED, SUBMITTING = 1, 2, 3

# Written as release 4 wrote them: its columns, its states, its counts.
_ROWS = [
    "INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton, "
    "dest_npi, text, parts, priority, registered_delivery, not_before, state, attempts, "
    "lease_owner, lease_until, created_at, updated_at) VALUES "
    "(1, 'sim', 'ACME', 5, 0, '447700900001', 1, 1, 'queued', 1, 0, {true}, 0, 'queued', 0, "
    "NULL, NULL, 1, 1), "
    "(2, 'sim', 'ACME', 5, 0, '447700900002', 1, 1, 'sent', 1, 0, {true}, 0, 'submitted', 1, "
    "NULL, NULL, 1, 2), "
    "(3, 'sim', 'ACME', 5, 0, '447700900003', 1, 1, 'caught', 1, 0, {true}, 0, 'submitting', 1, "
    "'old-gateway:42', 5, 1, 2)",
    "INSERT INTO message_parts (message_id, part, smsc, state, bind, smsc_message_id, "
    "submitted_at, responded_at, command_status) VALUES "
    "(2, 0, 'sim', 'submitted', 'sim-1', 'abc', 1.5, 2, 0)",
    "INSERT INTO message_events (message_id, at, event, detail) VALUES "
    "(1, 1, 'accepted', 'parts=1 priority=0'), (2, 1, 'accepted', 'parts=1 priority=0'), "
    "(3, 1, 'accepted', 'parts=1 priority=0')",
]
# SQLite kept its state counts in a table of its own: those of _ROWS.
_SQLITE_STATE_COUNTS = [
    f"INSERT INTO state_counts (smsc, state, n) VALUES ('sim', '{state}', 1)"
    for state in ("queued", "submitted", "submitting")
]


def _sqlite_release_4(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, PREVIOUS_RELEASE)
        for statement in _ROWS:
            connection.execute(statement.format(true=1))
        for statement in _SQLITE_STATE_COUNTS:
            connection.execute(statement)
        connection.execute("INSERT INTO counters (name, value) VALUES ('last_message_id', 3)")
    finally:
        connection.close()


def _postgres_release_4(dsn: str) -> None:
    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(connection, PREVIOUS_RELEASE)
            for statement in _ROWS:
                await connection.execute(statement.format(true="true"))
            await connection.execute("SELECT setval('messages_id_seq', 3)")
            await connection.execute(
                "INSERT INTO state_count_changes (smsc, state, delta) VALUES "
                "('sim', 'queued', 1), ('sim', 'submitted', 1), ('sim', 'submitting', 1)"
            )
        finally:
            await connection.close()

    asyncio.run(write())


@pytest.fixture(params=["sqlite", "postgresql"])
async def release_4_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with store_url_of(request.param, tmp_path) as url:
        writer: Callable[[], None]
        if request.param == "sqlite":
            writer = lambda: _sqlite_release_4(tmp_path / "store.db")  # noqa: E731
        else:
            writer = lambda: _postgres_release_4(url)  # noqa: E731
        await trio.to_thread.run_sync(writer)
        yield url


async def test_a_database_of_the_previous_release_opens_and_goes_on(release_4_url: str) -> None:
    async with open_store(release_4_url) as store:
        assert await store.count_by_state() == {
            MessageState.QUEUED: 1,
            MessageState.SUBMITTED: 1,
            MessageState.SUBMITTING: 1,
        }
        report = await store.recover(now=10.0)
        assert (report.message_ids, report.possible_duplicates) == ((SUBMITTING,), 1)
        caught = await store.get(SUBMITTING)
        assert caught is not None and caught.possible_duplicate
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        assert [c.message_id for c in claimed] == [QUEUED, SUBMITTING]
        await store.record([ReceiptArrived("sim", "abc", PartState.DELIVERED, 12.0)])
        sent = await store.get(SUBMITTED)
        assert sent is not None and sent.state is MessageState.DELIVERED
        # New messages get ids after the old ones.
        from smpp_engine.store import NewMessage  # noqa: PLC0415

        [new] = await store.accept(
            [NewMessage(smsc="sim", source="ACME", destination="447700900004", text="new")],
            now=13.0,
        )
        assert new.message_id > SUBMITTING
