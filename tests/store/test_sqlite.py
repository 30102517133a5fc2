"""What only the SQLite store does: the file, migrations, the worker thread, its errors.

The contract (test_contract.py) runs on SQLite too; these tests look behind it.
A test that must hold the worker mid-job does so with a threading.Event it
releases itself, never with a guessed sleep.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trio
import trio.testing
from prometheus_client import REGISTRY

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
from smpp_engine.store.schema import sqlite as sqlite_schema
from smpp_engine.store.sqlite import SqliteStore, open_sqlite_store
from smpp_engine.store.sqlite_worker import map_error

SMSC = "smsc-a"


def message(n: int = 0, **fields: object) -> NewMessage:
    values: dict[str, object] = {
        "smsc": SMSC,
        "source": "ACME",
        "destination": f"44770090{n:04d}",
        "text": f"message {n}",
    }
    values.update(fields)
    return NewMessage(**values)  # type: ignore[arg-type]


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


async def test_what_was_accepted_is_there_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with open_sqlite_store(path) as store:
        ids = [a.message_id for a in await store.accept([message(1), message(2)], now=1.0)]
        await store.claim(SMSC, 1, owner="gw", now=2.0, lease=30.0)
        await store.record(
            [
                PartSubmitted(ids[0], 0, "bind-1", "A", 2.5, 3.0),
                ReceiptArrived(SMSC, "B", PartState.DELIVERED, 3.5),  # held: B is not known
                PartSubmitted(10_000, 0, "bind-1", "C", 2.5, 3.0),  # an orphan
            ]
        )
        before = [await store.get(i) for i in ids]
    async with open_sqlite_store(path) as store:
        assert [await store.get(i) for i in ids] == before
        assert await store.count_by_state() == {
            MessageState.SUBMITTED: 1,
            MessageState.QUEUED: 1,
        }
        stats = await store.stats()
        assert (stats["held_receipts"], stats["orphan_updates"]) == (1, 1)
        # ids keep growing after a reopen, never reused
        [later] = await store.accept([message(3)], now=4.0)
        assert later.message_id > max(ids)


CHILD = """
import sys, time, trio
from smpp_engine.store import NewMessage
from smpp_engine.store.sqlite import open_sqlite_store

async def main():
    async with open_sqlite_store(sys.argv[1]) as store:
        for batch in range(5):
            accepted = await store.accept(
                [NewMessage("smsc-a", "ACME", "447700900000", f"{batch}-{n}") for n in range(50)],
                now=1.0,
            )
            print(" ".join(str(a.message_id) for a in accepted), flush=True)
        print("done", flush=True)
        time.sleep(60)  # killed here, the store still open

