"""Faults stay with their message: the route and the process go on.

A real SQLite store and the real simulator over loopback. The poison messages
are put in the store directly, as a release without the checks at the door (or
a hand-edited row) would have left them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from prometheus_client import REGISTRY

from smpp_engine.pipeline import Pipeline
from smpp_engine.simulator import Simulator
from smpp_engine.store import ClaimedMessage, MessageState, NewMessage, Store
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running
from .test_pipeline import ROUTE, make_route, message, scenario, settled


def poison_count(stage: str) -> float:
    value = REGISTRY.get_sample_value(
        "smpp_pipeline_poison_messages_total", {"smsc": ROUTE, "stage": stage}
    )
    return value or 0.0


@asynccontextmanager
async def pipeline_on(store: Store, sim: Simulator, **kw: Any) -> AsyncIterator[Pipeline]:
    async with trio.open_nursery() as nursery:
        pipeline = Pipeline(store, [make_route(sim)], housekeeping=0.2, **kw)
        await nursery.start(pipeline.run)
        try:
            yield pipeline
        finally:
            nursery.cancel_scope.cancel()


async def test_a_message_that_cannot_be_encoded_fails_alone(tmp_path: Path) -> None:
    """``ACME€`` passes as GSM but no C-octet string carries it: it used to end the process."""
    good = [message(f"44770090{i:04d}") for i in range(10)]
    bad_sender = NewMessage(smsc=ROUTE, source="ACME€", destination="447700900500", text="Hi")
    # Stored as one part, but this route splits it in two: the parts would not join.
    bad_text = NewMessage(smsc=ROUTE, source="ACME", destination="447700900501", text="x" * 200)
    before = {stage: poison_count(stage) for stage in ("build", "encode")}
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "store.db") as store,
        pipeline_on(store, sim),
    ):
        accepted = await store.accept([*good[:5], bad_sender, bad_text, *good[5:]], now=1.0)
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 10)
            await settled(store, lambda c: c.get(MessageState.REJECTED, 0) == 2)
        sender_view = await store.get(accepted[5].message_id)
        text_view = await store.get(accepted[6].message_id)
        assert len(sim.messages(system_id="gateway")) == 10
    assert sender_view is not None and text_view is not None
    assert sender_view.state is MessageState.REJECTED
    assert sender_view.error_code == 0x0A  # ESME_RINVSRCADR: the encoder's verdict
    assert "source_addr" in sender_view.events[-1].detail
    assert "reason=" in sender_view.events[-1].detail
    assert text_view.state is MessageState.REJECTED
    assert text_view.error_code == 0x01  # ESME_RINVMSGLEN
    assert "PartCountError" in text_view.events[-1].detail
    assert poison_count("encode") == before["encode"] + 1
    assert poison_count("build") == before["build"] + 1


class FailingStore:
    """A real store whose claim fails ``failures`` times with an unexpected fault."""

    def __init__(self, store: Store, failures: int) -> None:
        self._store = store
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim(self, *args: Any, **kw: Any) -> Sequence[ClaimedMessage]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a fault nobody planned for")
        return await self._store.claim(*args, **kw)


async def test_a_route_whose_task_fails_starts_again_and_says_so(tmp_path: Path) -> None:
    restarts = (
        REGISTRY.get_sample_value("smpp_pipeline_route_restarts_total", {"smsc": ROUTE}) or 0.0
    )
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "store.db") as real,
    ):
        store = FailingStore(real, failures=2)
        async with pipeline_on(
            store,  # type: ignore[arg-type]
            sim,
            restart_delay=0.05,
            restart_max_delay=0.1,
        ) as pipeline:
            accepted = await pipeline.accept([message(f"44770091{i:04d}") for i in range(5)])
            with trio.fail_after(30):
                await settled(real, lambda c: c.get(MessageState.DELIVERED, 0) == 5)
            status = pipeline.route_status()[ROUTE]
            assert status.restarts == 2
            assert not status.restarting
            assert status.last_error == "RuntimeError: a fault nobody planned for"
            assert status.binds_up == 1
            assert status.failover_after == pipeline.dispatchers[ROUTE].route.failover_after
            # The route still takes new work after its restarts.
            more = await pipeline.accept([message("447700919999")])
            with trio.fail_after(30):
                await settled(real, lambda c: c.get(MessageState.DELIVERED, 0) == 6)
    assert len(accepted) == 5 and len(more) == 1
    after = REGISTRY.get_sample_value("smpp_pipeline_route_restarts_total", {"smsc": ROUTE})
    assert after == restarts + 2


async def test_a_stop_during_the_pause_before_a_restart_ends_the_route(tmp_path: Path) -> None:
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "store.db") as real,
        trio.open_nursery() as nursery,
    ):
        store = FailingStore(real, failures=1)
        pipeline = Pipeline(
            store,  # type: ignore[arg-type]
            [make_route(sim)],
            restart_delay=60.0,
            restart_max_delay=60.0,
        )
        await nursery.start(pipeline.run)
        with trio.fail_after(10):
            while not pipeline.route_status()[ROUTE].restarting:
                await trio.sleep(0.01)
            pipeline.stop()
            nursery.cancel_scope.deadline = trio.current_time() + 10
    assert not nursery.cancel_scope.cancelled_caught  # run() returned by itself
    assert not pipeline.route_status()[ROUTE].restarting


async def test_a_suspect_goes_out_alone_and_its_answer_ends_its_run(tmp_path: Path) -> None:
    """A message in flight at an unclean stop is sent on its own; once answered it is clean."""
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "store.db") as store,
    ):
        [suspect] = await store.accept([message("447700920000")], now=1.0)
        others = await store.accept([message(f"44770092{i:04d}") for i in range(1, 30)], now=1.0)
        # A process claimed it, marked it dispatched and died.
        from smpp_engine.store import Dispatching  # noqa: PLC0415

        await store.claim(ROUTE, 1, owner="dead", now=1.0, lease=1.0)
        await store.record([Dispatching((suspect.message_id,))])
        async with pipeline_on(store, sim):
            with trio.fail_after(30):
                await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 30)
        view = await store.get(suspect.message_id)
        claimed = await store.claim(ROUTE, 1, owner="x", now=1e12, lease=1.0)
    assert view is not None and view.possible_duplicate
    assert any(e.event == "lease_expired" for e in view.events)
    assert claimed == [] and len(others) == 29
