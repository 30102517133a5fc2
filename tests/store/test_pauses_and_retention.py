"""Paused routes and retention on both stores.

A pause is one row per route that every process reads; pausing twice keeps the
first pause. Retention purges finished messages past their age in batches,
keeps their counts by day first, and never touches a message still queued, held,
being submitted or awaiting its receipt, however old, nor one a billing notice
points to.
"""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path
from typing import cast

import asyncpg
import pytest
import trio

from smpp_engine.store import (
    DayCount,
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    PauseStore,
    ReceiptArrived,
    RetentionStore,
    Store,
    SubmitFailed,
    day_of,
    open_store,
)

from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at

DAY = 86_400.0
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
OLD = T0 - 100 * DAY


def pauses(store: Store) -> PauseStore:
    return cast(PauseStore, store)


def retention(store: Store) -> RetentionStore:
    return cast(RetentionStore, store)


async def test_a_pause_is_kept_once_and_resume_ends_it(store: Store) -> None:
    assert await pauses(store).route_pauses() == {}
    first = await pauses(store).pause_route("main", now=T0, by="ops")
    again = await pauses(store).pause_route("main", now=T0 + 5, by="cli")
    assert (first.route, first.since, first.by) == ("main", T0, "ops")
    assert again == first  # the pause in force: the first one
    await pauses(store).pause_route("backup", now=T0 + 1, by="cli")
    assert set(await pauses(store).route_pauses()) == {"main", "backup"}
    assert await pauses(store).resume_route("main")
    assert not await pauses(store).resume_route("main")
    assert list(await pauses(store).route_pauses()) == ["backup"]


async def _message(store: Store, *, at: float, parts: int = 1, smsc: str = "main") -> int:
    text = "x" * (160 * parts if parts > 1 else 10)
    (accepted,) = await store.accept(
        [NewMessage(smsc, "ACME", "447700900001", text, parts=parts)], now=at
    )
    return accepted.message_id


async def _claim(store: Store, at: float, smsc: str = "main") -> None:
    await store.claim(smsc, 100, owner="gw", now=at, lease=60)


async def _finished(store: Store, state: str, *, at: float, parts: int = 1) -> int:
    """A message accepted at ``at`` that ends in ``state`` (delivered, rejected) at once."""
    message_id = await _message(store, at=at, parts=parts)
    await _claim(store, at)
    if state == "rejected":
        await store.record([SubmitFailed(message_id, 0, 0x45, at)])
        return message_id
    smsc_ids = [f"s{message_id}-{part}" for part in range(parts)]
    await store.record(
        [PartSubmitted(message_id, part, "b0", smsc_ids[part], at, at) for part in range(parts)]
    )
    if state == "delivered":
        await store.record(
            [ReceiptArrived("main", smsc_id, PartState.DELIVERED, at) for smsc_id in smsc_ids]
        )
    return message_id


async def _purge_all(store: Store, *, older_than: float, window: int = 3) -> tuple[int, int, int]:
    """Every batch of one run; the totals of messages, parts and batches."""
    after, messages, parts, batches = 0, 0, 0, 0
    while True:
        batch = await retention(store).purge_finished(
            after_id=after, older_than=older_than, window=window
        )
        batches += 1
        messages += batch.messages
        parts += batch.parts
        if batch.next_after is None:
            return messages, parts, batches
        after = batch.next_after


async def test_finished_messages_past_their_age_go_and_their_counts_stay_by_day(
    store: Store,
) -> None:
    delivered = [await _finished(store, "delivered", at=OLD, parts=2) for _ in range(3)]
    rejected = await _finished(store, "rejected", at=OLD + DAY)
    recent = await _finished(store, "delivered", at=T0 - DAY)
    before = await store.count_by_state(smsc="main")
    assert before[MessageState.DELIVERED] == 4
    messages, parts, batches = await _purge_all(store, older_than=T0 - 30 * DAY)
    assert (messages, parts) == (4, 7)
    assert batches >= 2  # a window of 3 ids: the work went in several transactions
    for message_id in [*delivered, rejected]:
        assert await store.get(message_id) is None
    kept = await store.get(recent)
    assert kept is not None and kept.state is MessageState.DELIVERED
    assert await retention(store).message_days() == [
        DayCount(day_of(OLD), "main", "delivered", 3, 6),
        DayCount(day_of(OLD + DAY), "main", "rejected", 1, 1),
    ]
    assert await retention(store).message_days(since=day_of(OLD + DAY)) == [
        DayCount(day_of(OLD + DAY), "main", "rejected", 1, 1),
    ]
    after = await store.count_by_state(smsc="main")
    assert after.get(MessageState.DELIVERED, 0) == 1
    assert after.get(MessageState.REJECTED, 0) == 0
    # A second run finds nothing more; the day counts are not added twice.
    assert (await _purge_all(store, older_than=T0 - 30 * DAY))[:2] == (0, 0)
    (first, _) = await retention(store).message_days()
    assert first.messages == 3


