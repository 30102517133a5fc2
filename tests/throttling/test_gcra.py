"""GCRA specifics: the theoretical arrival time, and no drift over a long busy run."""

from __future__ import annotations

import math

import pytest

from throttling import GCRA


def test_theoretical_arrival_time_advances_by_one_interval_per_unit() -> None:
    gcra = GCRA(rate=10, burst=5, now=0.0)
    assert gcra.theoretical_arrival_time(0.0) == 0.0
    assert gcra.take(3, now=0.0) == 0.0
    assert gcra.theoretical_arrival_time(0.0) == pytest.approx(0.3)
    assert gcra.available(0.0) == pytest.approx(2)
    # Once the units are earned, an idle limiter's TAT is now.
    assert gcra.theoretical_arrival_time(7.0) == 7.0
    assert gcra.available(7.0) == 5


def test_a_request_fits_while_the_tat_stays_within_the_burst() -> None:
    gcra = GCRA(rate=2, burst=4, now=100.0)
    assert gcra.take(4, now=100.0) == 0.0  # TAT = 102: two seconds of burst used
    assert gcra.take(1, now=100.0) == pytest.approx(0.5)
    assert gcra.take(1, now=100.5) == 0.0  # TAT 102.5 - 100.5 = 2 s: within the burst
    assert gcra.theoretical_arrival_time(100.5) == pytest.approx(102.5)


def test_debt_shows_as_negative_availability() -> None:
    gcra = GCRA(rate=1, burst=2, now=0.0)
    assert gcra.take(5, now=0.0) == 0.0
    assert gcra.available(0.0) == pytest.approx(-3)
    assert gcra.available(4.0) == pytest.approx(1)


def test_a_stale_now_earns_nothing() -> None:
    gcra = GCRA(rate=1, burst=1, now=0.0)
    assert gcra.take(now=10.0) == 0.0
    assert gcra.take(now=5.0) == pytest.approx(1.0)
    assert gcra.take(now=10.5) == pytest.approx(0.5)
    assert gcra.take(now=11.0) == 0.0


def test_a_long_busy_run_keeps_the_tat_exact() -> None:
    # A caller asking three times too often keeps the limiter busy for 30000 s.
    # A TAT kept by adding 1/3 s per grant would drift by many ulps by then; the
    # anchor plus an exact count of grants does not.
    gcra = GCRA(rate=3.0, burst=2, now=0.0)
    granted = 0
    for k in range(300_000):
        if gcra.take(1, now=k * 0.1) == 0.0:
            granted += 1
    now = 299_999 * 0.1
    assert granted == pytest.approx(3.0 * now + 2, abs=1)
    assert abs(gcra.theoretical_arrival_time(now) - granted / 3.0) <= math.ulp(granted / 3.0)
