"""The batching writer: batches, order, back-pressure, flush, close, and a store that fails.

A fake store records the batches it is given and can fail or stall on demand;
one test runs against a real SQLite store. The clock is trio's autojump clock
wherever the writer waits (max_delay, back-off), so nothing sleeps for real.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
import trio.testing
from prometheus_client import REGISTRY

from smpp_engine.store import (
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    StoreError,
    StoreUnavailableError,
    SubmitUnknown,
    Update,
)
from smpp_engine.store.sqlite import open_sqlite_store
from smpp_engine.store.writer import BatchWriter


class FakeStore:
    """Records each record() batch; ``fail`` times it raises first; ``gate`` holds it."""

    name = "fake"

    def __init__(self, fail: int = 0, error: Exception | None = None) -> None:
        self.batches: list[list[Update]] = []
        self.calls = 0
        self.fail = fail
        self.error = error or StoreUnavailableError("fake", "record: the disk is away")
        self.gate: trio.Event | None = None
        self.entered = trio.Event()

    @property
    def written(self) -> list[Update]:
        return [u for batch in self.batches for u in batch]

    async def record(self, updates: Sequence[Update]) -> None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise self.error
        await trio.lowlevel.checkpoint()
        self.batches.append(list(updates))


def backlog_gauge(store: str) -> float | None:
    return REGISTRY.get_sample_value("smpp_store_writer_backlog", {"store": store})


def updates(n: int, first: int = 0) -> list[Update]:
    return [SubmitUnknown(i, 0, float(i), "timeout") for i in range(first, first + n)]


async def test_updates_reach_the_store_in_order_in_batches_of_at_most_max_batch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    writer = BatchWriter(store, max_batch=4, max_delay=1.0)
    sent = updates(10)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in sent:
            writer.submit_nowait(update)
        assert writer.backlog == 10
        await writer.flush()
        assert writer.backlog == 0
        await writer.aclose()
    assert store.written == sent
    assert [len(b) for b in store.batches] == [4, 4, 2]
    assert writer.batches == 3


async def test_a_lone_update_is_written_after_max_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    writer = BatchWriter(store, max_batch=100, max_delay=0.5)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.submit_nowait(updates(1)[0])
        await trio.sleep(0.4)
        assert store.batches == []  # the batch is still open
        await trio.sleep(0.2)
        assert len(store.batches) == 1
        assert writer.backlog == 0
        await writer.aclose()


async def test_a_full_batch_goes_out_without_waiting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    writer = BatchWriter(store, max_batch=3, max_delay=1_000.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        start = trio.current_time()
        for update in updates(3):
            writer.submit_nowait(update)
        await writer.flush()
        assert trio.current_time() == start  # no max_delay was waited out
        assert [len(b) for b in store.batches] == [3]
        await writer.aclose()


async def test_what_piles_up_during_a_write_goes_out_as_the_next_batch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    store.gate = trio.Event()
    writer = BatchWriter(store, max_batch=100, max_delay=1_000.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.submit_nowait(updates(1)[0])
        flushing = trio.Event()

        async def flush() -> None:
            await writer.flush()
            flushing.set()

        nursery.start_soon(flush)
        await store.entered.wait()  # the first write is running
        start = trio.current_time()
        for update in updates(5, first=1):
            writer.submit_nowait(update)
        store.gate.set()
        await writer.flush()
        assert trio.current_time() == start  # no new max_delay for the pile
        assert [len(b) for b in store.batches] == [1, 5]
        assert flushing.is_set()
        await writer.aclose()


async def test_flush_returns_only_once_earlier_updates_are_durable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    store.gate = trio.Event()
    writer = BatchWriter(store, max_batch=10, max_delay=1_000.0)
    flushed = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        writer.submit_nowait(updates(1)[0])

        async def flush() -> None:
            await writer.flush()
            flushed.set()

        nursery.start_soon(flush)
        await store.entered.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert not flushed.is_set()  # the write has not returned yet
        store.gate.set()
        await flushed.wait()
        assert len(store.batches) == 1
        await writer.flush()  # nothing pending: returns at once
        await writer.aclose()


async def test_nothing_is_lost_or_reordered_while_the_store_is_unavailable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore(fail=5)
    writer = BatchWriter(store, max_batch=3, max_delay=0.01, retry_initial=0.1, retry_max=0.4)
    sent = updates(20)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in sent[:10]:
            writer.submit_nowait(update)
        await store.entered.wait()
        for update in sent[10:]:  # they queue behind the failing batch
            writer.submit_nowait(update)
        await writer.flush()
        await writer.aclose()
    assert store.written == sent
    assert writer.failures == 5
    assert store.calls == len(store.batches) + 5
    assert all(len(b) <= 3 for b in store.batches)
    assert writer.backlog == 0


async def test_retries_back_off_up_to_retry_max(autojump_clock: trio.testing.MockClock) -> None:
    store = FakeStore(fail=6)
    writer = BatchWriter(store, max_batch=10, max_delay=0.0, retry_initial=1.0, retry_max=4.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        start = trio.current_time()
        writer.submit_nowait(updates(1)[0])
        await writer.flush()
        # waits 1, 2, 4, 4, 4, 4 between the seven tries
        assert trio.current_time() - start == pytest.approx(19.0)
        await writer.aclose()


class RefusingStore(FakeStore):
    """Refuses (StoreError, or a plain fault) every batch holding one of ``poison``."""

    def __init__(self, poison: set[int], error: Exception) -> None:
        super().__init__()
        self.poison = poison
        self.refusal = error

    async def record(self, updates: Sequence[Update]) -> None:
        if any(isinstance(u, SubmitUnknown) and u.message_id in self.poison for u in updates):
            self.calls += 1
            raise self.refusal
        await super().record(updates)


@pytest.mark.parametrize(
    "error",
    [StoreError("fake", "record: constraint failed"), KeyError("a fault in applying one")],
)
async def test_updates_the_store_refuses_are_set_aside_and_the_rest_written_in_order(
    autojump_clock: trio.testing.MockClock, error: Exception
) -> None:
    store = RefusingStore({3, 11}, error)
    writer = BatchWriter(store, max_batch=16, max_delay=0.0)
    refused = REGISTRY.get_sample_value("smpp_store_poison_updates_total", {"store": "fake"}) or 0
    sent = updates(16)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in sent:
            writer.submit_nowait(update)
        await writer.flush()
        assert store.written == [u for u in sent if u.message_id not in {3, 11}]  # type: ignore[union-attr]
        assert writer.refused == 2 and writer.backlog == 0
        # The writer goes on.
        writer.submit_nowait(updates(1, first=20)[0])
        await writer.flush()
        assert store.written[-1] == updates(1, first=20)[0]
        await writer.aclose()
    after = REGISTRY.get_sample_value("smpp_store_poison_updates_total", {"store": "fake"})
    assert after == refused + 2


async def test_the_backlog_gauge_shows_what_waits_while_the_store_is_away(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore(fail=3)
    store.name = "gauge-test"
    writer = BatchWriter(store, max_batch=2, max_delay=0.01, retry_initial=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in updates(7):
            writer.submit_nowait(update)
        await store.entered.wait()
        assert backlog_gauge("gauge-test") == 7  # the failing batch is still waiting too
        await writer.flush()
        assert backlog_gauge("gauge-test") == 0
        nursery.cancel_scope.cancel()


async def test_a_full_backlog_refuses_submit_nowait_and_makes_submit_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    store.gate = trio.Event()
    writer = BatchWriter(store, max_batch=2, max_delay=0.0, max_backlog=3)
    sent = updates(5)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in sent[:3]:
            writer.submit_nowait(update)
        with pytest.raises(trio.WouldBlock):
            writer.submit_nowait(sent[3])
        done = trio.Event()

        async def submit_rest() -> None:
            for update in sent[3:]:
                await writer.submit(update)
            done.set()

        nursery.start_soon(submit_rest)
        await trio.testing.wait_all_tasks_blocked()
        assert not done.is_set()  # waiting for room
        assert writer.backlog == 3
        store.gate.set()
        await done.wait()
        await writer.aclose()
    assert store.written == sent


async def test_close_writes_everything_then_refuses_more(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    writer = BatchWriter(store, max_batch=4, max_delay=1_000.0)
    sent = updates(6)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in sent:
            writer.submit_nowait(update)
        await writer.aclose()
        with pytest.raises(trio.ClosedResourceError):
            writer.submit_nowait(sent[0])
        with pytest.raises(trio.ClosedResourceError):
            await writer.submit(sent[0])
    # run() returned by itself: the nursery closed without a cancel
    assert store.written == sent
    await writer.aclose()  # idempotent


async def test_close_without_a_running_writer_writes_what_is_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore(fail=1)
    writer = BatchWriter(store, max_batch=2, retry_initial=0.5)
    sent = updates(3)
    for update in sent:
        writer.submit_nowait(update)
    await writer.aclose()
    assert store.written == sent


async def test_the_writer_refuses_a_second_run(autojump_clock: trio.testing.MockClock) -> None:
    writer = BatchWriter(FakeStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        with pytest.raises(RuntimeError, match="already running"):
            await writer.run()
        await writer.aclose()


def test_nonsense_settings_are_refused() -> None:
    for settings in ({"max_batch": 0}, {"max_backlog": 0}, {"retry_initial": 0.0}):
        with pytest.raises(ValueError):
            BatchWriter(FakeStore(), **settings)


async def test_with_sqlite_every_update_is_applied(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "store.db") as store:
        accepted = await store.accept(
            [NewMessage("smsc-a", "ACME", f"4477009{n:05d}", "hi") for n in range(300)], now=1.0
        )
        claimed = await store.claim("smsc-a", 300, owner="gw", now=2.0, lease=60.0)
        assert len(claimed) == 300
        writer = BatchWriter(store, max_batch=64, max_delay=0.001)
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            for c in claimed:
                await writer.submit(PartSubmitted(c.message_id, 0, "b", f"x{c.message_id}", 2, 3))
            await writer.flush()
            assert await store.count_by_state() == {MessageState.SUBMITTED: 300}
            for c in claimed:
                writer.submit_nowait(
                    ReceiptArrived("smsc-a", f"x{c.message_id}", PartState.DELIVERED, 4.0)
                )
            await writer.aclose()
        assert await store.count_by_state() == {MessageState.DELIVERED: 300}
        assert writer.batches < 600  # batched, not one call per update
        found = await store.get(accepted[0].message_id)
        assert found is not None and found.part_views[0].receipt_at == 4.0


async def test_wait_durable_waits_for_the_batch_without_closing_it_early(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeStore()
    writer = BatchWriter(store, max_batch=100, max_delay=2.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for update in updates(3):
            writer.submit_nowait(update)
        mark = writer.submitted
        assert mark == 3
        start = trio.current_time()
        await writer.wait_durable(mark)
        # The batch went out on its own schedule (max_delay), not at once as flush() would.
        assert trio.current_time() - start >= 2.0
        assert len(store.written) == 3
        writer.submit_nowait(updates(1, 3)[0])
        await writer.wait_durable(mark)  # already durable: returns at once
        assert trio.current_time() - start < 2.5
        await writer.aclose()
    assert store.written == updates(4)
