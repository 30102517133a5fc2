"""A pool of binds to one account spreads requests and waits when every window is full."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from smpp_engine.esme import Inbound, open_pool
from smpp_engine.protocol import MessageState

from .conftest import FakeSmsc, make_config, until
from .test_bind import Collected, submit_sm


async def test_pool_spreads_load_over_its_binds(smsc: FakeSmsc) -> None:
    collected = Collected()
    config = make_config(smsc, name="pool", window_size=100)  # room everywhere: spread by turn
    async with open_pool(config, 3, on_outcomes=collected) as pool:
        await smsc.wait_bound(3)
        await until(lambda: pool.bound == 3)
        for n in range(30):
            await pool.send(submit_sm(f"m{n}"), context=n)
        await until(lambda: len(collected.outcomes) == 30)
    counts = sorted(len(link.submits) for link in smsc.bound_links)
    assert sum(counts) == 30
    assert counts == [10, 10, 10]  # in turn, not all to the first one with room
    assert {o.bind for o in collected.outcomes} == {"pool-1", "pool-2", "pool-3"}
    assert all(o.accepted for o in collected.outcomes)


async def test_pool_waits_when_every_bind_is_full(smsc: FakeSmsc, autojump_clock: Any) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_pool(make_config(smsc, name="full", window_size=1), 2) as pool:
        await smsc.wait_bound(2)
        await until(lambda: pool.bound == 2)
        await pool.send(submit_sm("a"))
        await pool.send(submit_sm("b"))
        links = smsc.bound_links
        await smsc.wait_until(lambda: all(len(link.held) == 1 for link in links))
        sent = trio.Event()

        async def third() -> None:
            await pool.send(submit_sm("c"))
            sent.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(third)
            await trio.testing.wait_all_tasks_blocked()
            assert not sent.is_set()
            await links[1].answer(links[1].held[0])
            await sent.wait()
        await links[1].wait_until(lambda: len(links[1].submits) == 2)
        assert [p.short_message for p in links[1].submits][-1] == b"c"
        for link in links:
            for pdu in list(link.held):
                await link.answer(pdu)


async def test_pool_submit_returns_the_outcome(smsc: FakeSmsc) -> None:
    async with open_pool(make_config(smsc, name="pool-submit"), 2) as pool:
        outcome = await pool.submit(submit_sm())
    assert outcome.accepted and outcome.bind.startswith("pool-submit-")


async def test_a_pool_hands_every_members_inbound_to_its_one_sink(smsc: FakeSmsc) -> None:
    taken: list[Inbound] = []
    async with open_pool(make_config(smsc, name="in"), 2, on_inbound=taken.extend) as pool:
        await smsc.wait_bound(2)
        await until(lambda: pool.bound == 2)
        for n, link in enumerate(smsc.bound_links):
            await link.send_receipt(f"M{n}", MessageState.DELIVERED)
        await until(lambda: len(taken) == 2)
        for link in smsc.bound_links:
            await link.wait_until(lambda link=link: len(link.responses) == 1)
    assert sorted(i.receipt.message_id for i in taken if i.receipt) == ["M0", "M1"]
    assert {i.bind for i in taken} == {"in-1", "in-2"}
    assert all(link.responses[0].command_status == 0 for link in smsc.bound_links)


async def test_pool_try_send_takes_the_next_member_with_room_and_refuses_when_none_has(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_pool(make_config(smsc, name="try", window_size=1), 2) as pool:
        await smsc.wait_bound(2)
        await until(lambda: pool.bound == 2)
        first = pool.try_send(submit_sm("a"))
        second = pool.try_send(submit_sm("b"))
        assert first is not None and second is not None and first is not second
        assert pool.try_send(submit_sm("c")) is None  # every window full: nothing sent
        links = smsc.bound_links
        await smsc.wait_until(lambda: all(len(link.held) == 1 for link in links))
        assert sum(len(link.submits) for link in links) == 2
        await links[0].answer(links[0].held[0])
        await until(lambda: pool.try_send(submit_sm("c")) is not None)
        for link in links:
            await link.wait_until(lambda link=link: len(link.held) == 1)
            await link.answer(link.held[0])
