"""Reading validation: meters and registers, rollover, plausibility, duplicates, zones."""
# ruff: noqa: RUF001, RUF003 - Cyrillic meter markers are test data

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from billing_core import (
    Meter,
    Period,
    Plausibility,
    ReadingSource,
    Register,
    RegisterCheck,
    RegisterHistory,
    Rejection,
    RejectionReason,
    Service,
    Submitted,
    Verdict,
    Zone,
    average_daily,
    check_register,
    parse_sms,
    resolve,
    zones_agree,
)

from .builders import NOW, D, monthly, reading, single_meter, two_zone_meter

MARCH = Period(2024, 3)
LAST_MONTH = NOW - timedelta(days=30)
PLAUSIBILITY = Plausibility()
WATER = single_meter(3, Service.COLD_WATER, digits=5)


def check(
    meter: Meter,
    value: str,
    history: RegisterHistory,
    *,
    plausibility: Plausibility = PLAUSIBILITY,
    check_plausible: bool = True,
) -> RegisterCheck:
    submitted = Submitted(meter, meter.registers[0], D(value))
    return check_register(
        submitted,
        history,
        period=MARCH,
        now=NOW,
        plausibility=plausibility,
        check_plausible=check_plausible,
    )


# -- rollover ------------------------------------------------------------------


def test_rollover_of_a_5_digit_meter_is_170_units() -> None:
    """Spec: 99950 -> 00120 is 170, previous near the top and the result plausible."""
    history = RegisterHistory(30, monthly(30, [99650, 99800, 99950], LAST_MONTH))
    result = check(WATER, "00120", history)
    assert result.verdict is Verdict.OK
    assert result.rollover is True
    assert result.consumption == 170


def test_no_rollover_when_the_previous_reading_is_not_near_the_top() -> None:
    history = RegisterHistory(30, monthly(30, [49700, 49850, 50000], LAST_MONTH))
    assert check(WATER, "120", history).verdict is Verdict.LOWER


def test_no_rollover_when_the_result_is_implausible() -> None:
    history = RegisterHistory(30, monthly(30, [99650, 99800, 99950], LAST_MONTH))
    # 99950 -> 90000 would be 90050 units in a month: a typo, not a rollover.
    assert check(WATER, "90000", history).verdict is Verdict.LOWER


def test_no_rollover_without_a_basis_for_the_check() -> None:
    history = RegisterHistory(30, (reading(30, 99950, LAST_MONTH),))
    assert check(WATER, "120", history).verdict is Verdict.LOWER
    # A utility's default daily use is such a basis.
    defaults = Plausibility(default_daily={Service.COLD_WATER: D(5)})
    result = check(WATER, "120", history, plausibility=defaults)
    assert result.verdict is Verdict.OK


def test_a_lower_reading_is_refused() -> None:
    history = RegisterHistory(30, monthly(30, [1000, 1100, 1200], LAST_MONTH))
    assert check(WATER, "1199", history).verdict is Verdict.LOWER


# -- plausibility ------------------------------------------------------------------


def test_consumption_far_above_the_usual_asks_for_confirmation() -> None:
    # 100 a month (3.33 a day): the band for 30 days is 100 x 3 + 3 of slack.
    history = RegisterHistory(30, monthly(30, [1000, 1100, 1200], LAST_MONTH))
    assert check(WATER, "1503", history).verdict is Verdict.OK
    assert check(WATER, "1504", history).verdict is Verdict.TOO_HIGH
    unchecked = check(WATER, "1504", history, check_plausible=False)
    assert unchecked.verdict is Verdict.OK


def test_without_history_a_reading_is_not_checked() -> None:
    history = RegisterHistory(30, (reading(30, 1000, LAST_MONTH),))
    assert check(WATER, "9000", history).verdict is Verdict.OK


def test_the_band_counts_from_the_last_real_reading() -> None:
    # Two estimates since the last real reading: 90 days of usual use are allowed.
    history = RegisterHistory(
        30,
        (
            reading(30, 1000, NOW - timedelta(days=150)),
            reading(30, 1200, NOW - timedelta(days=90)),
            reading(30, 1210, NOW - timedelta(days=60), source=ReadingSource.ESTIMATE),
            reading(30, 1220, NOW - timedelta(days=30), source=ReadingSource.ESTIMATE),
        ),
    )
    # average 200/60 a day; 90 days x 3 + 3 = 903 above 1200.
    assert check(WATER, "2100", history).verdict is Verdict.OK
    assert check(WATER, "2104", history).verdict is Verdict.TOO_HIGH


def test_average_daily_skips_estimates_and_sees_rollovers() -> None:
    meter = single_meter(digits=4)
    readings = (
        reading(30, 9900, NOW - timedelta(days=60)),
        reading(30, 9999, NOW - timedelta(days=45), source=ReadingSource.ESTIMATE),
        reading(30, 100, NOW - timedelta(days=30)),
    )
    assert average_daily(readings, meter, 20) == D(200) / 30
    assert average_daily(readings, meter, 31) is None
    assert average_daily(readings[:1], meter, 1) is None


def test_first_reading_of_a_register() -> None:
    assert check(WATER, "5", RegisterHistory(30)).verdict is Verdict.FIRST


# -- duplicates ----------------------------------------------------------------


def test_the_same_value_in_the_same_period_is_a_duplicate() -> None:
    history = RegisterHistory(30, (reading(30, 1200, NOW - timedelta(hours=2)),))
    assert check(WATER, "1200", history).verdict is Verdict.DUPLICATE


