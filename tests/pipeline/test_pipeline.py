"""The pipeline end to end: a real SQLite store, the real simulator over loopback TCP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
from prometheus_client import REGISTRY

from smpp_engine.esme import EsmeConfig
from smpp_engine.pipeline import Pipeline, RetryPolicy, SmscRoute, SubmitOptions, ValidityForm
from smpp_engine.protocol import CommandStatus, parse_smpp_time, plan_text
from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import MessageState, NewMessage, Store
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running

ROUTE = "sim"


def scenario(**sections: Any) -> Any:
    return parse_scenario(
        {"accounts": [{"system_id": "gateway", "password": "secret"}], **sections}
    )


def make_route(sim: Simulator, **overrides: Any) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=sim.port,
        system_id="gateway",
        password="secret",
        window_size=overrides.pop("window", 32),
        response_timeout=5.0,
        enquire_link_interval=None,
    )
    fields: dict[str, Any] = {"name": ROUTE, "esme": esme, "lease": 10.0}
    fields.update(overrides)
    return SmscRoute(**fields)


def message(
    destination: str, text: str = "Your payment of 25.00 EUR is received", **kw: Any
) -> NewMessage:
    return NewMessage(
        smsc=ROUTE,
        source="ACME",
        destination=destination,
        text=text,
        parts=plan_text(text).parts,
        **kw,
    )


@asynccontextmanager
async def pipeline_on(
    tmp_path: Path, sim: Simulator, **route: Any
) -> AsyncIterator[tuple[Pipeline, Store]]:
    async with open_sqlite_store(tmp_path / "store.db") as store, trio.open_nursery() as nursery:
        pipeline = Pipeline(store, [make_route(sim, **route)], housekeeping=0.2)
        await nursery.start(pipeline.run)
        try:
            yield pipeline, store
        finally:
            nursery.cancel_scope.cancel()


async def settled(
    store: Store, until: Callable[[Mapping[MessageState, int]], bool], *, within: float = 120
) -> Mapping[MessageState, int]:
    """The store's counts once ``until`` holds; a test that never gets there fails after
    ``within`` seconds, showing the counts, instead of hanging the run."""
    counts: Mapping[MessageState, int] = {}
    try:
        with trio.fail_after(within):
            while True:
                counts = await store.count_by_state()
                if until(counts):
                    return counts
                await trio.sleep(0.02)
    except trio.TooSlowError:
        raise AssertionError(f"the store never got there; its counts: {dict(counts)}") from None


async def test_messages_short_and_long_are_delivered_and_the_store_knows_each_part(
    tmp_path: Path,
) -> None:
    long_text = "Debt notice: 123.45 EUR is due on 15 December; pay to avoid a penalty. " * 6
    async with running(scenario()) as sim, pipeline_on(tmp_path, sim) as (pipeline, store):
        batch = [message(f"44770090{i:04d}") for i in range(20)]
        batch.append(message("447700909999", long_text))
        accepted = await pipeline.accept(batch)
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 21)
        views = [await store.get(a.message_id) for a in accepted]
        records = sim.messages(system_id="gateway")
    parts = plan_text(long_text).parts
    assert parts >= 3
    assert len(records) == 20 + parts
    long_view = views[-1]
    assert long_view is not None and long_view.parts == parts
    smsc_ids = {p.smsc_message_id for p in long_view.part_views}
    assert smsc_ids == {r.message_id for r in records if r.destination == "447700909999"}
    assert all(p.state.value == "delivered" for p in long_view.part_views)
    events = [e.event for e in long_view.events]
    assert events[0] == "accepted"


async def test_a_permanent_error_rejects_at_once(tmp_path: Path) -> None:
    sim_scenario = scenario(submit={"prefixes": {"4479990": "ESME_RINVDSTADR"}})
    async with running(sim_scenario) as sim, pipeline_on(tmp_path, sim) as (pipeline, store):
        (bad,) = await pipeline.accept([message("447999000001")])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.REJECTED, 0) == 1)
        view = await store.get(bad.message_id)
    assert view is not None
    assert view.error_code == CommandStatus.ESME_RINVDSTADR
    assert view.attempts == 1


async def test_a_transient_error_is_retried_then_given_up(tmp_path: Path) -> None:
    sim_scenario = scenario(submit={"prefixes": {"4479990": "ESME_RSYSERR"}})
    retry = RetryPolicy(first_delay=0.05, max_delay=0.1, max_attempts=3)
    async with (
        running(sim_scenario) as sim,
        pipeline_on(tmp_path, sim, retry=retry) as (pipeline, store),
    ):
        (flaky,) = await pipeline.accept([message("447999000001")])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.REJECTED, 0) == 1)
        view = await store.get(flaky.message_id)
    assert view is not None
    assert view.attempts == 3
    assert view.error_code == CommandStatus.ESME_RSYSERR


async def test_an_undeliverable_receipt_settles_the_message(tmp_path: Path) -> None:
    sim_scenario = scenario(receipts={"prefixes": {"4479991": "UNDELIV"}})
    async with running(sim_scenario) as sim, pipeline_on(tmp_path, sim) as (pipeline, store):
        good, bad = await pipeline.accept([message("447700900001"), message("447999100001")])
        with trio.fail_after(30):
            await settled(
                store,
                lambda c: (
                    sum(c.values())
                    == sum(
                        c.get(s, 0) for s in (MessageState.DELIVERED, MessageState.UNDELIVERABLE)
                    )
                ),
            )
        good_view = await store.get(good.message_id)
        bad_view = await store.get(bad.message_id)
    assert good_view is not None and good_view.state is MessageState.DELIVERED
    assert bad_view is not None and bad_view.state is MessageState.UNDELIVERABLE


async def test_a_message_past_its_validity_is_never_sent(tmp_path: Path) -> None:
    async with running(scenario()) as sim, pipeline_on(tmp_path, sim) as (pipeline, store):
        (stale,) = await pipeline.accept([message("447700900001", expires_at=time.time() - 1)])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.EXPIRED, 0) == 1)
        records = sim.messages(system_id="gateway")
    assert records == []
    assert stale.message_id > 0


async def test_the_route_tells_the_smsc_the_messages_validity(tmp_path: Path) -> None:
    options = SubmitOptions(validity=ValidityForm.ABSOLUTE)
    expires_at = float(int(time.time()) + 3600)  # whole seconds: SMPP keeps tenths
    async with (
        running(scenario()) as sim,
        pipeline_on(tmp_path, sim, submit_options=options) as (pipeline, store),
    ):
        await pipeline.accept([message("447700900001", expires_at=expires_at)])
        await pipeline.accept([message("447700900002")])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 2)
        records = sim.messages(system_id="gateway")
    periods = {r.pdu.destination_addr: r.pdu.validity_period for r in records}
    told = parse_smpp_time(periods["447700900001"], datetime.now(UTC))
    assert told is not None and told.timestamp() == expires_at
    assert periods["447700900002"] == ""  # no expiry: the SMSC's own default


async def test_an_interactive_reply_overtakes_queued_bulk(tmp_path: Path) -> None:
    bulk = [message(f"44770090{i:04d}", priority=0) for i in range(150)]
    reply = message("447700999999", "Your new balance is 12.30 EUR", priority=2)
    async with (
        running(scenario()) as sim,
        pipeline_on(tmp_path, sim, rate=100.0, window=4) as (pipeline, store),
    ):
        await pipeline.accept(bulk)
        with trio.fail_after(30):
            while len(sim.messages(system_id="gateway")) < 10:  # bulk is flowing
                await trio.sleep(0.01)
        await pipeline.accept([reply])
        # What the SMSC had when the reply was durable (a loaded machine sends more
        # than 10 while the accept runs): the reply may only follow those.
        sent_by_then = len(sim.messages(system_id="gateway"))
        with trio.fail_after(60):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 151)
        order = [r.destination for r in sim.messages(system_id="gateway")]
    # At 100 segments/s the bulk takes 1.5 s; the reply goes out within the window
    # of what was already in flight or paced, not behind the remaining bulk.
    position = order.index("447700999999")
    assert position < sent_by_then + 4 + 32, (position, sent_by_then)


async def test_smsc_throttling_cuts_the_rate_and_every_message_still_goes(tmp_path: Path) -> None:
    from prometheus_client import REGISTRY  # noqa: PLC0415

    sim_scenario = scenario(throttle={"tps": 20, "burst": 5})
    retry = RetryPolicy(first_delay=0.05, max_delay=0.2, throttled_delay=0.05, max_attempts=50)
    async with (
        running(sim_scenario) as sim,
        pipeline_on(tmp_path, sim, rate=200.0, retry=retry) as (pipeline, store),
    ):
        await pipeline.accept([message(f"44770090{i:04d}") for i in range(60)])
        with trio.fail_after(60):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 60)
        records = sim.messages(system_id="gateway")
    rate = REGISTRY.get_sample_value("smpp_rate_limit_segments_per_second", {"smsc": ROUTE})
    assert rate is not None and rate < 200.0  # the controller backed off from the ceiling
    assert len(records) == 60  # throttled submits were not accepted, so no duplicates


async def test_mo_messages_reach_the_consumer_whole_and_are_acknowledged_by_it(
    tmp_path: Path,
) -> None:
    from smpp_engine.pipeline import MoMessage  # noqa: PLC0415

    taken: list[MoMessage] = []
    got = trio.Event()

    def consumer(message: MoMessage) -> None:
        taken.append(message)
        if len(taken) == 3:
            got.set()

    long_text = "ПОКАЗАНИЯ 12345 день 4521,7 ночь 1200,3 спасибо за напоминание " * 2
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "mo.db") as store,
        trio.open_nursery() as nursery,
    ):
        pipeline = Pipeline(store, [make_route(sim)], on_mo=consumer)
        await nursery.start(pipeline.run)
        while not sim.stats()["binds"]:  # a receiver must be bound to get MO
            await trio.sleep(0.01)
        sim.inject_mo(source="359888123456", destination="5566", text="READ 100234 4521.7")
        result = sim.inject_mo(source="359888123457", destination="5566", text=long_text)
        assert result.parts >= 2
        sim.inject_mo(source="359888123456", destination="5566", text="READ 100234 4521.7")
        with trio.fail_after(30):
            await got.wait()
        for message in taken:
            message.ack()
        nursery.cancel_scope.cancel()
    first, again = [m for m in taken if m.parts == 1]
    (joined,) = [m for m in taken if m.parts > 1]
    assert first.text == "READ 100234 4521.7" and first.source == "359888123456"
    assert joined.text == long_text and joined.parts == result.parts
    assert again.mo_id == first.mo_id  # the same text on the same day: a redelivery's id
    assert joined.mo_id != first.mo_id


def _pipeline_count(name: str, route: str = ROUTE) -> float:
    labels = {"smsc": route, "outcome": name}
    return REGISTRY.get_sample_value("smpp_pipeline_messages_total", labels) or 0.0


async def test_the_pipeline_counts_each_answer_by_its_kind_and_each_final_receipt(
    tmp_path: Path,
) -> None:
    # Per route: submitted (ESME_ROK), retried (a transient error with attempts left),
    # failed (permanent, or retries spent) and final receipts.
    sim_scenario = scenario(
        submit={"prefixes": {"4479990": "ESME_RINVDSTADR", "4479991": "ESME_RSYSERR"}}
    )
    retry = RetryPolicy(first_delay=0.05, max_delay=0.1, max_attempts=2)
    kinds = ("submitted", "retried", "failed", "unknown", "receipts")
    before = {kind: _pipeline_count(kind) for kind in kinds}
    async with (
        running(sim_scenario) as sim,
        pipeline_on(tmp_path, sim, retry=retry) as (pipeline, store),
    ):
        good = [message(f"44770090{i:04d}") for i in range(5)]
        await pipeline.accept([*good, message("447999000001"), message("447999100001")])
        with trio.fail_after(30):
            await settled(
                store,
                lambda c: (
                    c.get(MessageState.DELIVERED, 0) == 5 and c.get(MessageState.REJECTED, 0) == 2
                ),
            )
    counted = {kind: _pipeline_count(kind) - before[kind] for kind in kinds}
    # The flaky one: retried once, then failed with its attempts spent.
    assert counted == {"submitted": 5, "retried": 1, "failed": 2, "unknown": 0, "receipts": 5}
