"""smpp_queue_messages follows the store's counts per route and state, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import pytest
import structlog
import trio
from prometheus_client import REGISTRY

from smpp_engine.pipeline.queue_depth import sample_queue_depth
from smpp_engine.store import MessageState, NewMessage, Store

from ..store.conftest import open_test_store

EVERY = 0.01


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for opened in open_test_store(request.param, tmp_path):
        yield opened


def route_names(*names: str) -> list[str]:
    # The registry is process-wide: each test's routes are its own.
    tag = uuid.uuid4().hex[:8]
    return [f"{name}-{tag}" for name in names]


def depth(route: str, state: MessageState) -> float | None:
    return REGISTRY.get_sample_value("smpp_queue_messages", {"smsc": route, "state": state.value})


def store_errors(store: Store) -> float:
    labels = {"store": store.name, "operation": "count_by_state"}
    return REGISTRY.get_sample_value("smpp_store_errors_total", labels) or 0.0


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the sampler to catch up (the fail_after only stops a hang)."""
    with trio.fail_after(30):
        while not condition():
            await trio.sleep(EVERY)


async def accept(store: Store, route: str, count: int) -> None:
    messages = [
        NewMessage(smsc=route, source="ACME", destination=f"+4470000000{n:02d}", text="hi")
        for n in range(count)
    ]
    await store.accept(messages, now=time.time())


async def test_every_state_of_every_route_is_set(store: Store, nursery: trio.Nursery) -> None:
    busy, quiet, empty = route_names("busy", "quiet", "empty")
    await accept(store, busy, 3)
    await accept(store, quiet, 1)
    await nursery.start(partial(sample_queue_depth, store, [busy, quiet, empty], every=EVERY))
    assert depth(busy, MessageState.QUEUED) == 3
    assert depth(quiet, MessageState.QUEUED) == 1
    for state in MessageState:
        assert depth(empty, state) == 0
        if state is not MessageState.QUEUED:
            assert depth(busy, state) == 0


async def test_a_state_that_empties_goes_to_zero(store: Store, nursery: trio.Nursery) -> None:
    (route,) = route_names("route")
    await accept(store, route, 4)
    await nursery.start(partial(sample_queue_depth, store, [route], every=EVERY))
    assert depth(route, MessageState.QUEUED) == 4
    await store.claim(route, 10, owner="test", now=time.time(), lease=60.0)
    await until(lambda: depth(route, MessageState.SUBMITTING) == 4)
    assert depth(route, MessageState.QUEUED) == 0


async def test_a_failing_store_is_counted_and_sampling_goes_on(
    store: Store, nursery: trio.Nursery
) -> None:
    (route,) = route_names("route")
    await accept(store, route, 2)
    await nursery.start(partial(sample_queue_depth, store, [route], every=EVERY))
    before = store_errors(store)
    with structlog.testing.capture_logs() as logs:
        await store.aclose()
        # Two failures: the loop survived the first one.
        await until(lambda: store_errors(store) >= before + 2)
    warning = next(log for log in logs if log["event"].startswith("queue depth not sampled"))
    assert warning["smsc"] == route
    assert store.name in warning["error"]
    assert depth(route, MessageState.QUEUED) == 2  # the last good sample stays


async def test_the_period_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match=r"every: .* got 0"):
        await sample_queue_depth(store, ["route"], every=0)
