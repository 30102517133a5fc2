"""Token bucket and the simple controllers, on an injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from throttling import TokenBucket, TokenBucketController, Unlimited


def test_burst_then_steady_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5, now=0.0)
    assert [bucket.take(now=0.0) for _ in range(5)] == [0.0] * 5
    assert bucket.take(now=0.0) == pytest.approx(0.1)
    assert bucket.take(now=0.1) == 0.0
    assert bucket.take(now=0.1) == pytest.approx(0.1)


@given(
    rate=st.floats(1, 1000),
    units=st.lists(st.integers(1, 5), min_size=1, max_size=200),
)
def test_a_caller_that_waits_as_told_never_exceeds_the_rate(rate: float, units: list[int]) -> None:
    burst = 5.0
    bucket = TokenBucket(rate, burst, now=0.0)
    now = 0.0
    sent = 0
    for n in units:
        while (wait := bucket.take(n, now=now)) > 0:
            now += wait
        sent += n
        # Everything sent by `now` fits in the burst plus what the rate earned.
        assert sent <= burst + rate * now + 1e-6 * max(1.0, rate * now) + max(0, n - burst)


def test_more_than_a_burst_goes_into_debt_instead_of_waiting_forever() -> None:
    bucket = TokenBucket(rate=1, burst=2, now=0.0)
    assert bucket.take(5, now=0.0) == 0.0
    assert bucket.take(1, now=0.0) == pytest.approx(4.0)


def test_rate_change_and_validation() -> None:
    bucket = TokenBucket(rate=1, burst=1, now=0.0)
    assert bucket.take(now=0.0) == 0.0
    bucket.set_rate(10, now=0.0)
    assert bucket.take(now=0.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, now=0.0)


def test_controllers_pause_with_doubling_backoff_reset_by_success() -> None:
    for controller in (
        Unlimited(pause=1, max_pause=4),
        TokenBucketController(100, now=0.0, pause=1, max_pause=4),
    ):
        assert [controller.throttled(0x58, 0.0) for _ in range(4)] == [1, 2, 4, 4]
        controller.accepted(0.0)
        assert controller.throttled(0x14, 0.0) == 1
    assert Unlimited().acquire(3, 0.0) == 0.0
    limited = TokenBucketController(2, burst=2, now=0.0)
    assert limited.acquire(2, 0.0) == 0.0
    assert limited.acquire(1, 0.0) == pytest.approx(0.5)
