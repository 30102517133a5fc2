"""Routing in the store, on both backends: a message keeps its rule and plan, and moves
to the next route of its plan (fail_over for waiting ones, Rerouted for claimed ones)
with its id, parts and SMSC ids; each receipt still finds its part."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import trio

from smpp_engine.store import (
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    Rerouted,
    Store,
    SubmitFailed,
    open_store,
)

from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at

A, B, C = "route-a", "route-b", "route-c"
LEASE = 30.0


#: The schema just before the routing columns.
SQLITE_BEFORE_ROUTING = 11
POSTGRES_BEFORE_ROUTING = 12


def _message(n: int, plan: tuple[str, ...] = (A, B), **fields: object) -> NewMessage:
    values: dict[str, object] = {
        "smsc": plan[0] if plan else A,
        "source": "ACME",
        "destination": f"44770090{n:04d}",
        "text": f"message {n}",
        "route_rule": "shared" if plan else None,
        "route_plan": plan,
    }
    values.update(fields)
    return NewMessage(**values)  # type: ignore[arg-type]


async def _accept(store: Store, *messages: NewMessage, now: float = 1.0) -> list[int]:
    return [a.message_id for a in await store.accept(list(messages), now=now)]


async def test_a_message_keeps_its_rule_and_plan(store: Store) -> None:
    [routed, plain] = await _accept(store, _message(1, (A, B, C)), _message(2, ()))
    view = await store.get(routed)
    assert view is not None
    assert (view.smsc, view.route_rule, view.route_plan) == (A, "shared", (A, B, C))
    view = await store.get(plain)
    assert view is not None
    assert (view.route_rule, view.route_plan) == (None, ())
    claimed = await store.claim(A, 10, owner="o", now=2.0, lease=LEASE)
    assert {c.message_id: c.route_plan for c in claimed} == {routed: (A, B, C), plain: ()}


async def test_fail_over_moves_waiting_messages_whose_plan_goes_on(store: Store) -> None:
    ids = await _accept(
        store,
        _message(1, (A, B)),
        _message(2, (A, C, B)),
        _message(3, (A,)),  # one route: never moves
        _message(4, ()),  # no routing table: never moves
        _message(5, (B, A)),  # A is its last route
        _message(6, (A, B), not_before=500.0),  # waits for its time, on the new route
    )
    last_on_a = await _accept(store, _message(7, (B, A), smsc=A))
    moved = await store.fail_over(A, now=10.0, reason="no bind for 30 s")
    assert moved == {B: 2, C: 1}
    on = {}
    for message_id in [*ids, *last_on_a]:
        view = await store.get(message_id)
        assert view is not None
        on[message_id] = view.smsc
        assert view.state is MessageState.QUEUED
    assert [on[i] for i in ids] == [B, C, A, A, B, B]
    assert on[last_on_a[0]] == A
    first = await store.get(ids[0])
    assert first is not None
    assert first.events[-1].event == "rerouted"
    assert first.events[-1].detail == f"{A} -> {B} reason=no bind for 30 s"
    assert (await store.count_by_state(smsc=A)).get(MessageState.QUEUED) == 3
    assert (await store.count_by_state(smsc=B)).get(MessageState.QUEUED) == 3
    assert (await store.count_by_state(smsc=C)).get(MessageState.QUEUED) == 1
    # Nothing left to move; claimed messages are their holder's to move.
    assert await store.fail_over(A, now=11.0, reason="again") == {}
    claimed = await store.claim(B, 10, owner="o", now=12.0, lease=LEASE)
    # The one moved and the one that was on B; the sixth waits for its not_before.
    assert {c.message_id for c in claimed} == {ids[0], ids[4]}


async def test_fail_over_takes_at_most_the_limit(store: Store) -> None:
    await _accept(store, *(_message(n) for n in range(5)))
    assert await store.fail_over(A, now=2.0, reason="r", limit=3) == {B: 3}
    assert await store.fail_over(A, now=2.0, reason="r", limit=3) == {B: 2}


async def test_a_claimed_message_refused_elsewhere_moves_with_its_parts(store: Store) -> None:
    """Part 0 taken by A, part 1 refused "not over this bind": it goes on on B with part 1
    only, and each part's receipt comes from the SMSC that took it."""
    [message_id] = await _accept(store, _message(1, (A, B), parts=2))
    [claimed] = await store.claim(A, 10, owner="o", now=2.0, lease=LEASE)
    assert claimed.pending_parts == (0, 1)
    await store.record(
        [
            PartSubmitted(message_id, 0, "a-1", "A-0", 2.0, 2.1, A),
            SubmitFailed(message_id, 1, 0x04, 2.2, retry_at=2.2),
            Rerouted(message_id, A, B, 2.2, "command_status=0x00000004"),
        ]
    )
    view = await store.get(message_id)
    assert view is not None
    assert (view.smsc, view.state) == (B, MessageState.QUEUED)
    assert view.events[-1].detail == f"{A} -> {B} reason=command_status=0x00000004"
    assert await store.claim(A, 10, owner="o", now=3.0, lease=LEASE) == []
    [again] = await store.claim(B, 10, owner="o", now=3.0, lease=LEASE)
    assert (again.message_id, again.pending_parts, again.smsc) == (message_id, (1,), B)
    await store.record(
        [
            PartSubmitted(message_id, 1, "b-1", "B-1", 3.0, 3.1, B),
            ReceiptArrived(B, "B-1", PartState.DELIVERED, 4.0),
            ReceiptArrived(A, "A-0", PartState.DELIVERED, 5.0),
        ]
    )
    view = await store.get(message_id)
    assert view is not None
    assert view.state is MessageState.DELIVERED
    assert [p.smsc_message_id for p in view.part_views] == ["A-0", "B-1"]
    assert (await store.stats()).get("orphan_updates", 0) == 0
    assert (await store.count_by_state(smsc=B)).get(MessageState.DELIVERED) == 1
    assert not (await store.count_by_state(smsc=A)).get(MessageState.SUBMITTING)


