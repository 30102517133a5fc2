"""Penalties on late payment: a configurable schedule of stretches of days.

Day 1 is the day after the due date; the day a payment is made still counts
(a debt paid on day 120 owes for 120 days). Each stretch charges a fraction of
the key rate per day (the Russian default: nothing for days 1-30, 1/300 for
31-90, 1/130 from 91). A stretch's amount is computed exactly over all its days,
then rounded once with the utility's mode: never per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Final

from .errors import SettingsError
from .money import CALC, ZERO, Rounding, money_sum


@dataclass(frozen=True, slots=True)
class PenaltyStretch:
    """Days ``first_day``..``last_day`` (None: no end), each at ``numerator/denominator``
    of the key rate."""

    first_day: int
    last_day: int | None
    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.first_day < 1 or (self.last_day is not None and self.last_day < self.first_day):
            raise SettingsError(
                "a stretch runs from day 1 or later to a later day",
                field="penalty_schedule",
                value=(self.first_day, self.last_day),
            )
        if self.numerator < 0 or self.denominator <= 0:
            raise SettingsError(
                "a stretch's fraction is non-negative",
                field="penalty_schedule",
                value=(self.numerator, self.denominator),
            )


@dataclass(frozen=True, slots=True)
class PenaltySchedule:
    """Stretches that follow each other from day 1, the last one without end."""

    stretches: tuple[PenaltyStretch, ...]

    def __post_init__(self) -> None:
        expected: int | None = 1
        for stretch in self.stretches:
            if expected is None or stretch.first_day != expected:
                raise SettingsError(
                    "penalty stretches must follow each other from day 1",
                    field="penalty_schedule",
                    value=stretch.first_day,
                )
            expected = None if stretch.last_day is None else stretch.last_day + 1
        if expected is not None:
            raise SettingsError(
                "the last penalty stretch has no end", field="penalty_schedule", value=expected
            )


#: Russian housing rules (ЖК РФ art. 155 p. 14): 30 days free, then 1/300, then 1/130.
RUSSIAN_SCHEDULE: Final = PenaltySchedule(
    (
        PenaltyStretch(1, 30, 0, 1),
        PenaltyStretch(31, 90, 1, 300),
        PenaltyStretch(91, None, 1, 130),
    )
)


@dataclass(frozen=True, slots=True)
class DebtChange:
    """After the payment made on ``on``, ``outstanding`` is left (from the next day on)."""

    on: date
    outstanding: Decimal


@dataclass(frozen=True, slots=True)
class PenaltyLine:
    """One stretch: ``days`` days over which ``debt_days`` (Σ debt per day) accrued."""

    first_day: int
    last_day: int
    days: int
    numerator: int
    denominator: int
    debt_days: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Penalty:
    lines: tuple[PenaltyLine, ...]

    @property
    def total(self) -> Decimal:
        return money_sum(line.amount for line in self.lines)


def _check_rate(key_rate: Decimal) -> None:
    if not isinstance(key_rate, Decimal) or not ZERO <= key_rate < 1:
        # 9.5 % is Decimal("0.095"); a 9.5 here would charge a hundred times too much.
        raise SettingsError(
            "the key rate is a fraction: 0.095 for 9.5 %", field="key_rate", value=key_rate
        )


def _accrue(
    principal: Decimal,
    due_date: date,
    until: date,
    *,
    key_rate: Decimal,
    schedule: PenaltySchedule = RUSSIAN_SCHEDULE,
    rounding: Rounding,
    changes: Sequence[DebtChange] = (),
) -> Penalty:
    _check_rate(key_rate)
    overdue = (until - due_date).days
    if overdue <= 0:
        return Penalty(())
    # The debt as steps: (first day it applies, amount), day numbers from 1.
    steps: list[tuple[int, Decimal]] = [(1, principal)]
    for change in changes:
        day = (change.on - due_date).days + 1
        if day <= 1:
            steps = [(1, change.outstanding)]
        elif day <= overdue:
            steps.append((day, change.outstanding))
    lines: list[PenaltyLine] = []
    for stretch in schedule.stretches:
        first = stretch.first_day
        last = overdue if stretch.last_day is None else min(stretch.last_day, overdue)
        if first > last:
            break
        debt_days = ZERO
        for index, (step_first, amount) in enumerate(steps):
            step_last = steps[index + 1][0] - 1 if index + 1 < len(steps) else overdue
            days = min(last, step_last) - max(first, step_first) + 1
            if days > 0:
                debt_days += amount * days
        if stretch.numerator == 0 or debt_days <= 0:
            continue
        exact = debt_days * key_rate * stretch.numerator / stretch.denominator
        lines.append(
            PenaltyLine(
                first,
                last,
                last - first + 1,
                stretch.numerator,
                stretch.denominator,
                debt_days,
                rounding(exact),
            )
        )
    return Penalty(tuple(lines))


def accrue_penalty(
    principal: Decimal,
    due_date: date,
    until: date,
    *,
    key_rate: Decimal,
    schedule: PenaltySchedule = RUSSIAN_SCHEDULE,
    rounding: Rounding,
    changes: Sequence[DebtChange] = (),
) -> Penalty:
    """The penalty on ``principal`` overdue since ``due_date``, counted up to ``until`` inclusive.

    ``changes`` are partial payments (in date order): the debt left after each
    counts from the day after it. Stretches without any debt-day give no line.
    """
    with localcontext(CALC):
        return _accrue(
            principal,
            due_date,
            until,
            key_rate=key_rate,
            schedule=schedule,
            rounding=rounding,
            changes=changes,
        )