async def test_a_message_not_finished_is_never_purged_however_old(store: Store) -> None:
    queued = await _message(store, at=OLD, smsc="idle")
    submitting = await _message(store, at=OLD)
    await _claim(store, OLD)
    awaiting = await _finished(store, "submitted", at=OLD)
    # A message finished recently, though accepted long ago, stays too.
    late = await _message(store, at=OLD, smsc="late")
    await _claim(store, OLD, smsc="late")
    await store.record([SubmitFailed(late, 0, 0x45, T0 - DAY)])
    assert (await _purge_all(store, older_than=T0 - 30 * DAY))[:2] == (0, 0)
    states = {
        message_id: view.state
        for message_id in (queued, submitting, awaiting, late)
        if (view := await store.get(message_id)) is not None
    }
    assert states == {
        queued: MessageState.QUEUED,
        submitting: MessageState.SUBMITTING,
        awaiting: MessageState.SUBMITTED,
        late: MessageState.REJECTED,
    }
    assert await retention(store).message_days() == []


async def test_a_message_a_billing_notice_points_to_is_kept(store: Store, tmp_path: Path) -> None:
    proof = await _finished(store, "delivered", at=OLD)
    other = await _finished(store, "delivered", at=OLD)
    await _link_notice(store, tmp_path, proof)
    assert (await _purge_all(store, older_than=T0 - 30 * DAY))[:2] == (1, 1)
    assert await store.get(proof) is not None
    assert await store.get(other) is None


async def _link_notice(store: Store, tmp_path: Path, message_id: int) -> None:
    """A billing notice row pointing at ``message_id``, written as the notices run does."""
    # Only the column retention reads matters; the notice's other columns are NOT NULL
    # text and numbers, filled with placeholders.
    columns = await _notice_columns(store, tmp_path)
    values = {name: _placeholder(kind) for name, kind in columns.items()}
    values["message_id"] = message_id
    values.pop("id", None)
    names = ", ".join(values)
    if store.name == "sqlite":
        marks = ", ".join("?" for _ in values)

        def write(c: sqlite3.Connection) -> None:
            c.execute("PRAGMA foreign_keys = OFF")
            c.execute(
                f"INSERT INTO billing_notices ({names}) VALUES ({marks})", list(values.values())
            )
            c.commit()

        await store._worker.run("test", write)  # type: ignore[attr-defined]
        return
    marks = ", ".join(f"${n + 1}" for n in range(len(values)))

    async def insert() -> None:
        async with store._pool.acquire() as connection:  # type: ignore[attr-defined]
            await connection.execute("SET session_replication_role = replica")
            await connection.execute(
                f"INSERT INTO billing_notices ({names}) VALUES ({marks})", *values.values()
            )

    await store._run("test", insert)  # type: ignore[attr-defined]


async def _notice_columns(store: Store, tmp_path: Path) -> dict[str, str]:
    if store.name == "sqlite":

        def read(c: sqlite3.Connection) -> dict[str, str]:
            rows = c.execute("PRAGMA table_info(billing_notices)").fetchall()
            return {row[1]: row[2].lower() for row in rows if row[3] or row[1] == "id"}

        return await store._worker.run("test", read)  # type: ignore[attr-defined,no-any-return]

    async def fetch() -> dict[str, str]:
        async with store._pool.acquire() as connection:  # type: ignore[attr-defined]
            rows = await connection.fetch(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'billing_notices' AND is_nullable = 'NO' "
                "AND column_default IS NULL"
            )
            return {row["column_name"]: row["data_type"] for row in rows}

    return await store._run("test", fetch)  # type: ignore[attr-defined,no-any-return]


def _placeholder(kind: str) -> object:
    if "int" in kind:
        return 1
    if "double" in kind or "real" in kind:
        return T0
    if "numeric" in kind:
        return 0
    if "bool" in kind:
        return False
    if kind == "date":
        return datetime.date(2027, 1, 1)
    if "timestamp" in kind:
        return datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    return "x"


#: The schema just before route pauses and retention's day counts.
PREVIOUS = 10
POSTGRES_PREVIOUS = 11


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_database_of_the_previous_schema_opens_and_pauses_and_purges(
    kind: str, tmp_path: Path
) -> None:
    async with store_url_of(kind, tmp_path) as url:
        if kind == "sqlite":
            await trio.to_thread.run_sync(_sqlite_previous, tmp_path / "store.db")
        else:
            await _postgres_previous(url)
        async with open_store(url) as store:
            finished = await _finished(store, "delivered", at=OLD)
            assert (await _purge_all(store, older_than=T0 - 30 * DAY))[:2] == (1, 1)
            assert await store.get(finished) is None
            await pauses(store).pause_route("main", now=T0, by="ops")
            assert list(await pauses(store).route_pauses()) == ["main"]


def _sqlite_previous(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, PREVIOUS)
    finally:
        connection.close()


async def _postgres_previous(dsn: str) -> None:
    def write() -> None:
        import asyncio  # noqa: PLC0415

        async def run() -> None:
            connection = await asyncpg.connect(dsn)
            try:
                await postgres_schema_at(connection, POSTGRES_PREVIOUS)
            finally:
                await connection.close()

        asyncio.run(run())

    await trio.to_thread.run_sync(write)