async def test_a_part_refused_on_one_route_and_taken_by_the_next_carries_the_next(
    store: Store,
) -> None:
    [message_id] = await _accept(store, _message(1, (A, B)))
    await store.claim(A, 10, owner="o", now=2.0, lease=LEASE)
    await store.record(
        [SubmitFailed(message_id, 0, 0x04, 2.0, retry_at=2.0), Rerouted(message_id, A, B, 2.0, "r")]
    )
    await store.claim(B, 10, owner="o", now=3.0, lease=LEASE)
    # The receipt may even beat its submit_sm_resp: it is held under B, then applied.
    await store.record([ReceiptArrived(B, "B-0", PartState.DELIVERED, 3.05)])
    await store.record([PartSubmitted(message_id, 0, "b-1", "B-0", 3.0, 3.1, B)])
    view = await store.get(message_id)
    assert view is not None
    assert view.state is MessageState.DELIVERED


async def test_rerouted_leaves_a_message_moved_or_answered_meanwhile(store: Store) -> None:
    [moved, sent] = await _accept(store, _message(1, (A, B, C)), _message(2, (A, B)))
    await store.claim(A, 10, owner="o", now=2.0, lease=LEASE)
    await store.record(
        [
            Rerouted(moved, A, B, 2.0, "first"),
            Rerouted(moved, A, C, 2.1, "second"),  # already on B: stays
            PartSubmitted(sent, 0, "a-1", "A-9", 2.0, 2.1, A),
            Rerouted(sent, A, B, 2.2, "late"),  # submitted: stays
        ]
    )
    first = await store.get(moved)
    second = await store.get(sent)
    assert first is not None and second is not None
    assert first.smsc == B
    assert first.events[-1].event == "reroute_skipped"
    assert (second.smsc, second.state) == (A, MessageState.SUBMITTED)
    assert second.events[-1].event == "reroute_skipped"


# --- a database of the schema before routing opens and goes on ----------------------

_ROW = (
    "INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton, "
    "dest_npi, text, parts, priority, registered_delivery, not_before, state, attempts, "
    "created_at, updated_at) VALUES (1, 'route-a', 'ACME', 5, 0, '447700900001', 1, 1, "
    "'old', 1, 0, {true}, 0, 'queued', 0, 1, 1)"
)


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, SQLITE_BEFORE_ROUTING)
        connection.execute(_ROW.format(true=1))
        connection.execute("INSERT INTO state_counts VALUES ('route-a', 'queued', 1)")
        connection.execute("INSERT INTO counters VALUES ('last_message_id', 1)")
    finally:
        connection.close()


async def _postgres_before(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await postgres_schema_at(connection, POSTGRES_BEFORE_ROUTING)
        await connection.execute(_ROW.format(true="true"))
        await connection.execute("SELECT setval('messages_id_seq', 1)")
        await connection.execute(
            "INSERT INTO state_count_changes (smsc, state, delta) VALUES ('route-a', 'queued', 1)"
        )
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_routing(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with store_url_of(request.param, tmp_path) as url:
        if request.param == "sqlite":
            _sqlite_before(tmp_path / "store.db")
        else:
            await trio.to_thread.run_sync(lambda: asyncio.run(_postgres_before(url)))
        yield url


async def test_a_database_before_routing_opens_and_goes_on(before_routing: str) -> None:
    async with open_store(before_routing) as store:
        old = await store.get(1)
        assert old is not None
        assert (old.route_rule, old.route_plan) == (None, ())
        assert await store.fail_over(A, now=2.0, reason="r") == {}
        [new] = await _accept(store, _message(2, (A, B)), now=2.0)
        assert await store.fail_over(A, now=3.0, reason="r") == {B: 1}
        [claimed] = await store.claim(A, 10, owner="o", now=4.0, lease=LEASE)
        assert (claimed.message_id, claimed.route_plan) == (1, ())
        assert new != 1
