"""Utility settings: the reading window and what a setting may not be."""
# ruff: noqa: RUF001 - Cyrillic command words are test data

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing_core import (
    Intent,
    Meter,
    Period,
    Plausibility,
    ReadingWindow,
    Register,
    Service,
    SettingsError,
    UtilitySettings,
    WindowPolicy,
    Zone,
)


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2024, 3, 15), Period(2024, 3)),
        (date(2024, 3, 25), Period(2024, 3)),
        (date(2024, 3, 5), Period(2024, 3)),  # before the window: this month's is next to open
        (date(2024, 3, 26), Period(2024, 4)),  # after it: the next month
        (date(2024, 12, 31), Period(2025, 1)),
    ],
)
def test_readings_outside_the_window_count_for_the_next_period(day: date, period: Period) -> None:
    assert ReadingWindow(15, 25).period_for(day) == period


def test_or_are_refused() -> None:
    window = ReadingWindow(15, 25, WindowPolicy.REFUSE)
    assert window.period_for(date(2024, 3, 20)) == Period(2024, 3)
    assert window.period_for(date(2024, 3, 26)) is None
    assert window.period_for(date(2024, 3, 14)) is None


def test_due_dates_fall_in_the_following_month() -> None:
    assert Period(2024, 3).due_date(15) == date(2024, 4, 15)
    assert Period(2024, 1).due_date(31) == date(2024, 2, 29)
    assert Period(2024, 12).due_date(10) == date(2025, 1, 10)


@pytest.mark.parametrize(
    "overrides",
    [
        {"time_zone": "Mars/Olympus"},
        {"due_day": 0},
        {"registration_hint": "x" * 25},
        {"key_rate": Decimal("9.5")},
        {"confirmation_ttl": timedelta(0)},
        {"command_aliases": {"Х": Intent.HELP}},
        {"account_digits": (8, 4)},
    ],
)
def test_settings_that_cannot_work_are_refused(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {"utility_id": "acme"}
    values.update(overrides)
    with pytest.raises(SettingsError):
        UtilitySettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReadingWindow(20, 10),
        lambda: Plausibility(high_factor=Decimal("0.5")),
        lambda: Meter(1, "M", 1, Service.GAS, ()),
        lambda: Meter(1, "M", 1, Service.GAS, (Register(1, Zone.T1), Register(2, Zone.T1))),
        lambda: Meter(1, "M", 1, Service.GAS, (Register(1, Zone.T0),), digits=0),
        lambda: Period.checked(2024, 13),
    ],
)
def test_entities_check_themselves(make: object) -> None:
    with pytest.raises(SettingsError):
        make()  # type: ignore[operator]


def test_settings_are_frozen_and_derive_their_grammar() -> None:
    settings = UtilitySettings(
        "acme", command_aliases={"ОСТАТОК": Intent.BALANCE}, account_digits=(6, 6)
    )
    assert settings.grammar.parse("остаток 123456").account_number == "123456"
    assert settings.zone.key == "Europe/Moscow"
    with pytest.raises(TypeError):
        settings.command_aliases["X"] = Intent.HELP  # type: ignore[index]