def test_the_same_value_a_month_later_is_zero_consumption() -> None:
    history = RegisterHistory(30, (reading(30, 1200, LAST_MONTH),))
    result = check(WATER, "1200", history)
    assert result.verdict is Verdict.OK
    assert result.consumption == 0


# -- zones ---------------------------------------------------------------------


def total_and_zones(digits: int = 6, decimals: int = 0) -> Meter:
    registers = (Register(1, Zone.T0), Register(2, Zone.T1), Register(3, Zone.T2))
    return Meter(9, "Z", 1, Service.ELECTRICITY, registers, digits=digits, decimals=decimals)


@pytest.mark.parametrize(
    ("t0", "agree"), [("17230", True), ("17232", True), ("17233", False), ("17100", False)]
)
def test_the_total_register_agrees_with_the_zones(t0: str, agree: bool) -> None:
    values = {Zone.T0: D(t0), Zone.T1: D(12150), Zone.T2: D(5080)}
    assert zones_agree(total_and_zones(), values) is agree


def test_zones_agree_across_a_rollover_of_the_total() -> None:
    meter = total_and_zones(digits=5)
    assert zones_agree(meter, {Zone.T0: D(1000), Zone.T1: D(60000), Zone.T2: D(41000)})


def test_zones_agree_when_not_all_are_sent() -> None:
    assert zones_agree(total_and_zones(), {Zone.T0: D(1), Zone.T1: D(12150)})
    assert zones_agree(total_and_zones(), {Zone.T1: D(1), Zone.T2: D(2)})


# -- which meter, which register ----------------------------------------------

HOT = single_meter(4, Service.HOT_WATER)
GAS = single_meter(5, Service.GAS)
COLD = single_meter(3, Service.COLD_WATER)


def placed(
    text: str, meters: tuple[Meter, ...]
) -> tuple[tuple[int, Zone, Decimal], ...] | RejectionReason:
    result = resolve(meters, parse_sms(text).meters, "123456")
    if isinstance(result, Rejection):
        return result.reason
    return tuple((s.meter.id, s.register.zone, s.value) for s in result)


def test_positional_values_fill_the_zone_registers() -> None:
    assert placed("123456 12150 5080", (two_zone_meter(),)) == (
        (1, Zone.T1, D(12150)),
        (1, Zone.T2, D(5080)),
    )


def test_all_registers_when_as_many_values_are_sent() -> None:
    meter = total_and_zones()
    assert placed("123456 17230 12150 5080", (meter,)) == (
        (9, Zone.T0, D(17230)),
        (9, Zone.T1, D(12150)),
        (9, Zone.T2, D(5080)),
    )


def test_markers_pick_meters_by_service() -> None:
    assert placed("ЖКХ 123456 Х 56.8 Г 47.3", (COLD, HOT)) == (
        (3, Zone.T0, D("56.8")),
        (4, Zone.T0, D("47.3")),
    )


def test_g_is_ambiguous_only_with_both_hot_water_and_gas() -> None:
    assert placed("123456 Г 47", (COLD, HOT, GAS)) is RejectionReason.AMBIGUOUS_METER
    assert placed("123456 ГАЗ 47", (COLD, HOT, GAS)) == ((5, Zone.T0, D(47)),)
    assert placed("123456 ГВ 47", (COLD, HOT, GAS)) == ((4, Zone.T0, D(47)),)


def test_ordinals_count_meters_of_the_service() -> None:
    second_gas = single_meter(6, Service.GAS)
    assert (
        placed("102055 1Э12345 2Г321", (two_zone_meter(), GAS, second_gas))
        == RejectionReason.WRONG_VALUE_COUNT
    )
    # "ГАЗ1" is the marker with the value 1 glued on: two values for one of two gas meters.
    assert placed("102055 ГАЗ1 5 2ГАЗ 6", (GAS, second_gas)) is RejectionReason.AMBIGUOUS_METER
    assert placed("102055 1ГАЗ 5 2ГАЗ 6", (GAS, second_gas)) == (
        (5, Zone.T0, D(5)),
        (6, Zone.T0, D(6)),
    )
    assert placed("1#1250/1730", (two_zone_meter(), GAS)) == (
        (1, Zone.T1, D(1250)),
        (1, Zone.T2, D(1730)),
    )
    assert placed("3#1250", (two_zone_meter(), GAS)) is RejectionReason.UNKNOWN_METER


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("123456 1", RejectionReason.WRONG_VALUE_COUNT),  # two zones need two values
        ("123456 Т3 5", RejectionReason.UNKNOWN_REGISTER),
        ("123456 1000000 5", RejectionReason.VALUE_OUT_OF_RANGE),  # 7 digits on a 6-digit dial
        ("123456 ГАЗ 5", RejectionReason.UNKNOWN_METER),
        ("123456 0Э 5/6", RejectionReason.UNKNOWN_METER),  # ordinals count from 1
        ("123456 Э 1/2 Э 3/4", RejectionReason.AMBIGUOUS_METER),  # the same meter twice
    ],
)
def test_values_that_cannot_be_placed(text: str, reason: RejectionReason) -> None:
    assert placed(text, (two_zone_meter(),)) is reason


def test_several_meters_need_markers() -> None:
    assert placed("123456 56", (COLD, HOT)) is RejectionReason.AMBIGUOUS_METER
