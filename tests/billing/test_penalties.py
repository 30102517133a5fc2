"""Penalties: the configurable schedule, each stretch computed exactly and rounded once."""

from __future__ import annotations

import decimal
from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing_core import (
    HALF_UP,
    RUSSIAN_SCHEDULE,
    DebtChange,
    PenaltySchedule,
    PenaltyStretch,
    Rounding,
    SettingsError,
    accrue_penalty,
)

D = Decimal
DUE = date(2024, 1, 15)
KEY_RATE = D("0.095")


def day(n: int) -> date:
    """Day ``n`` after the due date (day 1 is the day after it)."""
    return DUE + timedelta(days=n)


def test_russian_penalty_on_10000_paid_on_day_120_is_409_23() -> None:
    """Spec: 60 x 10000 x 0.095/300 + 30 x 10000 x 0.095/130 = 190.00 + 219.23."""
    penalty = accrue_penalty(D("10000.00"), DUE, day(120), key_rate=KEY_RATE, rounding=HALF_UP)
    assert [(line.first_day, line.last_day, line.days, line.amount) for line in penalty.lines] == [
        (31, 90, 60, D("190.00")),
        (91, 120, 30, D("219.23")),
    ]
    assert penalty.total == D("409.23")


@pytest.mark.parametrize("paid_on_day", [-5, 0, 1, 30])
def test_the_first_30_days_are_free(paid_on_day: int) -> None:
    penalty = accrue_penalty(D(10000), DUE, day(paid_on_day), key_rate=KEY_RATE, rounding=HALF_UP)
    assert penalty.total == 0
    assert penalty.lines == ()


def test_day_31_is_the_first_charged() -> None:
    penalty = accrue_penalty(D(10000), DUE, day(31), key_rate=KEY_RATE, rounding=HALF_UP)
    assert penalty.total == D("3.17")  # 10000 x 0.095 / 300 = 3.1666...


def test_each_stretch_is_rounded_once_not_per_day() -> None:
    # 3.1666... a day: 60 days rounded per day would be 60 x 3.17 = 190.20.
    penalty = accrue_penalty(D(10000), DUE, day(90), key_rate=KEY_RATE, rounding=HALF_UP)
    assert penalty.total == D("190.00")
    # 30 days at 7.3076... a day: rounded per day it would be 219.30.
    late = accrue_penalty(D(10000), DUE, day(120), key_rate=KEY_RATE, rounding=HALF_UP)
    assert late.lines[1].amount == D("219.23")


def test_the_utility_mode_rounds_the_stretches() -> None:
    down = accrue_penalty(
        D(10000), DUE, day(120), key_rate=KEY_RATE, rounding=Rounding(decimal.ROUND_DOWN)
    )
    assert [line.amount for line in down.lines] == [D("190.00"), D("219.23")]
    up = accrue_penalty(
        D(10000), DUE, day(120), key_rate=KEY_RATE, rounding=Rounding(decimal.ROUND_UP)
    )
    assert [line.amount for line in up.lines] == [D("190.00"), D("219.24")]


def test_partial_payments_lower_the_debt_from_the_next_day() -> None:
    # 10000 for days 31-60 (paid 5000 on day 60), 5000 for days 61-90.
    penalty = accrue_penalty(
        D(10000),
        DUE,
        day(90),
        key_rate=KEY_RATE,
        rounding=HALF_UP,
        changes=[DebtChange(day(60), D(5000))],
    )
    (line,) = penalty.lines
    assert line.debt_days == D(10000) * 30 + D(5000) * 30
    assert line.amount == D("142.50")  # 450000 x 0.095 / 300


def test_a_payment_before_the_due_date_counts_from_day_one() -> None:
    penalty = accrue_penalty(
        D(10000), DUE, day(90), key_rate=KEY_RATE, rounding=HALF_UP,
        changes=[DebtChange(DUE - timedelta(days=3), D(3000))],
    )  # fmt: skip
    assert penalty.total == D("57.00")  # 3000 x 60 x 0.095 / 300


def test_a_custom_schedule() -> None:
    flat = PenaltySchedule((PenaltyStretch(1, 10, 0, 1), PenaltyStretch(11, None, 1, 365)))
    penalty = accrue_penalty(
        D(36500), DUE, day(20), key_rate=D("0.10"), schedule=flat, rounding=HALF_UP
    )
    assert penalty.total == D("100.00")  # 10 days x 36500 x 0.10 / 365


@pytest.mark.parametrize(
    "stretches",
    [
        (PenaltyStretch(2, None, 1, 300),),  # does not start on day 1
        (PenaltyStretch(1, 30, 0, 1), PenaltyStretch(40, None, 1, 300)),  # a hole
        (PenaltyStretch(1, 30, 0, 1),),  # ends
        (PenaltyStretch(1, None, 0, 1), PenaltyStretch(2, None, 0, 1)),  # past the open end
    ],
)
def test_schedules_are_checked(stretches: tuple[PenaltyStretch, ...]) -> None:
    with pytest.raises(SettingsError):
        PenaltySchedule(stretches)


def test_a_key_rate_in_percent_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        accrue_penalty(D(10000), DUE, day(120), key_rate=D("9.5"), rounding=HALF_UP)
    assert raised.value.field == "key_rate"


def test_the_russian_schedule_is_the_spec() -> None:
    assert [
        (s.first_day, s.last_day, s.numerator, s.denominator) for s in RUSSIAN_SCHEDULE.stretches
    ] == [
        (1, 30, 0, 1),
        (31, 90, 1, 300),
        (91, None, 1, 130),
    ]
