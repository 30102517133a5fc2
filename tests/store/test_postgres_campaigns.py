"""What only PostgreSQL must get right about campaigns: state changes racing other writers.

A state change locks the campaign row, then moves the messages; whatever would
queue a message of the campaign meanwhile locks the row shared and so waits,
then reads the new state. The admin connection plays the other side of each
race, holding its transaction open until the store is seen waiting on it.
"""

from __future__ import annotations

from functools import partial

import trio

from smpp_engine.store import (
    MessageState,
    NewCampaign,
    NewMessage,
    SubmitFailed,
)
from smpp_engine.store.campaigns.postgres import _COUNT_BY_STATE
from smpp_engine.store.postgres import PostgresStore, open_postgres_store

from .test_postgres import Admin, admin_connection

SMSC = "smsc-a"

_WAITING_ON_A_LOCK = (
    "SELECT count(*) = 1 FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def message(n: int) -> NewMessage:
    return NewMessage(smsc=SMSC, source="WATERCO", destination=f"4477009{n:05d}", text="t")


async def running_campaign(store: PostgresStore) -> int:
    created = await store.create_campaign(
        NewCampaign("c", SMSC, "WATERCO", "hello", "bulk", 10.0, None, "{}"), now=1.0
    )
    await store.set_campaign_state(created.campaign_id, "running", now=1.0)
    return created.campaign_id


async def state_of(store: PostgresStore, message_id: int) -> MessageState:
    found = await store.get(message_id)
    assert found is not None
    return found.state


async def pause_behind_the_store(admin: Admin, campaign_id: int) -> None:
    """Commit a pause the admin began (row locked) once the store waits for it."""
    await admin.wait_until(_WAITING_ON_A_LOCK)
    await admin.execute("UPDATE campaigns SET state = 'paused' WHERE id = $1", campaign_id)
    await admin.execute("COMMIT")


async def test_a_retry_racing_a_pause_waits_and_is_held(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        campaign_id = await running_campaign(store)
        [accepted] = await store.add_campaign_messages(campaign_id, [message(1)], now=1.0)
        await store.claim(SMSC, 10, owner="gw", now=2.0, lease=30.0)
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        retry = SubmitFailed(accepted.message_id, 0, 0x58, at=3.0, retry_at=10.0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.record, [retry])
            await pause_behind_the_store(admin, campaign_id)
        assert await state_of(store, accepted.message_id) is MessageState.HELD


async def test_a_recovery_racing_a_pause_waits_and_holds(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        campaign_id = await running_campaign(store)
        [accepted] = await store.add_campaign_messages(campaign_id, [message(1)], now=1.0)
        await store.claim(SMSC, 10, owner="gw", now=2.0, lease=30.0)
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(store.recover, now=100.0))
            await pause_behind_the_store(admin, campaign_id)
        assert await state_of(store, accepted.message_id) is MessageState.HELD


async def test_messages_added_while_a_pause_runs_are_held(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        campaign_id = await running_campaign(store)
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        added: list[int] = []

        async def add() -> None:
            accepted = await store.add_campaign_messages(campaign_id, [message(1)], now=3.0)
            added.extend(a.message_id for a in accepted)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(add)
            await pause_behind_the_store(admin, campaign_id)
        assert await state_of(store, added[0]) is MessageState.HELD
        assert await store.claim(SMSC, 10, owner="gw", now=100.0, lease=30.0) == []


async def test_a_pause_waits_for_messages_being_added_and_holds_them(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        campaign_id = await running_campaign(store)
        # The admin plays an add in progress: campaign locked shared, a message
        # inserted, not committed yet.
        await admin.execute("BEGIN")
        await admin.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR SHARE", campaign_id)
        message_id = await admin.value(
            "INSERT INTO messages (smsc, source, source_ton, source_npi, destination, dest_ton,"
            " dest_npi, text, parts, priority, registered_delivery, not_before, campaign_id,"
            " state, created_at, updated_at)"
            " VALUES ($1, 'S', 5, 0, 'D', 1, 1, 't', 1, 0, true, 0, $2, 'queued', 0, 0)"
            " RETURNING id",
            SMSC,
            campaign_id,
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(store.set_campaign_state, campaign_id, "paused", now=5.0))
            await admin.wait_until(_WAITING_ON_A_LOCK)
            await admin.execute("COMMIT")
        assert await state_of(store, message_id) is MessageState.HELD


async def test_campaign_stats_read_the_campaign_index_not_the_table(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        campaign_id = await running_campaign(store)
        # Many messages, few of them the campaign's: a scan would read them all.
        await admin.execute(
            "INSERT INTO messages (smsc, source, source_ton, source_npi, destination, dest_ton,"
            " dest_npi, text, parts, priority, registered_delivery, not_before, campaign_id,"
            " state, created_at, updated_at)"
            " SELECT $1, 'S', 5, 0, 'D', 1, 1, 't', 1, 0, true, 0,"
            "  CASE WHEN n % 50 = 0 THEN $2::bigint END, 'queued', 0, 0"
            " FROM generate_series(1, 50000) AS n",
            SMSC,
            campaign_id,
        )
        await admin.execute("ANALYZE messages")
        rows = await admin.bridge.call(
            admin.connection.fetch, f"EXPLAIN {_COUNT_BY_STATE}", campaign_id
        )
        plan = " ".join(row[0] for row in rows)
        assert "messages_campaign" in plan
        assert "Seq Scan" not in plan
        stats = await store.campaign_stats(campaign_id)
        assert stats.by_state == {MessageState.QUEUED: 1000}
