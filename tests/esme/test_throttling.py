"""Throttle answers pause the whole bind and reach the rate controller; acquire paces submits."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio

from smpp_engine.esme import Outcome, open_bind
from smpp_engine.protocol import CommandStatus, SubmitSm, Tag
from throttling import RateController, TokenBucketController, Unlimited

from .conftest import FakeSmsc, make_config, metric, until
from .test_bind import Collected, submit_sm

S = CommandStatus


class Recording:
    """A RateController that records what the bind tells it, delegating to a real one."""

    def __init__(self, inner: RateController) -> None:
        self.inner = inner
        self.acquired: list[tuple[int, float]] = []
        self.throttled_calls: list[tuple[int, float]] = []
        self.accepted_calls: list[float] = []

    def acquire(self, segments: int, now: float) -> float:
        wait = self.inner.acquire(segments, now)
        if wait <= 0:
            self.acquired.append((segments, now))
        return wait

    def throttled(self, status: int, now: float) -> float:
        self.throttled_calls.append((status, now))
        return self.inner.throttled(status, now)

    def accepted(self, now: float) -> None:
        self.accepted_calls.append(now)
        self.inner.accepted(now)


@pytest.mark.parametrize("status", [S.ESME_RTHROTTLED, S.ESME_RMSGQFUL])
async def test_throttle_answer_pauses_the_bind_and_tells_the_controller(
    smsc: FakeSmsc, autojump_clock: Any, status: int
) -> None:
    answers = iter([status])
    smsc.on_submit = lambda link, pdu: next(answers, 0)
    controller = Recording(Unlimited(pause=10.0))
    name = f"throttle-{status}"
    labels = {"side": "esme", "bind": name, "status": S(status).name}
    before = metric("smpp_throttle_events_total", **labels)
    async with open_bind(make_config(smsc, name=name), controller=controller) as bind:
        first = await bind.submit(submit_sm("first"))
        throttled_at = trio.current_time()
        assert first.outcome is Outcome.REJECTED
        assert first.command_status == status and first.throttled
        assert bind.paused_until == pytest.approx(throttled_at + 10.0)
        assert not bind.ready
        second = await bind.submit(submit_sm("second"))
        assert second.accepted
    link = smsc.bound_links[0]
    (t1, _), (t2, _) = [(t, p) for t, p in link.requests if isinstance(p, SubmitSm)]
    assert t2 - t1 >= 10.0  # nothing went out during the pause
    assert [s for s, _ in controller.throttled_calls] == [status]
    assert len(controller.accepted_calls) == 1
    assert metric("smpp_throttle_events_total", **labels) == before + 1


async def test_one_throttling_episode_is_one_pause_and_keeps_parts_in_order(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None  # hold, then answer all three with RTHROTTLED
    controller = Recording(Unlimited(pause=5.0))
    collected = Collected()
    name = "throttle-episode"
    labels = {"side": "esme", "bind": name, "status": "ESME_RTHROTTLED"}
    before = metric("smpp_throttle_events_total", **labels)
    config = make_config(smsc, name=name)
    async with open_bind(config, controller=controller, on_outcomes=collected) as bind:
        for part in ("1/3", "2/3", "3/3"):
            await bind.send(submit_sm(part), context=part)
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 3)
        smsc.on_submit = lambda link, pdu: 0
        for pdu in list(link.held):
            await link.answer(pdu, S.ESME_RTHROTTLED)
        await until(lambda: len(collected.outcomes) == 3)
        # The caller requeues the whole message; its parts go after the pause, in order.
        for part in ("1/3", "2/3", "3/3"):
            await bind.send(submit_sm(part), context=("again", part))
        await link.wait_until(lambda: len(link.submits) == 6)
    assert [o.throttled for o in collected.outcomes[:3]] == [True, True, True]
    assert len(controller.throttled_calls) == 1  # one episode, one pause
    assert metric("smpp_throttle_events_total", **labels) == before + 3
    resent = [(t, p.short_message) for t, p in link.requests if isinstance(p, SubmitSm)][3:]
    assert [m for _, m in resent] == [b"1/3", b"2/3", b"3/3"]
    assert resent[0][0] - controller.throttled_calls[0][1] >= 5.0


async def test_acquire_paces_submits_by_segments(smsc: FakeSmsc, autojump_clock: Any) -> None:
    controller = Recording(TokenBucketController(2.0, burst=3, now=trio.current_time()))
    async with open_bind(make_config(smsc), controller=controller) as bind:
        start = trio.current_time()
        await bind.send(submit_sm("three parts"), segments=3)  # the burst
        for n in range(4):
            await bind.send(submit_sm(f"single {n}"))
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.submits) == 5)
    times = [t - start for t, p in link.requests if isinstance(p, SubmitSm)]
    # 3 tokens at once, then 2 per second: the singles at 0.5, 1.0, 1.5 and 2.0 s.
    assert times[0] < 0.5
    assert times[-1] >= 2.0 - 1e-6
    assert all(b - a >= 0.5 - 1e-6 for a, b in itertools.pairwise(times[1:]))
    assert [s for s, _ in controller.acquired] == [3, 1, 1, 1, 1]


class CongestionRecorder(Unlimited):
    """Pauses 7 s for a congestion_state of 90 or more, and records what it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[int] = []

    def congestion(self, state: int, now: float) -> float:
        if not 0 <= state <= 100:
            raise ValueError(f"congestion_state must be 0-100, got {state}")
        self.states.append(state)
        return 7.0 if state >= 90 else 0.0


@pytest.mark.parametrize(("state", "paused"), [(95, True), (40, False), (150, False)])
async def test_congestion_state_on_a_response_reaches_the_controller(
    smsc: FakeSmsc, autojump_clock: Any, state: int, paused: bool
) -> None:
    smsc.on_submit = lambda link, pdu: None  # hold it, answer below with the TLV
    controller = CongestionRecorder()
    async with open_bind(make_config(smsc), controller=controller) as bind:
        async with trio.open_nursery() as nursery:
            outcomes = []

            async def submit() -> None:
                outcomes.append(await bind.submit(submit_sm("congested")))

            nursery.start_soon(submit)
            link = smsc.bound_links[0]
            await link.wait_until(lambda: len(link.held) == 1)
            answered_at = trio.current_time()
            await link.answer(link.held[0], 0, tlvs={Tag.congestion_state: state})
        assert outcomes[0].accepted  # congestion is advice, not a rejection
        if paused:
            assert bind.paused_until == pytest.approx(answered_at + 7.0)
        else:
            assert bind.paused_until < answered_at
    assert controller.states == ([] if state > 100 else [state])


async def test_a_controller_without_congestion_support_ignores_the_tlv(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_bind(make_config(smsc), controller=Unlimited()) as bind:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bind.submit, submit_sm("x"))
            link = smsc.bound_links[0]
            await link.wait_until(lambda: len(link.held) == 1)
            await link.answer(link.held[0], 0, tlvs={Tag.congestion_state: 99})
        assert bind.ready
