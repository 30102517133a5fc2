"""The contract both limiters (TokenBucket and GCRA) keep, on an injected clock."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from throttling import GCRA, Limiter, TokenBucket
from throttling.limiter import resolvable

from .pacing import assert_within_rate, taking, wait_as_told

Factory = Callable[..., Limiter]
LIMITERS: list[Factory] = [TokenBucket, GCRA]
each_limiter = pytest.mark.parametrize("make", LIMITERS, ids=["token_bucket", "gcra"])

rates = st.floats(0.01, 1e5)
bursts = st.integers(1, 10).map(float)
# Far-off clock origins too: there a float clock moves in visible steps.
origins = st.one_of(st.just(0.0), st.floats(0, 1e9))


@each_limiter
def test_burst_then_steady_rate(make: Factory) -> None:
    limiter = make(10, 5, now=0.0)
    assert [limiter.take(now=0.0) for _ in range(5)] == [0.0] * 5
    assert limiter.take(now=0.0) == pytest.approx(0.1)
    assert limiter.take(now=0.1) == 0.0
    assert limiter.take(2, now=0.1) == pytest.approx(0.2)


@each_limiter
def test_default_burst_is_one_second_of_rate_but_at_least_one(make: Factory) -> None:
    assert make(20, now=0.0).burst == 20
    assert make(0.5, now=0.0).burst == 1


@each_limiter
def test_wait_counts_nothing(make: Factory) -> None:
    limiter = make(1, 2, now=0.0)
    assert limiter.wait(2, now=0.0) == 0.0
    assert limiter.wait(2, now=0.0) == 0.0
    assert limiter.take(2, now=0.0) == 0.0
    assert limiter.wait(1, now=0.0) == pytest.approx(1.0)
    assert limiter.wait(1, now=0.0) == pytest.approx(1.0)
    assert limiter.take(1, now=1.0) == 0.0


@each_limiter
def test_a_refused_take_counts_nothing(make: Factory) -> None:
    limiter = make(1, 1, now=0.0)
    assert limiter.take(now=0.0) == 0.0
    for _ in range(3):
        assert limiter.take(now=0.5) == pytest.approx(0.5)
    assert limiter.take(now=1.0) == 0.0


@each_limiter
def test_more_than_a_burst_waits_for_an_idle_limiter_then_goes_into_debt(make: Factory) -> None:
    limiter = make(1, 2, now=0.0)
    assert limiter.take(1, now=0.0) == 0.0
    assert limiter.take(5, now=0.0) == pytest.approx(1.0)  # until the burst is back
    assert limiter.take(5, now=1.0) == 0.0
    assert limiter.take(1, now=1.0) == pytest.approx(4.0)  # 3 units owed, then 1


@each_limiter
def test_set_rate_keeps_what_was_earned_and_owed(make: Factory) -> None:
    limiter = make(1, 2, now=0.0)
    assert limiter.take(2, now=0.0) == 0.0
    limiter.set_rate(10, now=0.5)  # half a unit earned at the old rate
    assert limiter.rate == 10
    assert limiter.take(1, now=0.5) == pytest.approx(0.05)
    assert limiter.take(1, now=0.55) == 0.0


@each_limiter
def test_a_smaller_burst_caps_what_was_earned_and_keeps_what_is_owed(make: Factory) -> None:
    idle = make(10, 10, now=0.0)
    idle.set_rate(10, now=0.0, burst=3)
    assert idle.burst == 3
    assert idle.take(3, now=0.0) == 0.0
    assert idle.take(1, now=0.0) == pytest.approx(0.1)

    owing = make(1, 4, now=0.0)
    assert owing.take(6, now=0.0) == 0.0  # 2 units of debt
    owing.set_rate(1, now=0.0, burst=2)
    assert owing.take(2, now=0.0) == pytest.approx(4.0)

    grown = make(1, 2, now=0.0)
    assert grown.take(2, now=0.0) == 0.0
    grown.set_rate(1, now=0.0, burst=5)  # a larger burst is earned, not given
    assert grown.take(1, now=0.0) == pytest.approx(1.0)
    assert grown.take(5, now=5.0) == 0.0


@each_limiter
@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": -1}, "rate"),
        ({"rate": math.nan}, "rate"),
        ({"rate": math.inf}, "rate"),
        ({"rate": 1, "burst": 0.5}, "burst"),
        ({"rate": 1, "burst": math.nan}, "burst"),
    ],
)
def test_invalid_arguments_name_the_parameter_and_value(
    make: Factory, kwargs: dict[str, float], parameter: str
) -> None:
    with pytest.raises(ValueError, match=rf"{parameter} .*got"):
        make(**kwargs, now=0.0)


@each_limiter
def test_invalid_units_and_rate_changes_are_refused(make: Factory) -> None:
    limiter = make(1, 1, now=0.0)
    with pytest.raises(ValueError, match=r"units .*-1"):
        limiter.take(-1, now=0.0)
    with pytest.raises(ValueError, match=r"units .*nan"):
        limiter.wait(math.nan, now=0.0)
    with pytest.raises(ValueError, match=r"rate .*0"):
        limiter.set_rate(0, now=0.0)
    with pytest.raises(ValueError, match=r"burst .*0.5"):
        limiter.set_rate(2, now=0.0, burst=0.5)
    assert (limiter.rate, limiter.burst) == (1, 1)
    assert limiter.take(1, now=0.0) == 0.0


@each_limiter
@given(
    rate=rates,
    burst=bursts,
    origin=origins,
    requests=st.lists(
        st.tuples(st.integers(1, 12), st.floats(0, 3)),  # units, idle time in sends
        min_size=1,
        max_size=80,
    ),
)
def test_a_caller_that_waits_as_told_is_served_and_never_beats_the_rate(
    make: Factory,
    rate: float,
    burst: float,
    origin: float,
    requests: list[tuple[int, float]],
) -> None:
    limiter = make(rate, burst, now=origin)
    now = origin
    grants: list[tuple[float, float]] = []
    for units, idle in requests:
        now += idle * units / rate
        now = wait_as_told(taking(limiter, units), now)
        grants.append((now, units))
    assert_within_rate(grants, rate, burst)


@each_limiter
@given(
    rate=rates,
    burst=bursts,
    origin=st.sampled_from([0.0, 12_345.678, 1e6]),
    units=st.integers(1, 12),
    count=st.integers(20, 300),
)
def test_a_saturating_caller_gets_exactly_the_rate(
    make: Factory, rate: float, burst: float, origin: float, units: int, count: int
) -> None:
    limiter = make(rate, burst, now=origin)
    now = origin
    for _ in range(count):
        now = wait_as_told(taking(limiter, units), now)
    sent = units * count
    # After the first burst every grant waited: what went is what the rate earned,
    # plus the burst, plus a last request's debt beyond it. Rounding of the caller's
    # clock can only make it late, never early.
    expected = rate * (now - origin) + burst + max(0.0, units - burst)
    assert sent <= expected + 1e-6
    assert sent >= expected - 1e-6 - count * rate * 2 * math.ulp(now)


@each_limiter
@given(
    rates_over_time=st.lists(st.tuples(rates, st.integers(1, 40)), min_size=1, max_size=6),
    burst=bursts,
    units=st.integers(1, 5),
)
def test_the_rate_holds_between_rate_changes(
    make: Factory, rates_over_time: list[tuple[float, int]], burst: float, units: int
) -> None:
    limiter = make(rates_over_time[0][0], burst, now=0.0)
    now = 0.0
    for rate, count in rates_over_time:
        limiter.set_rate(rate, now=now)
        grants: list[tuple[float, float]] = []
        for _ in range(count):
            now = wait_as_told(taking(limiter, units), now)
            grants.append((now, units))
        assert_within_rate(grants, rate, burst)


@each_limiter
@pytest.mark.parametrize("origin", [1e9, 1e12, 1e15])
@pytest.mark.parametrize("rate", [3.3, 97.0, 9999.0, 1e6])
def test_far_from_zero_a_caller_still_progresses_and_the_rate_holds(
    make: Factory, origin: float, rate: float
) -> None:
    # At 1e9 a clock step is ~1e-7 s; at 1e15 it is 0.125 s, longer than most waits.
    limiter = make(rate, 5, now=origin)
    now = origin
    grants: list[tuple[float, float]] = []
    for i in range(300):
        units = 1 + i % 5
        now = wait_as_told(taking(limiter, units), now)
        grants.append((now, units))
    assert_within_rate(grants, rate, 5)


def test_a_wait_the_clock_cannot_resolve_becomes_one_clock_step() -> None:
    assert resolvable(0.25, 0.0) == 0.25
    step = math.ulp(1e15)
    assert resolvable(1e-9, 1e15) == step
    assert 1e15 + resolvable(1e-9, 1e15) > 1e15
