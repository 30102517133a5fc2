"""Tariffs: the spec's worked bills, every kind, tariff changes split by days."""

from __future__ import annotations

import decimal
from datetime import date, timedelta
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    CALC,
    HALF_UP,
    ROUNDING_MODES,
    Band,
    BlockVolume,
    FixedCharge,
    Flat,
    Graduated,
    Rounding,
    Service,
    SettingsError,
    SocialNorm,
    TariffError,
    TariffVersion,
    Zone,
    Zoned,
    fixed_lines,
    period_lines,
    usage_lines,
)

D = Decimal
WATER = Service.COLD_WATER
POWER = Service.ELECTRICITY
Q1 = (date(2024, 1, 1), date(2024, 4, 1))
MARCH = (date(2024, 3, 1), date(2024, 4, 1))

WATER_BLOCKS = Graduated(
    (Band(D(18), D("0.35")), Band(D(30), D("0.70")), Band(D(48), D("1.10")), Band(None, D("1.50")))
)


def total(lines: tuple[object, ...]) -> Decimal:
    return sum((line.amount for line in lines), D(0))  # type: ignore[attr-defined]


def test_two_zone_electricity_is_1027_20() -> None:
    """Spec: T1 12000 -> 12150 at 5.92, T2 5000 -> 5080 at 1.74: 888.00 + 139.20."""
    tariff = TariffVersion(
        1, POWER, Zoned({Zone.T1: D("5.92"), Zone.T2: D("1.74")}), date(2024, 1, 1)
    )
    lines = usage_lines(
        [tariff], POWER, {Zone.T1: D(150), Zone.T2: D(80)}, *MARCH, rounding=HALF_UP
    )
    assert [(line.label, line.amount) for line in lines] == [
        ("T1", D("888.00")),
        ("T2", D("139.20")),
    ]
    assert total(lines) == D("1027.20")


def test_graduated_water_quarter_is_35_01() -> None:
    """Spec: 40 m3 in a quarter: 18x0.35 + 12x0.70 + 10x1.10 = 25.70, plus 9.31 fixed."""
    versions = [
        TariffVersion(1, WATER, WATER_BLOCKS, date(2023, 1, 1)),
        TariffVersion(2, WATER, FixedCharge(D("9.31")), date(2023, 1, 1)),
    ]
    usage = usage_lines(versions, WATER, {Zone.T0: D(40)}, *Q1, rounding=HALF_UP)
    assert [(line.quantity, line.amount) for line in usage] == [
        (D(18), D("6.30")),
        (D(12), D("8.40")),
        (D(10), D("11.00")),
    ]
    assert total(usage) == D("25.70")
    assert total(fixed_lines(versions, WATER, *Q1, rounding=HALF_UP)) == D("9.31")
    assert total(period_lines(versions, WATER, {Zone.T0: D(40)}, *Q1, rounding=HALF_UP)) == D(
        "35.01"
    )


def test_graduated_reaches_the_open_band() -> None:
    lines = usage_lines(
        [TariffVersion(1, WATER, WATER_BLOCKS, date(2023, 1, 1))],
        WATER,
        {Zone.T0: D(50)},
        *Q1,
        rounding=HALF_UP,
    )
    assert [line.quantity for line in lines] == [D(18), D(12), D(18), D(2)]
    assert total(lines) == D("6.30") + D("8.40") + D("19.80") + D("3.00")


def test_block_volume_prices_everything_at_the_band_reached() -> None:
    volume = BlockVolume(WATER_BLOCKS.bands)
    version = TariffVersion(1, WATER, volume, date(2023, 1, 1))
    assert total(usage_lines([version], WATER, {Zone.T0: D(40)}, *Q1, rounding=HALF_UP)) == D(
        "44.00"
    )
    assert total(usage_lines([version], WATER, {Zone.T0: D(18)}, *Q1, rounding=HALF_UP)) == D(
        "6.30"
    )


def test_social_norm_is_cheaper_within_the_norm() -> None:
    version = TariffVersion(1, POWER, SocialNorm(D(100), D("4.00"), D("6.00")), date(2024, 1, 1))
    lines = usage_lines([version], POWER, {Zone.T0: D(150)}, *MARCH, rounding=HALF_UP)
    assert [(line.label, line.amount) for line in lines] == [
        ("norm", D("400.00")),
        ("above norm", D("300.00")),
    ]
    below = usage_lines([version], POWER, {Zone.T0: D(80)}, *MARCH, rounding=HALF_UP)
    assert [(line.label, line.amount) for line in below] == [("norm", D("320.00"))]


