"""A graceful stop: the answers in flight come back, the binds unbind, untried claims
go back to the queue unflagged, and a restart sends the rest exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import trio

from smpp_engine.pipeline import Pipeline
from smpp_engine.store import MessageState
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running
from .test_pipeline import make_route, message, scenario, settled

MESSAGES = 1500


async def test_stop_drains_the_windows_unbinds_and_a_restart_sends_each_message_once(
    tmp_path: Path,
) -> None:
    # Every answer takes 50 ms, so the windows are full when the stop comes.
    sim_scenario = scenario(submit={"latency": 0.05})
    async with running(sim_scenario) as sim, open_sqlite_store(tmp_path / "s.db") as store:
        route = make_route(sim, window=32, claim_batch=400, binds=2)
        first = Pipeline(store, [route], owner="gw-a", housekeeping=0.2)
        async with trio.open_nursery() as nursery:
            await nursery.start(first.run)
            await first.accept([message(f"4477001{i:05d}") for i in range(MESSAGES)])
            with trio.fail_after(30):
                await settled(store, lambda c: c.get(MessageState.QUEUED, 0) < MESSAGES - 100)
            first.stop()
            # run() returns by itself: the nursery needs no cancel.
        counts = await store.count_by_state()
        sent_before = len(sim.messages(system_id="gateway"))
        assert sim.stats()["binds"] == 0  # unbound, not just dropped
        assert counts.get(MessageState.SUBMITTING, 0) == 0  # no claim left to a lease
        queued = counts.get(MessageState.QUEUED, 0)
        assert queued > 0, counts  # the stop came mid-run
        # Every message the SMSC got has its answer recorded; nothing is in doubt.
        answered = MESSAGES - queued
        assert sent_before == answered

        second = Pipeline(store, [route], owner="gw-b", housekeeping=0.2)
        async with trio.open_nursery() as nursery:
            await nursery.start(second.run)
            with trio.fail_after(60):
                await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == MESSAGES)
            second.stop()
        records = sim.messages(system_id="gateway")
        views = [await store.get(message_id) for message_id in range(1, MESSAGES + 1)]
    sent = Counter(r.destination for r in records)
    assert len(sent) == MESSAGES and max(sent.values()) == 1  # no duplicate at all
    assert not any(v is not None and v.possible_duplicate for v in views)
    released = [v for v in views if v is not None and "released" in {e.event for e in v.events}]
    assert released, "the untried claims were given back, not left to their lease"
    assert all(v.attempts == 1 for v in released)


async def test_a_stopped_route_refuses_a_hand_over_so_its_owner_releases_it(
    tmp_path: Path,
) -> None:
    async with running(scenario()) as sim, open_sqlite_store(tmp_path / "s.db") as store:
        pipeline = Pipeline(store, [make_route(sim)], owner="gw-a", housekeeping=0.2)
        async with trio.open_nursery() as nursery:
            await nursery.start(pipeline.run)
            pipeline.stop()
        await store.accept([message("447700100001")], now=1.0)
        [claimed] = await store.claim("sim", 1, owner="gw-a", now=2.0, lease=60.0)
        dispatcher = pipeline.dispatchers["sim"]
        assert not dispatcher.hand_over(claimed)
        assert len(dispatcher.lanes) == 0  # it would never be sent from there
