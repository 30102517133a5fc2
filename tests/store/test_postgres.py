"""What only the PostgreSQL store does: migrations, several processes, server failures.

"Two processes" are two stores with pools of their own on one database. The
admin connection plays a third party that holds locks or transactions open, run
through a bridge of its own; a test waits for the store to block on it by
watching pg_locks, never by sleeping a guessed time.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import pytest
import trio

from smpp_engine.settings.model import StoreSettings
from smpp_engine.store import (
    MessageState,
    MigrationError,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    StoreError,
    StoreUnavailableError,
)
from smpp_engine.store.bridge import AsyncioBridge, open_bridge
from smpp_engine.store.opening import open_store
from smpp_engine.store.postgres import PostgresStore, open_postgres_store
from smpp_engine.store.schema.postgres import SCHEMA_VERSION

from .conftest import PG_HOST, PG_PORT, PG_USER, require_postgres

NOW = 1_000_000.0


class Admin:
    """One asyncpg connection on a bridge: statements run in the order given."""

    def __init__(self, bridge: AsyncioBridge, connection: Any) -> None:
        self.bridge = bridge
        self.connection = connection

    async def execute(self, query: str, *args: Any) -> None:
        await self.bridge.call(self.connection.execute, query, *args)

    async def value(self, query: str, *args: Any) -> Any:
        return await self.bridge.call(self.connection.fetchval, query, *args)

    async def wait_until(self, query: str) -> None:
        """Poll ``query`` (a boolean) until it holds."""
        with trio.fail_after(30):
            while True:
                # Inside a transaction pg_stat_activity is read once and kept: drop
                # that snapshot so each poll sees the present.
                await self.execute("SELECT pg_stat_clear_snapshot()")
                if await self.value(query):
                    return
                await trio.sleep(0.01)


@asynccontextmanager
async def admin_connection(dsn: str) -> AsyncIterator[Admin]:
    async with open_bridge() as bridge:
        connection = await bridge.call(asyncpg.connect, dsn)
        try:
            yield Admin(bridge, connection)
        finally:
            with trio.CancelScope(shield=True):
                await bridge.call(connection.close)


T = TypeVar("T")


async def kill_connections(admin: Admin) -> None:
    """Terminate every other connection to the test database (the store's pools)."""
    await admin.value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


async def once_available(call: Callable[[], Awaitable[T]]) -> T:
    """``call`` again while the store says it is unavailable; any other error is raised.

    After its connections were killed, each call either works on a fresh one or is
    told to wait: never a plain StoreError, and the pool heals."""
    with trio.fail_after(30):
        while True:
            try:
                return await call()
            except StoreUnavailableError:
                await trio.sleep(0.01)


def message(n: int, *, smsc: str = "smsc-a", parts: int = 1, key: str | None = None) -> NewMessage:
    return NewMessage(
        smsc=smsc,
        source="UTILITY",
        destination=f"+3706{n:07d}",
        text=f"message {n}",
        parts=parts,
        idempotency_key=key,
    )


async def versions(admin: Admin) -> list[int]:
    rows: Sequence[Any] = await admin.bridge.call(
        admin.connection.fetch, "SELECT version FROM schema_version ORDER BY version"
    )
    return [row["version"] for row in rows]


# --- migrations ---


async def test_reopening_keeps_the_data_and_applies_nothing_twice(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store:
        [accepted] = await store.accept([message(1, key="k")], now=NOW)
    async with open_postgres_store(pg_dsn) as store:
        assert await store.find_by_idempotency_key("k") == accepted.message_id
    async with admin_connection(pg_dsn) as admin:
        assert await versions(admin) == list(range(1, SCHEMA_VERSION + 1))


async def test_stores_opening_together_take_turns_on_the_migration_lock(pg_dsn: str) -> None:
    opened: list[PostgresStore] = []

    async def open_one(task_status: trio.TaskStatus[None]) -> None:
        async with open_postgres_store(pg_dsn) as store:
            opened.append(store)
            task_status.started()
            await trio.sleep_forever()

    async with admin_connection(pg_dsn) as admin:
        # Hold the migrations back (the same key the stores lock) until both wait.
        await admin.execute("SELECT pg_advisory_lock($1)", _migration_lock())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(nursery.start, open_one)
            nursery.start_soon(nursery.start, open_one)
            await admin.wait_until(
                "SELECT count(*) = 2 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            await admin.execute("SELECT pg_advisory_unlock($1)", _migration_lock())
            with trio.fail_after(30):
                while len(opened) < 2:
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        assert await versions(admin) == list(range(1, SCHEMA_VERSION + 1))


def _migration_lock() -> int:
    from smpp_engine.store.schema.postgres import _MIGRATION_LOCK  # noqa: PLC0415

    return _MIGRATION_LOCK


async def test_a_database_newer_than_the_code_is_refused_and_left_alone(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store:
        await store.accept([message(1)], now=NOW)
    async with admin_connection(pg_dsn) as admin:
        await admin.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1)
        with pytest.raises(MigrationError, match=f"version {SCHEMA_VERSION + 1}"):
            async with open_postgres_store(pg_dsn):
                pass
        assert await versions(admin) == list(range(1, SCHEMA_VERSION + 2))
        assert await admin.value("SELECT count(*) FROM messages") == 1


# --- several processes ---


async def test_two_stores_claiming_at_once_never_get_the_same_message(pg_dsn: str) -> None:
    total = 3000
    claimed: dict[str, list[int]] = {"one": [], "two": []}

    async def claim_all(store: PostgresStore, owner: str) -> None:
        while batch := await store.claim("smsc-a", 25, owner=owner, now=NOW, lease=60.0):
            claimed[owner].extend(m.message_id for m in batch)

    async with (
        open_postgres_store(pg_dsn, max_size=4) as one,
        open_postgres_store(pg_dsn, max_size=4) as two,
    ):
        for start in range(0, total, 500):
            await one.accept([message(n) for n in range(start, start + 500)], now=NOW)
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(claim_all, one, "one")
                nursery.start_soon(claim_all, two, "two")
        assert await one.count_by_state() == {MessageState.SUBMITTING: total}
    ids = claimed["one"] + claimed["two"]
    assert len(ids) == len(set(ids)) == total
    assert claimed["one"] and claimed["two"]


async def test_a_receipt_beside_its_part_submitted_in_flight_elsewhere_is_applied(
    pg_dsn: str,
) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        [accepted] = await store.accept([message(1)], now=NOW)
        await store.claim("smsc-a", 1, owner="a", now=NOW, lease=60.0)
        # The admin plays another process half-way through recording PartSubmitted:
        # its part row is written, not committed.
        await admin.execute("BEGIN")
        await admin.execute("SELECT pg_advisory_xact_lock_shared($1)", _hold_lock())
        await admin.execute(
            "INSERT INTO message_parts (message_id, part, state, smsc, smsc_message_id) "
            "VALUES ($1, 0, 'submitted', 'smsc-a', 'X1')",
            accepted.message_id,
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                store.record,
                [ReceiptArrived("smsc-a", "X1", PartState.DELIVERED, received_at=NOW + 1)],
            )
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            await admin.execute("COMMIT")
        view = await store.get(accepted.message_id)
        assert view is not None
        assert view.part_views[0].state is PartState.DELIVERED
        assert (await store.stats())["held_receipts"] == 0


async def test_a_part_submitted_beside_its_receipt_being_held_elsewhere_takes_it(
    pg_dsn: str,
) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        [accepted] = await store.accept([message(1)], now=NOW)
        await store.claim("smsc-a", 1, owner="a", now=NOW, lease=60.0)
        # Another process half-way through holding a receipt for X1, not committed.
        await admin.execute("BEGIN")
        await admin.execute("SELECT pg_advisory_xact_lock($1)", _hold_lock())
        await admin.execute(
            "INSERT INTO held_receipts (smsc, smsc_message_id, state, received_at) "
            "VALUES ('smsc-a', 'X1', 'delivered', $1)",
            NOW + 1,
        )
        submitted = PartSubmitted(accepted.message_id, 0, "bind-1", "X1", NOW, NOW + 0.5)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.record, [submitted])
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            await admin.execute("COMMIT")
        view = await store.get(accepted.message_id)
        assert view is not None
        assert view.state is MessageState.DELIVERED
        assert (await store.stats())["held_receipts"] == 0


def _hold_lock() -> int:
    from smpp_engine.store.messages.postgres_record import _HOLD_LOCK  # noqa: PLC0415

    return _HOLD_LOCK


async def test_accepting_a_key_another_process_is_storing_returns_that_message(
    pg_dsn: str,
) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        # The admin plays another process half-way through accepting key "k".
        await admin.execute("BEGIN")
        theirs = await admin.value(
            "INSERT INTO messages (smsc, source, source_ton, source_npi, destination, dest_ton,"
            " dest_npi, text, parts, priority, registered_delivery, not_before, idempotency_key,"
            " state, created_at, updated_at)"
            " VALUES ('smsc-a', 'S', 5, 0, 'D', 1, 1, 't', 1, 2, true, 0, 'k', 'queued', 0, 0)"
            " RETURNING id"
        )
        results: list[Any] = []

        async def accept() -> None:
            results.append(await store.accept([message(1), message(2, key="k")], now=NOW))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(accept)
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            await admin.execute("COMMIT")
        [[mine, duplicate]] = results
        assert not mine.duplicate
        assert duplicate.message_id == theirs
        assert duplicate.duplicate
        assert await store.count_by_state() == {MessageState.QUEUED: 1}  # theirs was not counted


# --- cancellation ---


async def test_a_cancelled_record_is_rolled_back_and_its_connection_reused(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn, max_size=1) as store, admin_connection(pg_dsn) as admin:
        accepted = await store.accept([message(1), message(2)], now=NOW)
        first, second = (a.message_id for a in accepted)
        await store.claim("smsc-a", 2, owner="a", now=NOW, lease=60.0)
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", second)
        batch = [
            PartSubmitted(first, 0, "bind-1", "X1", NOW, NOW + 1),
            PartSubmitted(second, 0, "bind-1", "X2", NOW, NOW + 1),
        ]
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(store.record, batch)
                await admin.wait_until(
                    "SELECT count(*) = 1 FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                scope.cancel()
        # The store's transaction must be gone (rolled back) before the lock is released,
        # or it would carry on and commit.
        await admin.wait_until(
            "SELECT count(*) = 0 FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')"
        )
        await admin.execute("COMMIT")
        for message_id in (first, second):
            view = await store.get(message_id)
            assert view is not None
            assert view.state is MessageState.SUBMITTING
            assert view.part_views[0].state is PartState.PENDING
        # The pool's one connection still works.
        await store.record(batch)
        view = await store.get(first)
        assert view is not None
        assert view.state is MessageState.SUBMITTED


# --- the server failing ---


async def test_an_unreachable_server_is_unavailable_at_open() -> None:
    with pytest.raises(StoreUnavailableError, match="open"):
        async with open_postgres_store(f"postgresql://{PG_USER}@127.0.0.1:1/none"):
            pass


async def test_a_missing_database_is_a_store_error_not_unavailable() -> None:
    require_postgres()
    dsn = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/no_such_db_{uuid.uuid4().hex[:8]}"
    with pytest.raises(StoreError) as raised:
        async with open_postgres_store(dsn):
            pass
    assert not isinstance(raised.value, StoreUnavailableError)


async def test_too_many_connections_is_unavailable(pg_dsn: str) -> None:
    role = f"smpp_engine_limited_{uuid.uuid4().hex[:8]}"
    async with admin_connection(pg_dsn) as admin:
        # Not a value: a name made above of hex digits, quoted as an identifier.
        await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
        try:
            dsn = f"postgresql://{role}@{PG_HOST}:{PG_PORT}/{pg_dsn.rsplit('/', 1)[1]}"
            with pytest.raises(StoreUnavailableError, match="open: too many connections"):
                async with open_postgres_store(dsn):
                    pass
        finally:
            await admin.execute(f'DROP ROLE "{role}"')


async def test_a_connection_lost_mid_call_is_unavailable_then_replaced(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn, max_size=1) as store, admin_connection(pg_dsn) as admin:
        [accepted] = await store.accept([message(1)], now=NOW)
        await store.claim("smsc-a", 1, owner="a", now=NOW, lease=60.0)
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM messages FOR UPDATE")
        submitted = PartSubmitted(accepted.message_id, 0, "bind-1", "X1", NOW, NOW + 1)
        async with trio.open_nursery() as nursery:

            async def record() -> None:
                with pytest.raises(StoreUnavailableError, match="record"):
                    await store.record([submitted])

            nursery.start_soon(record)
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            await admin.value(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        await admin.execute("COMMIT")
        await store.record([submitted])
        assert await store.count_by_state() == {MessageState.SUBMITTED: 1}


async def test_connections_killed_while_idle_are_unavailable_until_replaced(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn, min_size=4) as store, admin_connection(pg_dsn) as admin:
        await store.accept([message(1)], now=NOW)
        await kill_connections(admin)
        counts = await once_available(store.count_by_state)
        assert counts == {MessageState.QUEUED: 1}


async def test_a_closed_store_refuses_calls(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store:
        pass
    await store.aclose()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.count_by_state()


async def test_the_pools_are_as_large_as_configured(pg_dsn: str) -> None:
    async with open_store(pg_dsn, pool_size=2, answers_pool_size=1) as store:
        assert isinstance(store, PostgresStore)
        assert (store._pool.get_max_size(), store._planned.get_max_size()) == (2, 1)
    async with open_store(pg_dsn) as store:  # what [store] gives when it says nothing
        assert isinstance(store, PostgresStore)
        defaults = StoreSettings()
        assert (store._pool.get_max_size(), store._planned.get_max_size()) == (
            defaults.pool_size,
            defaults.answers_pool_size,
        )