def test_flat_prices_the_sum_of_the_zones() -> None:
    version = TariffVersion(1, POWER, Flat(D("5.00")), date(2024, 1, 1))
    lines = usage_lines(
        [version], POWER, {Zone.T1: D(150), Zone.T2: D(80)}, *MARCH, rounding=HALF_UP
    )
    assert [(line.quantity, line.amount) for line in lines] == [(D(230), D("1150.00"))]


def test_a_tariff_change_splits_the_interval_by_days() -> None:
    # 20 Feb - 21 Mar 2024 is 30 days: 10 at the old price, 20 at the new one.
    versions = [
        TariffVersion(1, POWER, Flat(D("5.00")), date(2024, 1, 1), date(2024, 3, 1)),
        TariffVersion(2, POWER, Flat(D("6.00")), date(2024, 3, 1)),
    ]
    lines = usage_lines(
        versions, POWER, {Zone.T0: D(300)}, date(2024, 2, 20), date(2024, 3, 21), rounding=HALF_UP
    )
    assert [(line.tariff_id, line.days, line.quantity, line.amount) for line in lines] == [
        (1, 10, D(100), D("500.00")),
        (2, 20, D(200), D("1200.00")),
    ]


def test_a_split_scales_the_band_limits_with_the_days() -> None:
    # A quarter of 91 days, the price of band 1 changes after 30 days: each
    # version sees its share of the 40 m3 and of the 18 m3 band limit.
    cheaper = Graduated((Band(D(18), D("0.30")), *WATER_BLOCKS.bands[1:]))
    versions = [
        TariffVersion(1, WATER, cheaper, date(2023, 1, 1), date(2024, 1, 31)),
        TariffVersion(2, WATER, WATER_BLOCKS, date(2024, 1, 31)),
    ]
    lines = usage_lines(versions, WATER, {Zone.T0: D(40)}, *Q1, rounding=HALF_UP)
    first = [line for line in lines if line.tariff_id == 1]
    second = [line for line in lines if line.tariff_id == 2]
    with localcontext(CALC):  # the core computes in 34 digits
        assert sum((line.quantity for line in first), D(0)) == D(40) * 30 / 91
        assert first[0].quantity == D(18) * 30 / 91  # the scaled band limit
    assert sum((line.quantity for line in lines), D(0)).quantize(D("0.000001")) == D(40)
    assert len(second) == 3


def test_a_zone_with_its_own_version_is_priced_by_it_alone() -> None:
    versions = [
        TariffVersion(1, POWER, Flat(D("5.00")), date(2024, 1, 1)),
        TariffVersion(2, POWER, Flat(D("2.00")), date(2024, 1, 1), zone=Zone.T2),
    ]
    lines = usage_lines(
        versions, POWER, {Zone.T1: D(100), Zone.T2: D(50)}, *MARCH, rounding=HALF_UP
    )
    assert sorted((line.tariff_id, line.quantity) for line in lines) == [(1, D(100)), (2, D(50))]
    assert total(lines) == D("600.00")


def test_a_fixed_charge_is_split_by_days_too() -> None:
    versions = [
        TariffVersion(1, WATER, FixedCharge(D("31.00")), date(2024, 1, 1), date(2024, 3, 11)),
        TariffVersion(2, WATER, FixedCharge(D("62.00")), date(2024, 3, 11)),
    ]
    lines = fixed_lines(versions, WATER, *MARCH, rounding=HALF_UP)
    assert [line.amount for line in lines] == [D("10.00"), D("42.00")]


def test_no_tariff_for_a_day_is_a_typed_error_naming_the_day() -> None:
    versions = [TariffVersion(1, POWER, Flat(D(5)), date(2024, 3, 10))]
    with pytest.raises(TariffError) as raised:
        usage_lines(versions, POWER, {Zone.T0: D(1)}, *MARCH, rounding=HALF_UP)
    assert raised.value.field == "electricity"
    assert raised.value.value == "2024-03-01"


