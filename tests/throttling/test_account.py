"""An account's limit shared by its binds, each bind's own limit on top."""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given
from hypothesis import strategies as st

from throttling import GCRA, AccountLimiter, AdaptiveController, CongestionAware, RateController

from .pacing import assert_within_rate

THROTTLED = 0x58


def test_binds_are_rate_controllers_and_congestion_aware() -> None:
    bind = AccountLimiter(10, now=0.0).for_bind("bind-1", bind_rate=5)
    as_rate: RateController = bind
    as_congestion: CongestionAware = bind
    assert as_rate.acquire(1, 0.0) == as_congestion.congestion(0, 0.0) == 0.0
    assert bind.name == "bind-1"


def test_binds_share_the_account_burst_and_rate() -> None:
    account = AccountLimiter(rate=10, burst=4, now=0.0)
    a, b = account.for_bind("a"), account.for_bind("b")
    assert [a.acquire(1, 0.0), b.acquire(1, 0.0), a.acquire(1, 0.0), b.acquire(1, 0.0)] == [0.0] * 4
    assert a.acquire(1, 0.0) == pytest.approx(0.1)
    assert b.acquire(1, 0.0) == pytest.approx(0.1)
    assert b.acquire(2, 0.2) == 0.0
    assert a.acquire(1, 0.2) == pytest.approx(0.1)


def test_a_bind_held_by_its_own_limit_takes_nothing_from_the_account() -> None:
    account = AccountLimiter(rate=10, burst=2, now=0.0)
    slow = account.for_bind("slow", bind_rate=1, bind_burst=1)
    fast = account.for_bind("fast")
    assert slow.acquire(1, 0.0) == 0.0
    for _ in range(5):
        assert slow.acquire(1, 0.0) == pytest.approx(1.0)  # its own limit says wait
    assert fast.acquire(1, 0.0) == 0.0  # the account's second unit is still there
    assert fast.acquire(1, 0.0) == pytest.approx(0.1)


def test_a_bind_held_by_the_account_keeps_its_own_allowance() -> None:
    account = AccountLimiter(rate=1, burst=1, now=0.0)
    limited = account.for_bind("limited", bind_rate=1, bind_burst=1)
    other = account.for_bind("other")
    assert other.acquire(1, 0.0) == 0.0
    for _ in range(5):
        assert limited.acquire(1, 0.0) == pytest.approx(1.0)  # the account says wait
    # Its own unit was never spent on the refusals: it goes as soon as the account lets it.
    assert limited.limit is not None
    assert limited.limit.available(0.0) == 1
    assert limited.acquire(1, 1.0) == 0.0


def test_a_fixed_account_pauses_each_bind_on_its_own() -> None:
    account = AccountLimiter(rate=10, now=0.0)
    a = account.for_bind("a", pause=1, max_pause=4)
    b = account.for_bind("b", pause=1, max_pause=4)
    assert [a.throttled(THROTTLED, 0.0) for _ in range(4)] == [1, 2, 4, 4]
    assert b.throttled(THROTTLED, 0.0) == 1
    a.accepted(5.0)
    assert a.throttled(THROTTLED, 6.0) == 1
    assert a.acquire(1, 0.0) == 0.0  # the bind, not the controller, keeps the pause
    assert a.congestion(85, 6.0) == 0.0
    assert a.congestion(100, 6.0) == 2  # congested: a throttle answer
    assert account.controller is None


def test_an_adaptive_account_cuts_and_pauses_all_binds_together() -> None:
    controller = AdaptiveController(GCRA(100, now=0.0), pause=2.0)
    account = AccountLimiter.adaptive(controller, now=0.0)
    a, b = account.for_bind("a"), account.for_bind("b", bind_rate=80)
    assert a.throttled(THROTTLED, 1.0) == 2.0
    assert account.rate == 50
    assert account.controller is controller
    assert b.throttled(THROTTLED, 1.5) == pytest.approx(1.5)  # the same episode
    assert b.acquire(1, 2.0) == pytest.approx(1.0)  # b is held by a's pause
    assert b.limit is not None
    assert b.limit.available(2.0) == 80
    b.accepted(3.5)
    assert account.rate > 50
    assert a.congestion(95, 4.0) == 0.0
    assert controller.state == "backing_off"


def test_a_bind_burst_needs_a_bind_rate() -> None:
    account = AccountLimiter(10, now=0.0)
    with pytest.raises(ValueError, match=r"bind_burst .*3"):
        account.for_bind("a", bind_burst=3)
    with pytest.raises(ValueError, match=r"rate .*0"):
        account.for_bind("a", bind_rate=0)
    with pytest.raises(ValueError, match=r"rate .*-5"):
        AccountLimiter(-5, now=0.0)


@given(
    rate=st.floats(1, 2000),
    burst=st.integers(1, 20).map(float),
    bind_limits=st.lists(st.one_of(st.none(), st.floats(0.5, 3000)), min_size=1, max_size=5),
    requests=st.lists(
        st.tuples(st.integers(0, 4), st.integers(1, 5), st.floats(0, 0.2)),  # bind, units, idle
        min_size=1,
        max_size=120,
    ),
    adaptive=st.booleans(),
)
def test_binds_together_never_exceed_the_account_rate(
    rate: float,
    burst: float,
    bind_limits: list[float | None],
    requests: list[tuple[int, int, float]],
    adaptive: bool,
) -> None:
    if adaptive:
        account = AccountLimiter.adaptive(AdaptiveController(GCRA(rate, burst, now=0.0)), now=0.0)
    else:
        account = AccountLimiter(rate, burst, now=0.0)
    binds = [account.for_bind(f"bind-{i}", limit) for i, limit in enumerate(bind_limits)]
    # Each bind works through its own requests; at each step the bind due soonest
    # asks (ties: the lower index), and waits as told when refused.
    queues: list[list[tuple[int, float]]] = [[] for _ in binds]
    for index, units, idle in requests:
        queues[index % len(binds)].append((units, idle))
    due = [(queue[0][1], i, 0) for i, queue in enumerate(queues) if queue]
    heapq.heapify(due)
    grants: list[tuple[float, float]] = []
    per_bind: list[list[tuple[float, float]]] = [[] for _ in binds]
    refusals_in_a_row = 0
    while due:
        now, i, position = heapq.heappop(due)
        units, _ = queues[i][position]
        wait = binds[i].acquire(units, now)
        if wait > 0.0:
            refusals_in_a_row += 1
            assert refusals_in_a_row < 10 * len(binds) + 10, "binds spin without progress"
            heapq.heappush(due, (now + wait, i, position))
            continue
        refusals_in_a_row = 0
        grants.append((now, units))
        per_bind[i].append((now, units))
        if position + 1 < len(queues[i]):
            heapq.heappush(due, (now + queues[i][position + 1][1], i, position + 1))
    assert sum(units for _, units in grants) == sum(units for _, units, _ in requests)
    assert_within_rate(grants, rate, burst)
    for bind, granted in zip(binds, per_bind, strict=True):
        if bind.limit is not None:
            assert_within_rate(granted, bind.limit.rate, bind.limit.burst)
