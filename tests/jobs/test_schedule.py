"""When a job is due: local wall time, every day or on a day of the month, across
daylight-saving changes; missed moments listed once each."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.jobs import Daily, Monthly, parse_time_of_day, ticks_between

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


def at(zone: ZoneInfo, *fields: int) -> float:
    return datetime(*fields, tzinfo=zone).timestamp()  # type: ignore[misc]


def local(moment: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(moment, zone)


def test_monthly_is_the_next_such_day_at_that_wall_time() -> None:
    schedule = Monthly(1, time(2, 0), MOSCOW)
    assert schedule.next_after(at(MOSCOW, 2026, 12, 5, 12)) == at(MOSCOW, 2027, 1, 1, 2)
    assert schedule.next_after(at(MOSCOW, 2026, 12, 1, 1, 59)) == at(MOSCOW, 2026, 12, 1, 2)
    # Strictly after: at the moment itself, the next month's.
    assert schedule.next_after(at(MOSCOW, 2026, 12, 1, 2)) == at(MOSCOW, 2027, 1, 1, 2)


def test_the_wall_time_holds_across_daylight_saving() -> None:
    daily = Daily(time(2, 0), BERLIN)
    before = daily.next_after(at(BERLIN, 2026, 10, 24, 12))
    after = daily.next_after(before)
    assert [local(m, BERLIN).hour for m in (before, after)] == [2, 2]
    assert after - before == 25 * 3600  # the night the clocks go back
    # 02:30 does not exist on 29 March 2026 in Berlin: it comes an hour later.
    skipped = Daily(time(2, 30), BERLIN).next_after(at(BERLIN, 2026, 3, 28, 12))
    assert local(skipped, BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


def test_missed_moments_are_each_listed_once() -> None:
    schedule = Monthly(1, time(2, 0), MOSCOW)
    first = at(MOSCOW, 2026, 10, 1, 2)
    ticks = ticks_between(schedule, first, at(MOSCOW, 2027, 1, 3))
    assert [local(t, MOSCOW).date().isoformat() for t in ticks] == [
        "2026-10-01",
        "2026-11-01",
        "2026-12-01",
        "2027-01-01",
    ]
    assert ticks_between(schedule, first, first - 1) == []


@given(
    st.integers(1, 28),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.floats(1.6e9, 2.2e9),
)
def test_the_next_moment_is_the_first_after_and_on_its_day(
    day: int, wall: time, moment: float
) -> None:
    schedule = Monthly(day, wall, BERLIN)
    due = schedule.next_after(moment)
    assert due > moment
    assert local(due, BERLIN).day == day
    # No moment of the schedule between the two.
    assert ticks_between(schedule, moment + 1e-3, due - 1e-3) == []


def test_times_of_day_and_days_are_checked() -> None:
    assert parse_time_of_day("07:05") == time(7, 5)
    for bad in ("7:05", "24:00", "07:60", "noon", "07:05:00"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_time_of_day(bad)
    with pytest.raises(ValueError, match="1-28"):
        Monthly(31, time(2, 0), MOSCOW)