def test_a_gap_between_versions_is_found() -> None:
    versions = [
        TariffVersion(1, POWER, Flat(D(5)), date(2024, 1, 1), date(2024, 3, 5)),
        TariffVersion(2, POWER, Flat(D(6)), date(2024, 3, 7)),
    ]
    with pytest.raises(TariffError) as raised:
        usage_lines(versions, POWER, {Zone.T0: D(1)}, *MARCH, rounding=HALF_UP)
    assert raised.value.value == "2024-03-05"


def test_overlapping_versions_are_a_typed_error() -> None:
    versions = [
        TariffVersion(1, POWER, Flat(D(5)), date(2024, 1, 1)),
        TariffVersion(2, POWER, Flat(D(6)), date(2024, 3, 10)),
    ]
    with pytest.raises(TariffError):
        usage_lines(versions, POWER, {Zone.T0: D(1)}, *MARCH, rounding=HALF_UP)


def test_a_zoned_tariff_without_the_zone_is_a_typed_error() -> None:
    version = TariffVersion(1, POWER, Zoned({Zone.T1: D(5)}), date(2024, 1, 1))
    with pytest.raises(TariffError) as raised:
        usage_lines([version], POWER, {Zone.T2: D(1)}, *MARCH, rounding=HALF_UP)
    assert raised.value.field == "electricity.T2"


@pytest.mark.parametrize(
    "bands",
    [(), (Band(D(10), D(1)),), (Band(D(10), D(1)), Band(D(5), D(2)), Band(None, D(3)))],
)
def test_bands_are_checked(bands: tuple[Band, ...]) -> None:
    with pytest.raises(SettingsError):
        Graduated(bands)


def test_a_version_ends_after_it_starts() -> None:
    with pytest.raises(SettingsError):
        TariffVersion(1, POWER, Flat(D(1)), date(2024, 3, 1), date(2024, 3, 1))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (decimal.ROUND_HALF_UP, D("0.13")),
        (decimal.ROUND_HALF_EVEN, D("0.12")),
        (decimal.ROUND_DOWN, D("0.12")),
    ],
)
def test_lines_round_with_the_utility_mode(mode: str, expected: Decimal) -> None:
    version = TariffVersion(1, POWER, Flat(D("0.125")), date(2024, 1, 1))
    lines = usage_lines([version], POWER, {Zone.T0: D(1)}, *MARCH, rounding=Rounding(mode))
    assert lines[0].amount == expected


# -- properties ---------------------------------------------------------------

prices = st.decimals(min_value=D("0.01"), max_value=D("99.99"), places=2)
quantities = st.decimals(min_value=D(0), max_value=D(100000), places=3)


@st.composite
def graduated(draw: st.DrawFn) -> Graduated:
    limits = sorted(draw(st.sets(st.integers(1, 5000), max_size=5)))
    band_prices = draw(st.lists(prices, min_size=len(limits) + 1, max_size=len(limits) + 1))
    bands = [Band(D(limit), price) for limit, price in zip(limits, band_prices, strict=False)]
    return Graduated((*bands, Band(None, band_prices[-1])))


@given(
    graduated(), quantities, quantities, st.sampled_from(sorted(ROUNDING_MODES)), st.integers(0, 60)
)
def test_a_graduated_tariff_is_monotone_in_consumption(
    pricing: Graduated, a: Decimal, b: Decimal, mode: str, change_after: int
) -> None:
    low, high = sorted((a, b))
    start, end = date(2024, 1, 1), date(2024, 3, 1)
    change = start + timedelta(days=change_after)
    versions = [
        TariffVersion(1, WATER, pricing, date(2020, 1, 1), change),
        TariffVersion(2, WATER, pricing, change),
    ]
    if change <= start:
        versions = [TariffVersion(2, WATER, pricing, date(2020, 1, 1))]
    rounding = Rounding(mode)

    def bill(quantity: Decimal) -> Decimal:
        return total(
            usage_lines(versions, WATER, {Zone.T0: quantity}, start, end, rounding=rounding)
        )

    assert bill(low) <= bill(high)


@given(quantities, prices, st.sampled_from(sorted(ROUNDING_MODES)))
def test_every_line_is_rounded_once_with_the_utility_mode(
    quantity: Decimal, price: Decimal, mode: str
) -> None:
    version = TariffVersion(1, POWER, Flat(price), date(2024, 1, 1))
    (line,) = usage_lines([version], POWER, {Zone.T0: quantity}, *MARCH, rounding=Rounding(mode))
    assert line.amount == (quantity * price).quantize(D("0.01"), rounding=mode)
