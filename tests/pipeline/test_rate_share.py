"""One SMSC account's rate shared by gateway processes, on both stores.

Two or three :class:`SharedRate` holders stand for processes on one store; the
wall clock they publish under is a variable here, so a holder's death is a clock
moved past its lease, not a wait. What the real processes do with it is tested
in test_rate_share_processes.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from prometheus_client import REGISTRY

from smpp_engine.pipeline.rate_share import INTERVAL, TTL, SharedRate
from smpp_engine.store import RateShare, RateShareStore, Store, StoreUnavailableError
from throttling import GCRA, AdaptiveController

from ..store.conftest import open_test_store

LIMIT = 120.0
THROTTLED = 0x58


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async for opened in open_test_store(request.param, tmp_path):
        yield opened


class Wall:
    """The wall clock the holders publish under, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def holder(name: str, wall: Wall) -> SharedRate:
    controller = AdaptiveController(GCRA(LIMIT, now=trio.current_time()))
    return SharedRate("sim", name, controller, wall)


def shares_of(store: Store) -> RateShareStore:
    assert isinstance(store, RateShareStore)
    return store


async def test_live_holders_split_the_account_and_a_dead_ones_share_returns(
    store: Store,
) -> None:
    shares, wall = shares_of(store), Wall()
    a, b, c = holder("a", wall), holder("b", wall), holder("c", wall)
    await a.renew(shares)
    assert (a.holders, a.rate) == (1, LIMIT)
    await b.renew(shares)
    await c.renew(shares)
    await a.renew(shares)
    await b.renew(shares)
    assert [h.holders for h in (a, b, c)] == [3, 3, 3]
    assert REGISTRY.get_sample_value("smpp_rate_share_holders", {"smsc": "sim"}) == 3
    assert sum(h.rate for h in (a, b, c)) == pytest.approx(LIMIT)
    # c dies: its row holds TTL seconds after its last renewal, then no more.
    wall.now += TTL - 0.1
    await a.renew(shares)
    await b.renew(shares)
    assert a.rate == pytest.approx(LIMIT / 3)
    wall.now += 0.1
    await a.renew(shares)
    await b.renew(shares)
    assert (a.holders, b.holders) == (2, 2)
    assert a.rate + b.rate == pytest.approx(LIMIT)


async def test_a_newcomer_sends_only_once_every_holder_has_counted_it(store: Store) -> None:
    shares, wall = shares_of(store), Wall()
    a = holder("a", wall)
    now = trio.current_time()
    assert not a.sending(now)
    assert a.acquire(1, now) > 0
    await a.renew(shares)
    now = trio.current_time()
    assert not a.sending(now)
    assert a.sending(now + INTERVAL)
    # Without a renewal it stops before the others could count it dead.
    assert not a.sending(now + TTL * 3 / 4 + 0.01)


async def test_a_holder_that_cannot_renew_stops_before_its_row_runs_out(store: Store) -> None:
    wall = Wall()
    a = holder("a", wall)
    await a.renew(shares_of(store))
    renewed = trio.current_time()

    class Away:
        async def renew_rate_share(self, share: RateShare, *, now: float) -> list[RateShare]:
            raise StoreUnavailableError("test", "away")

        async def drop_rate_share(self, route: str, holder: str) -> None:
            raise StoreUnavailableError("test", "away")

    await a.renew(Away())
    assert a.sending(renewed + INTERVAL)
    assert not a.sending(renewed + TTL * 3 / 4)


async def test_a_clean_stop_and_lost_binds_give_the_share_back(store: Store) -> None:
    shares, wall = shares_of(store), Wall()
    a, b = holder("a", wall), holder("b", wall)
    binds_up = True
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.keep_renewed, shares, lambda: binds_up)
        await a.renew(shares)
        await trio.sleep(INTERVAL * 1.5)
        await a.renew(shares)
        assert a.holders == b.holders == 2
        # b's binds are all down: it holds no share, and sends nothing.
        binds_up = False
        await trio.sleep(INTERVAL * 1.5)
        assert not b.sending(trio.current_time())
        await a.renew(shares)
        assert (a.holders, a.rate) == (1, LIMIT)
        binds_up = True
        await trio.sleep(INTERVAL * 1.5)
        await a.renew(shares)
        assert a.holders == 2
        # b stops: it gives its share back at once.
        nursery.cancel_scope.cancel()
    await a.renew(shares)
    assert (a.holders, a.rate) == (1, LIMIT)


async def test_a_cut_on_one_holder_cuts_the_accounts_total(store: Store) -> None:
    shares, wall = shares_of(store), Wall()
    a, b = holder("a", wall), holder("b", wall)
    for h in (a, b, a):
        await h.renew(shares)
    assert a.rate == b.rate == LIMIT / 2
    a.throttled(THROTTLED, trio.current_time())
    assert a.rate == LIMIT / 4
    assert b.rate == LIMIT / 2
    await a.renew(shares)  # publishes the cut
    await b.renew(shares)  # and b follows it
    assert b.rate == pytest.approx(LIMIT / 4)
    assert a.rate + b.rate == pytest.approx(LIMIT / 2)
    # Followed once: later renewals do not cut again, nor does a follow b back.
    await a.renew(shares)
    await b.renew(shares)
    assert a.rate == pytest.approx(LIMIT / 4) and b.rate == pytest.approx(LIMIT / 4)
    # A newcomer joins at the level the account is at.
    c = holder("c", wall)
    await c.renew(shares)
    assert c.controller.level == pytest.approx(0.5)
    assert c.rate == pytest.approx(LIMIT / 3 / 2)


def test_the_interval_must_leave_room_within_the_lease() -> None:
    controller = AdaptiveController(GCRA(LIMIT, now=0.0))
    with pytest.raises(ValueError, match="interval"):
        SharedRate("sim", "a", controller, Wall(), interval=3.0, ttl=3.0)
    assert math.isfinite(SharedRate("sim", "a", controller, Wall()).rate)


async def test_a_dispatcher_with_a_rate_holds_a_share_while_its_bind_is_up(
    tmp_path: Path,
) -> None:
    from smpp_engine.pipeline import Pipeline  # noqa: PLC0415
    from smpp_engine.store import MessageState  # noqa: PLC0415
    from smpp_engine.store.sqlite import open_sqlite_store  # noqa: PLC0415

    from ..simulator.helpers import running  # noqa: PLC0415
    from .test_pipeline import ROUTE, make_route, message, scenario, settled  # noqa: PLC0415

    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "store.db") as store,
    ):
        shares = shares_of(store)
        wall = Wall()
        other = holder("other-process", wall)
        async with trio.open_nursery() as nursery:
            pipeline = Pipeline(store, [make_route(sim, rate=LIMIT)], housekeeping=0.2)
            await nursery.start(pipeline.run)
            dispatcher = pipeline.dispatchers[ROUTE]
            assert isinstance(dispatcher.controller, SharedRate)
            await pipeline.accept([message(f"44770090{i:04d}") for i in range(5)])
            with trio.fail_after(30):
                await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 5)
            wall.now = time.time()  # the dispatcher's row is written in real time
            await other.renew(shares)
            assert other.holders == 2
            await trio.sleep(INTERVAL * 1.5)
            assert dispatcher.controller.holders == 2
            assert dispatcher.controller.rate == LIMIT / 2
            pipeline.stop()
        # Stopped: its share is given back at once.
        await other.renew(shares)
        assert (other.holders, other.rate) == (1, LIMIT)