trio.run(main)
"""


async def test_what_accept_returned_survives_the_process_being_killed(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        lines = []
        while (line := await trio.to_thread.run_sync(child.stdout.readline)).strip() != "done":
            assert line, "the child ended early"
            lines.append(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    ids = [int(i) for line in lines for i in line.split()]
    assert len(ids) == 250
    async with open_sqlite_store(path) as store:
        assert await store.count_by_state() == {MessageState.QUEUED: 250}
        for message_id in ids:
            assert await store.get(message_id) is not None


async def test_the_file_is_in_wal_mode_with_the_chosen_synchronous(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with open_sqlite_store(path, synchronous="FULL") as store:
        assert store.name == "sqlite"
        assert await store._worker.run(
            "test", lambda c: c.execute("PRAGMA synchronous").fetchone()
        ) == (2,)
    async with open_sqlite_store(path) as store:
        assert await store._worker.run(
            "test", lambda c: c.execute("PRAGMA synchronous").fetchone()
        ) == (1,)
    with raw(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_an_unknown_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        async with open_sqlite_store(tmp_path / "s.db", synchronous="OFF"):  # type: ignore[arg-type]
            pass


async def test_an_in_memory_store_works() -> None:
    async with open_sqlite_store(":memory:") as store:
        [accepted] = await store.accept([message()], now=1.0)
        assert (await store.claim(SMSC, 5, owner="gw", now=2.0, lease=1.0))[0].message_id == (
            accepted.message_id
        )


# --- migrations ---


async def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with open_sqlite_store(path):
        pass
    async with open_sqlite_store(path):
        pass
    with raw(path) as connection:
        versions = connection.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(v,) for v in range(1, sqlite_schema.SCHEMA_VERSION + 1)]


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    async with open_sqlite_store(path):
        pass
    with raw(path) as connection:
        connection.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, 0)",
            (sqlite_schema.SCHEMA_VERSION + 1,),
        )
    with pytest.raises(MigrationError, match="schema version"):
        async with open_sqlite_store(path):
            pass


async def test_a_failing_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = (*sqlite_schema.MIGRATIONS[0], "CREATE TABLE messages (id INTEGER)")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (broken,))
    path = tmp_path / "store.db"
    with pytest.raises(MigrationError, match="migration 1 failed"):
        async with open_sqlite_store(path):
            pass
    with raw(path) as connection:
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        ).fetchall()
    assert tables == []


async def test_a_later_migration_applies_to_an_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    async with open_sqlite_store(path) as store:
        [accepted] = await store.accept([message()], now=1.0)
    second = ("CREATE TABLE extra (x INTEGER)",)
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", (*sqlite_schema.MIGRATIONS, second))
    async with open_sqlite_store(path) as store:
        assert await store.get(accepted.message_id) is not None
    with raw(path) as connection:
        assert connection.execute("SELECT max(version) FROM schema_version").fetchone() == (
            sqlite_schema.SCHEMA_VERSION + 1,
        )
        assert connection.execute("SELECT count(*) FROM extra").fetchone() == (0,)


# --- the worker thread and cancellation ---


async def hold_worker(store: SqliteStore, nursery: trio.Nursery) -> threading.Event:
    """Occupy the worker thread until the returned event is set."""
    started = threading.Event()
    release = threading.Event()

    def block(_: sqlite3.Connection) -> None:
        started.set()
        release.wait(30)

    nursery.start_soon(store._worker.run, "hold", block)
    await trio.testing.wait_all_tasks_blocked()
    while not started.is_set():  # the thread picks the job up on its own time
        await trio.sleep(0.001)
    return release


async def test_a_call_cancelled_before_it_ran_is_not_applied(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        async with trio.open_nursery() as nursery:
            release = await hold_worker(store, nursery)
            with trio.CancelScope() as scope:
                scope.cancel()
                await store.accept([message()], now=1.0)
            assert scope.cancelled_caught
            release.set()
        assert await store.count_by_state() == {}
        [accepted] = await store.accept([message()], now=2.0)  # the worker still serves
        assert await store.get(accepted.message_id) is not None


async def test_a_call_cancelled_while_running_commits_whole(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        inside = threading.Event()
        release = threading.Event()

        def slow_write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO counters (name, value) VALUES ('probe', 1)")
            inside.set()
            release.wait(30)
            c.execute("INSERT INTO counters (name, value) VALUES ('probe-2', 2)")
            c.execute("COMMIT")

        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(store._worker.run, "slow", slow_write)
                while not inside.is_set():
                    await trio.sleep(0.001)
                scope.cancel()
        assert scope.cancelled_caught  # the caller left at once, without the result
        release.set()
        stats = await store.stats()  # runs after the slow job on the same thread
        assert (stats["probe"], stats["probe-2"]) == (1, 2)


async def test_calls_run_in_the_order_they_were_made(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        order: list[int] = []

        async def call(n: int) -> None:
            await store._worker.run("order", lambda _: order.append(n))

        async with trio.open_nursery() as nursery:
            release = await hold_worker(store, nursery)
            for n in range(20):
                nursery.start_soon(call, n)
                await trio.testing.wait_all_tasks_blocked()
            release.set()
        assert order == list(range(20))


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        pass
    with pytest.raises(StoreError, match="closed") as caught:
        await store.accept([message()], now=1.0)
    assert not isinstance(caught.value, StoreUnavailableError)
    await store.aclose()


async def test_closing_finishes_the_calls_already_made(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_sqlite_store(path) as store:
        results: list[int] = []

        async def accept() -> None:
            accepted = await store.accept([message()], now=1.0)
            results.append(accepted[0].message_id)

        async with trio.open_nursery() as nursery:
            release = await hold_worker(store, nursery)
            nursery.start_soon(accept)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(store.aclose)
            await trio.testing.wait_all_tasks_blocked()
            release.set()
    assert len(results) == 1
    async with open_sqlite_store(path) as store:
        assert await store.get(results[0]) is not None


# --- errors ---


async def test_a_database_locked_by_another_process_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_sqlite_store(path, busy_timeout=0.01) as store:
        other = raw(path)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailableError, match="accept: database is locked"):
                await store.accept([message()], now=1.0)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await store.count_by_state() == {}
        await store.accept([message()], now=1.0)  # works again once the lock is gone
        assert await store.count_by_state() == {MessageState.QUEUED: 1}


async def test_a_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="open"):
        async with open_sqlite_store(tmp_path / "missing-directory" / "s.db"):
            pass


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database, not even close" * 100)
    with pytest.raises(StoreError) as caught:
        async with open_sqlite_store(path):
            pass
    assert not isinstance(caught.value, StoreUnavailableError)


def test_errors_that_waiting_cannot_heal_are_plain_store_errors() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    connection.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as integrity:
        connection.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        connection.execute("SELECT * FROM missing")
    for exc in (integrity.value, no_table.value):
        error = map_error("sqlite", "record", exc)
        assert type(error) is StoreError
        assert "record:" in str(error)


async def test_a_receipt_with_a_state_that_is_not_final_is_refused(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        with pytest.raises(ValueError, match="final part state"):
            await store.record([ReceiptArrived(SMSC, "A", PartState.SUBMITTED, 1.0)])
        with pytest.raises(ValueError, match="parts"):
            await store.accept([message(parts=0)], now=1.0)


# --- the schema does what its indexes promise ---


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT id FROM messages WHERE smsc = 'a' AND state = 'queued' AND not_before <= 1 "
            "ORDER BY priority DESC, not_before, id LIMIT 10",
            "messages_claim",
        ),
        (
            "SELECT message_id FROM message_parts WHERE smsc = 'a' "
            "AND smsc_message_id IN (SELECT value FROM json_each('[\"x\"]'))",
            "message_parts_smsc_message_id",
        ),
        (
            "SELECT id FROM messages WHERE idempotency_key IN (SELECT value FROM json_each('[]'))",
            "messages_idempotency_key",
        ),
        (
            "SELECT id FROM messages WHERE state = 'submitting' AND lease_until <= 5",
            "messages_lease",
        ),
        (
            "SELECT id FROM messages WHERE state = 'submitted' AND updated_at < 5",
            "messages_awaiting_receipt",
        ),
    ],
)
async def test_the_hot_queries_use_their_index(tmp_path: Path, query: str, index: str) -> None:
    path = tmp_path / "s.db"
    async with open_sqlite_store(path):
        pass
    with raw(path) as connection:
        plan = " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert index in plan
    assert "TEMP B-TREE" not in plan  # the order comes from the index, not a sort


async def test_a_failed_operation_is_counted_by_store_and_operation(tmp_path: Path) -> None:
    def errors() -> float:
        sample = REGISTRY.get_sample_value(
            "smpp_store_errors_total", {"store": "sqlite", "operation": "get"}
        )
        return sample or 0.0

    before = errors()
    async with open_sqlite_store(tmp_path / "s.db") as store:
        # What sqlite3 raises on a failing disk, raised by the job itself.
        def locked_get(connection: sqlite3.Connection) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        with pytest.raises(StoreError):
            await store._worker.run("get", locked_get)
    assert errors() == before + 1
