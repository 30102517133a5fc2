"""Routes steered while the pipeline runs, against the real simulator over loopback TCP.

A pause kept in the store stops the route claiming (the claims it held go back)
while its bind stays up and receipts still arrive; resume sends the rest. A
rebind drops the bind and binds again with messages flowing, none lost or sent
twice. Reconfiguring adds, removes and changes routes the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import trio

from smpp_engine.pipeline import Pipeline, SmscRoute
from smpp_engine.simulator import Simulator
from smpp_engine.store import MessageState, PauseStore, Store
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running
from .test_pipeline import ROUTE, make_route, message, scenario, settled


@asynccontextmanager
async def pipeline_of(
    tmp_path: Path, routes: list[SmscRoute]
) -> AsyncIterator[tuple[Pipeline, Store]]:
    async with open_sqlite_store(tmp_path / "store.db") as store, trio.open_nursery() as nursery:
        pipeline = Pipeline(store, routes, housekeeping=0.2, pause_poll=0.05)
        await nursery.start(pipeline.run)
        try:
            yield pipeline, store
        finally:
            nursery.cancel_scope.cancel()


async def until(check: Any) -> None:
    with trio.fail_after(30):
        while not check():
            await trio.sleep(0.02)


def connections(sim: Simulator) -> set[Any]:
    return {c["connection"] for c in sim.stats()["connections"] if c["state"] != "closed"}


async def test_a_paused_route_claims_nothing_keeps_its_bind_and_sends_all_on_resume(
    tmp_path: Path,
) -> None:
    # Receipts come late: the first messages are answered while the route is paused.
    slow = scenario(receipts={"delay": {"distribution": "fixed", "value": 0.5}})
    async with running(slow) as sim, pipeline_of(tmp_path, [make_route(sim)]) as (pipeline, store):
        first = await pipeline.accept([message(f"4477009{i:05d}") for i in range(5)])
        await settled(store, lambda c: c.get(MessageState.SUBMITTED, 0) == 5)
        await cast(PauseStore, store).pause_route(ROUTE, now=0.0, by="test")
        await until(lambda: pipeline.route_status()[ROUTE].paused)
        held = await pipeline.accept([message(f"4477008{i:05d}") for i in range(20)])
        # The receipts of what was sent before the pause still arrive: the bind is up.
        await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 5)
        # Several pause polls later nothing of the rest was claimed or sent.
        for _ in range(5):
            await trio.sleep(0.05)
        counts = await store.count_by_state()
        assert counts.get(MessageState.QUEUED, 0) == 20
        assert len(sim.messages(system_id="gateway")) == 5
        assert pipeline.route_status()[ROUTE].binds_up == 1
        assert await cast(PauseStore, store).resume_route(ROUTE)
        await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 25)
        sent = [r.destination for r in sim.messages(system_id="gateway")]
    assert len(sent) == len(set(sent)) == len(first) + len(held)


async def test_a_rebind_with_messages_flowing_loses_and_repeats_nothing(tmp_path: Path) -> None:
    async with (
        running(scenario()) as sim,
        pipeline_of(tmp_path, [make_route(sim, rate=200.0)]) as (pipeline, store),
    ):
        await until(lambda: len(connections(sim)) == 1)
        before = connections(sim)
        accepted = await pipeline.accept([message(f"4477009{i:05d}") for i in range(300)])
        await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) >= 20)
        pipeline.rebind(ROUTE)
        await until(lambda: (now := connections(sim)) and not now & before)
        await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 300)
        sent = [r.destination for r in sim.messages(system_id="gateway")]
        assert pipeline.route_status()[ROUTE].binds_up == 1
    assert len(sent) == len(set(sent)) == len(accepted)


async def test_reconfigured_routes_start_stop_and_restart_with_nothing_lost(
    tmp_path: Path,
) -> None:
    accounts = [
        {"system_id": name, "password": "secret"}
        for name in ("gateway", "gateway-old", "gateway-new")
    ]
    async with running(scenario(accounts=accounts)) as sim:
        main = make_route(sim, rate=200.0)
        # One [[smsc]] per SMSC account, as the settings say: an SMSC delivers a
        # receipt on any bind of the account, and a receipt is matched on the route
        # it arrives on. Sharing "gateway" made a receipt of the restarted route
        # land on "new" now and then, and its message wait for ever.
        old = make_route(sim, name="old", esme=_account(main, "gateway-old"))
        async with pipeline_of(tmp_path, [main, old]) as (pipeline, store):
            accepted = await pipeline.accept([message(f"4477009{i:05d}") for i in range(300)])
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) >= 20)
            changed = dataclasses.replace(main, esme=dataclasses.replace(main.esme, window_size=8))
            added = make_route(sim, name="new", esme=_account(main, "gateway-new"))
            # "old" is paused first, so that its queued messages are still there when it goes.
            await cast(PauseStore, store).pause_route("old", now=0.0, by="test")
            await until(lambda: pipeline.route_status()["old"].paused)
            kept = await pipeline.accept([dataclasses.replace(message("447700800001"), smsc="old")])
            before = pipeline.dispatchers[ROUTE].lease.generation
            change = pipeline.reconfigure([changed, added])
            assert change == {"added": ["new"], "removed": ["old"], "changed": [ROUTE]}
            await until(lambda: "old" not in pipeline.dispatchers)
            await until(lambda: pipeline.dispatchers[ROUTE].route == changed)
            # The new run leases under a name the old never used: what the old left
            # leased is recovered, never renewed by the new one.
            await until(lambda: pipeline.dispatchers[ROUTE].lease.generation > before)
            late = await pipeline.accept([dataclasses.replace(message("447700700001"), smsc="new")])
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 301)
            view = await store.get(kept[0].message_id)
            assert view is not None and view.state is MessageState.QUEUED
            sent = [
                r.destination
                for account in ("gateway", "gateway-new")
                for r in sim.messages(system_id=account)
            ]
            assert sim.messages(system_id="gateway-old") == []
    assert len(sent) == len(set(sent)) == len(accepted) + len(late)


def _account(route: SmscRoute, system_id: str) -> Any:
    return dataclasses.replace(route.esme, system_id=system_id)


async def test_a_pause_holds_in_every_process_on_one_postgresql(tmp_path: Path) -> None:
    """Two pipelines, each with its own connection pool as two gateway processes have,
    share one PostgreSQL: a pause made through one store holds in both."""
    from smpp_engine.store.postgres import open_postgres_store  # noqa: PLC0415

    from ..store.conftest import drop_database, fresh_database  # noqa: PLC0415

    dsn = await fresh_database()
    try:
        async with (
            running(scenario()) as sim,
            open_postgres_store(dsn) as first_store,
            open_postgres_store(dsn) as second_store,
            trio.open_nursery() as nursery,
        ):
            pipelines = [
                Pipeline(store, [make_route(sim)], owner=owner, housekeeping=0.2, pause_poll=0.1)
                for store, owner in ((first_store, "gw-a"), (second_store, "gw-b"))
            ]
            for pipeline in pipelines:
                await nursery.start(pipeline.run)
            await cast(PauseStore, first_store).pause_route(ROUTE, now=0.0, by="ops")
            await until(lambda: all(p.route_status()[ROUTE].paused for p in pipelines))
            accepted = await pipelines[1].accept([message(f"4477009{i:05d}") for i in range(10)])
            for _ in range(5):  # several polls of both: nothing is claimed
                await trio.sleep(0.1)
            counts = await second_store.count_by_state()
            assert counts.get(MessageState.QUEUED, 0) == 10
            assert sim.messages(system_id="gateway") == []
            assert await cast(PauseStore, second_store).resume_route(ROUTE)
            await until(lambda: not any(p.route_status()[ROUTE].paused for p in pipelines))
            await settled(first_store, lambda c: c.get(MessageState.DELIVERED, 0) == 10)
            sent = [r.destination for r in sim.messages(system_id="gateway")]
            nursery.cancel_scope.cancel()
    finally:
        await drop_database(dsn)
    assert len(sent) == len(set(sent)) == len(accepted)


async def test_a_route_removed_and_put_back_before_it_stopped_runs_on(tmp_path: Path) -> None:
    async with running(scenario()) as sim:
        main, spare = make_route(sim), make_route(sim, name="spare")
        async with pipeline_of(tmp_path, [main, spare]) as (pipeline, store):
            # Two reloads in a row: the second comes before "spare" has stopped.
            assert pipeline.reconfigure([main])["removed"] == ["spare"]
            assert pipeline.reconfigure([main, spare])["changed"] == ["spare"]
            await until(lambda: pipeline.dispatchers["spare"].binds_up == 1)
            accepted = await pipeline.accept(
                [dataclasses.replace(message("447700700001"), smsc="spare")]
            )
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 1)
            assert "spare" in pipeline.dispatchers
    assert len(accepted) == 1
