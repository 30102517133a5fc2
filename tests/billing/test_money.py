"""Money: Decimal only, the utility's rounding mode, the context the core computes in."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    HALF_UP,
    ROUNDING_MODES,
    Flat,
    MoneyError,
    MoneyFormat,
    Rounding,
    Service,
    SettingsError,
    TariffVersion,
    Zone,
    accrue_penalty,
    to_money,
    usage_lines,
)

D = Decimal


def test_float_never_becomes_money() -> None:
    with pytest.raises(MoneyError) as raised:
        to_money(0.1)  # type: ignore[arg-type]
    assert raised.value.field == "amount"
    with pytest.raises(MoneyError):
        to_money(True)  # a bool is an int to Python, never money
    with pytest.raises(MoneyError):
        to_money("NaN")
    with pytest.raises(MoneyError):
        to_money("ten")
    assert to_money("1027.20") == D("1027.20")
    assert to_money(5) == D(5)


def test_half_up_is_the_default_not_bankers_rounding() -> None:
    # Python's own round() and Decimal's default context round half to even.
    assert round(D("0.125"), 2) == D("0.12")
    assert HALF_UP(D("0.125")) == D("0.13")
    assert HALF_UP(D("2.675")) == D("2.68")
    assert HALF_UP(D("-0.125")) == D("-0.13")


def test_unknown_rounding_modes_are_refused() -> None:
    with pytest.raises(SettingsError):
        Rounding("HALF_UP")
    with pytest.raises(SettingsError):
        Rounding(decimal.ROUND_HALF_UP, D(0))


@given(
    st.decimals(min_value=D(-(10**9)), max_value=D(10**9), places=4),
    st.sampled_from(sorted(ROUNDING_MODES)),
)
def test_rounding_is_the_utility_mode_whatever_the_ambient_context(
    amount: Decimal, mode: str
) -> None:
    expected = amount.quantize(D("0.01"), rounding=mode)
    with localcontext() as ambient:
        ambient.rounding = (
            decimal.ROUND_HALF_EVEN if mode != decimal.ROUND_HALF_EVEN else decimal.ROUND_UP
        )
        ambient.prec = 6  # a context that would wreck anything computed in it
        assert Rounding(mode)(amount) == expected


@given(st.integers(0, 10**6).map(lambda cents: D(cents) / 100 + D("0.005")))
def test_half_up_rounds_every_half_cent_away_from_zero(amount: Decimal) -> None:
    assert HALF_UP(amount) == amount + D("0.005")


def test_bills_do_not_depend_on_the_callers_decimal_context() -> None:
    version = TariffVersion(1, Service.ELECTRICITY, Flat(D("5.92")), date(2024, 1, 1))
    args = (
        [version],
        Service.ELECTRICITY,
        {Zone.T0: D("12345.678")},
        date(2024, 3, 1),
        date(2024, 4, 1),
    )
    expected = usage_lines(*args, rounding=HALF_UP)[0].amount
    with localcontext() as ambient:
        ambient.prec = 4
        ambient.rounding = decimal.ROUND_FLOOR
        assert usage_lines(*args, rounding=HALF_UP)[0].amount == expected == D("73086.41")
        penalty = accrue_penalty(
            D(10000), date(2024, 1, 15), date(2024, 5, 14), key_rate=D("0.095"), rounding=HALF_UP
        )
        assert penalty.total == D("409.23")


def test_money_formats() -> None:
    assert MoneyFormat()(D("1027.2")) == "1027,20 р"  # noqa: RUF001 - the rouble's short form
    assert MoneyFormat(symbol="лв.")(D("-15")) == "15,00 лв."
    euro = MoneyFormat(
        symbol="€", decimal_separator=".", group_separator=",", symbol_first=True, space=False
    )
    assert euro(D("1234567.891")) == "€1,234,567.89"
    assert MoneyFormat(symbol="", group_separator=" ")(D("999")) == "999,00"
    assert MoneyFormat(symbol="EUR", decimals=0)(D("10.5")) == "11 EUR"


@pytest.mark.parametrize(
    "kwargs",
    [{"symbol": "RUBLE"}, {"decimal_separator": ""}, {"group_separator": "::"}, {"decimals": 5}],
)
def test_money_formats_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        MoneyFormat(**kwargs)  # type: ignore[arg-type]
