"""AIMD: cut on push-back, pause growing and capped, slow recovery to the ceiling."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from throttling import (
    GCRA,
    AdaptiveController,
    CongestionAware,
    Limiter,
    RateController,
    TokenBucket,
    Unlimited,
)

from .pacing import assert_within_rate, wait_as_told

THROTTLED = 0x58
MSGQFUL = 0x14

each_limiter = pytest.mark.parametrize("make", [TokenBucket, GCRA], ids=["token_bucket", "gcra"])


def aimd(
    ceiling: float = 100.0, make: Callable[..., Limiter] = GCRA, **kwargs: Any
) -> AdaptiveController:
    return AdaptiveController(make(ceiling, now=0.0), **kwargs)


def test_it_is_a_rate_controller_and_congestion_aware() -> None:
    controller = aimd()
    as_rate: RateController = controller
    as_congestion: CongestionAware = controller
    assert as_rate.acquire(1, 0.0) == as_congestion.congestion(0, 0.0) == 0.0
    assert isinstance(controller, CongestionAware)
    assert not isinstance(Unlimited(), CongestionAware)
    assert (controller.rate, controller.ceiling, controller.state) == (100, 100, "steady")


@each_limiter
def test_a_throttle_answer_cuts_the_rate_and_pauses(make: Callable[..., Limiter]) -> None:
    controller = aimd(make=make, decrease=0.7, pause=2.0)
    assert controller.throttled(THROTTLED, 10.0) == 2.0
    assert controller.rate == pytest.approx(70)
    assert controller.limiter.rate == pytest.approx(70)
    assert controller.state == "backing_off"
    assert controller.paused_until == 12.0


def test_answers_during_the_pause_are_the_same_episode() -> None:
    controller = aimd(pause=2.0)
    assert controller.throttled(THROTTLED, 10.0) == 2.0
    assert controller.throttled(MSGQFUL, 11.5) == pytest.approx(0.5)
    assert controller.rate == 50  # cut once
    # A bind sharing the controller is held back for the rest of the pause, too.
    assert controller.acquire(1, 11.0) == pytest.approx(1.0)


def test_repeated_throttles_grow_the_pause_up_to_the_cap_and_floor_the_rate() -> None:
    controller = aimd(min_rate=10, pause=1.0, max_pause=8.0)
    now = 0.0
    pauses = []
    for _ in range(6):
        pause = controller.throttled(THROTTLED, now)
        pauses.append(pause)
        now += pause  # each throttle arrives right after the previous pause
    assert pauses == [1, 2, 4, 8, 8, 8]
    assert controller.rate == 10


def test_an_accepted_submit_after_the_pause_resets_the_pause() -> None:
    controller = aimd(pause=1.0)
    assert controller.throttled(THROTTLED, 0.0) == 1.0
    controller.accepted(0.5)  # sent before the pause: says nothing
    assert controller.throttled(THROTTLED, 1.0) == 2.0
    controller.accepted(3.5)
    assert controller.throttled(THROTTLED, 4.0) == 1.0


def test_clean_traffic_brings_the_rate_back_to_the_ceiling_slowly() -> None:
    controller = aimd(ceiling=100, increase=10, pause=1.0)
    controller.throttled(THROTTLED, 0.0)  # 50/s, paused until 1.0
    now = 1.0
    while now < 5.0 - 1e-9:
        now += 0.01
        controller.accepted(now)
    assert controller.rate == pytest.approx(90)  # 4 s after the pause, 10/s per s
    recovering = controller.state
    while now < 6.5:
        now += 0.01
        controller.accepted(now)
    assert controller.rate == 100
    assert controller.limiter.rate == 100
    assert (recovering, controller.state) == ("recovering", "steady")


def test_the_increase_is_per_second_not_per_message() -> None:
    fast, slow = aimd(increase=5), aimd(increase=5)
    for controller, step in ((fast, 0.001), (slow, 0.5)):
        controller.throttled(THROTTLED, 0.0)
        for k in range(1, round(4 / step) + 1):
            controller.accepted(1.0 + k * step)
    assert fast.rate == pytest.approx(70)
    assert slow.rate == pytest.approx(70)


def test_an_idle_gap_does_not_count_as_clean_traffic() -> None:
    controller = aimd(ceiling=100, increase=10)
    controller.throttled(THROTTLED, 0.0)
    controller.accepted(1.0)
    controller.accepted(301.0)  # five minutes of silence
    assert controller.rate == pytest.approx(60)  # credited as one second


def test_acquire_enforces_the_current_rate() -> None:
    controller = aimd(ceiling=100, min_rate=1)
    controller.throttled(THROTTLED, 0.0)
    controller.throttled(THROTTLED, 1.0)  # 25/s, paused until 3.0
    assert controller.acquire(1, 2.0) == pytest.approx(1.0)
    grants: list[tuple[float, float]] = []
    now = 3.0
    while now < 5.0:
        now = wait_as_told(lambda t: controller.acquire(1, t), now)
        grants.append((now, 1))
    assert controller.limiter.burst == 25  # a quarter of the rate, a quarter of the burst
    assert_within_rate(grants, 25, 25)
    # Saturated for 2 s at 25/s after the burst: not the 300 of the ceiling.
    assert len(grants) == pytest.approx(25 + 25 * 2, abs=1)


@each_limiter
def test_the_burst_shrinks_with_the_rate_and_comes_back_with_it(
    make: Callable[..., Limiter],
) -> None:
    controller = AdaptiveController(make(100, 40, now=0.0), min_rate=1, increase=50)
    controller.throttled(THROTTLED, 0.0)
    assert controller.limiter.burst == 20
    for _ in range(6):
        controller.throttled(THROTTLED, controller.paused_until)
    assert controller.rate == 1
    assert controller.limiter.burst == 1  # never below one unit
    now = controller.paused_until
    while controller.rate < 100:
        now += 0.1
        controller.accepted(now)
    assert controller.limiter.burst == 40


def test_below_the_optimum_band_congestion_changes_nothing() -> None:
    controller = aimd(increase=10)
    controller.throttled(THROTTLED, 0.0)
    for state in (0, 29, 50, 79):
        assert controller.congestion(state, 1.0) == 0.0
    controller.accepted(2.0)
    assert controller.rate == pytest.approx(60)


def test_the_optimum_band_holds_the_rate() -> None:
    controller = aimd(increase=10, settle=1.0)
    controller.throttled(THROTTLED, 0.0)  # 50/s, paused until 1.0
    controller.accepted(1.5)  # 55
    assert controller.congestion(85, 1.5) == 0.0
    controller.accepted(2.0)  # held
    controller.accepted(2.5)  # held
    assert controller.rate == pytest.approx(55)
    controller.accepted(3.0)  # half a second past the hold
    assert controller.rate == pytest.approx(60)


def test_nearing_congestion_cuts_once_per_settle_time_without_a_pause() -> None:
    controller = aimd(ceiling=100, settle=1.0)
    assert controller.congestion(95, 0.0) == 0.0
    assert controller.congestion(92, 0.5) == 0.0  # the same report from answers in flight
    assert controller.rate == 50
    assert controller.state == "backing_off"
    assert controller.acquire(1, 0.5) == 0.0  # no pause
    assert controller.congestion(99, 1.0) == 0.0
    assert controller.rate == 25


def test_a_congested_smsc_is_a_throttle_answer() -> None:
    controller = aimd(pause=3.0)
    assert controller.congestion(100, 0.0) == 3.0
    assert controller.rate == 50
    assert controller.throttled(THROTTLED, 1.0) == pytest.approx(2.0)


@pytest.mark.parametrize("state", [-1, 101, 255])
def test_a_congestion_state_outside_0_to_100_is_refused(state: int) -> None:
    with pytest.raises(ValueError, match=rf"congestion_state .*{state}"):
        aimd().congestion(state, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"decrease": 1.0}, "decrease"),
        ({"decrease": 0.0}, "decrease"),
        ({"min_rate": 0.0}, "min_rate"),
        ({"min_rate": 101.0}, "min_rate"),
        ({"increase": 0.0}, "increase"),
        ({"increase": math.nan}, "increase"),
        ({"pause": 0.0}, "pause"),
        ({"pause": 5.0, "max_pause": 2.0}, "max_pause"),
        ({"settle": -1.0}, "settle"),
    ],
)
def test_invalid_settings_name_the_parameter_and_value(
    kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ValueError, match=rf"{parameter} .*got"):
        aimd(ceiling=100, **kwargs)


events = st.one_of(
    st.tuples(st.just("throttled"), st.sampled_from([THROTTLED, MSGQFUL])),
    st.tuples(st.just("accepted"), st.just(0)),
    st.tuples(st.just("congestion"), st.integers(0, 100)),
    st.tuples(st.just("acquire"), st.integers(1, 5)),
)


@each_limiter
@given(
    ceiling=st.floats(0.5, 5000),
    floor_share=st.floats(0.01, 1.0),
    decrease=st.floats(0.05, 0.95),
    increase_share=st.floats(0.001, 2.0),
    script=st.lists(st.tuples(st.floats(0, 5), events), max_size=200),
)
def test_the_rate_stays_between_floor_and_ceiling(
    make: Callable[..., Limiter],
    ceiling: float,
    floor_share: float,
    decrease: float,
    increase_share: float,
    script: list[tuple[float, tuple[str, int]]],
) -> None:
    min_rate = ceiling * floor_share
    controller = AdaptiveController(
        make(ceiling, now=0.0),
        min_rate=min_rate,
        decrease=decrease,
        increase=ceiling * increase_share,
    )
    now = 0.0
    for gap, (event, value) in script:
        now += gap
        before = controller.rate
        if event == "throttled":
            assert controller.throttled(value, now) > 0
        elif event == "accepted":
            controller.accepted(now)
            assert controller.rate >= before
        elif event == "congestion":
            assert controller.congestion(value, now) >= 0
        else:
            assert controller.acquire(value, now) >= 0
        assert min_rate <= controller.rate <= ceiling
        assert controller.limiter.rate == controller.rate
        if controller.state == "steady":
            assert controller.rate == ceiling
        elif controller.state == "recovering":
            assert controller.rate < ceiling


# --- an account shared by processes ------------------------------------------------------


def test_a_share_scales_the_ceiling_the_floor_the_increase_and_the_burst() -> None:
    controller = aimd(100.0, make=lambda rate, now: GCRA(rate, 50.0, now=now), min_rate=4.0)
    controller.share(0.25, 0.0)
    assert (controller.ceiling, controller.min_rate, controller.rate) == (25.0, 1.0, 25.0)
    assert controller.limiter.rate == 25.0 and controller.limiter.burst == 12.5
    assert controller.state == "steady" and controller.level == 1.0
    # Back to the whole account when the other holders are gone.
    controller.share(1.0, 0.0)
    assert (controller.ceiling, controller.rate, controller.limiter.burst) == (100.0, 100.0, 50.0)


def test_a_share_keeps_the_cut_in_force_and_recovers_in_proportion() -> None:
    controller = aimd(120.0, decrease=0.5, pause=1.0)
    controller.throttled(THROTTLED, 0.0)
    assert controller.level == 0.5
    controller.share(0.5, 0.5)
    assert controller.rate == pytest.approx(30.0) and controller.level == pytest.approx(0.5)
    # A sixtieth of the share per clean second: the level climbs as it would unshared.
    controller.accepted(1.0)
    controller.accepted(2.0)
    assert controller.rate == pytest.approx(31.0)
    assert controller.level == pytest.approx(0.5 + 1 / 60)


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5, math.nan])
def test_a_share_outside_zero_to_one_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        aimd().share(fraction, 0.0)


def test_a_cut_made_elsewhere_is_followed_and_joins_its_episode() -> None:
    controller = aimd(100.0, decrease=0.5, pause=2.0)
    assert controller.follow_cut(0.5, 10.0)
    assert (controller.rate, controller.state) == (50.0, "backing_off")
    # Not this controller's own cut: it publishes none.
    assert controller.last_cut == -math.inf
    # The throttle answers to what it sent before it knew are the same episode ...
    assert controller.throttled(THROTTLED, 11.0) == pytest.approx(1.0)
    assert controller.rate == 50.0
    # ... and a cut no deeper than the rate now changes nothing.
    assert not controller.follow_cut(0.6, 13.0)
    assert controller.rate == 50.0
    # The floor holds.
    assert controller.follow_cut(0.001, 14.0)
    assert controller.rate == controller.min_rate


def test_an_own_cut_is_published_as_its_moment() -> None:
    controller = aimd()
    assert controller.last_cut == -math.inf
    controller.throttled(THROTTLED, 7.0)
    assert controller.last_cut == 7.0
