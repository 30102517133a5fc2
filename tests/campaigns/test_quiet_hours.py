"""Quiet hours for campaigns: zone names, campaign errors, midnight, weekends, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.campaigns import CampaignSettingError, QuietHours, parse_window, zone_of

LONDON = ZoneInfo("Europe/London")
DEFAULT = QuietHours()


def local(text: str, zone: ZoneInfo = LONDON, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


# 2025-01-06 is a Monday; January has no DST in London, so local == UTC.
@pytest.mark.parametrize(
    ("now", "allowed_at"),
    [
        ("2025-01-10 12:00", "2025-01-10 12:00"),  # Friday noon: allowed now
        ("2025-01-10 21:59", "2025-01-10 21:59"),
        ("2025-01-10 22:00", "2025-01-11 08:00"),  # Friday night: the weekday window
        ("2025-01-11 02:00", "2025-01-11 08:00"),  # Saturday 02:00 still belongs to Friday night
        ("2025-01-11 07:59", "2025-01-11 08:00"),
        ("2025-01-11 08:00", "2025-01-11 08:00"),  # half-open: the end is allowed
        ("2025-01-11 08:30", "2025-01-11 08:30"),  # Saturday morning after a working night
        ("2025-01-11 19:59", "2025-01-11 19:59"),
        ("2025-01-11 20:00", "2025-01-12 09:00"),  # Saturday night: the weekend window
        ("2025-01-12 08:30", "2025-01-12 09:00"),
        ("2025-01-12 21:00", "2025-01-13 09:00"),  # Sunday night ends at 09:00 on Monday
        ("2025-01-13 08:30", "2025-01-13 09:00"),
        ("2025-01-13 22:30", "2025-01-14 08:00"),  # Monday night: weekday again
    ],
)
def test_the_window_of_the_day_the_night_started_applies(now: str, allowed_at: str) -> None:
    result = DEFAULT.next_allowed(local(now), LONDON)
    assert result == local(allowed_at)
    assert result.tzinfo is UTC


def test_the_recipients_zone_decides_not_the_callers() -> None:
    now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)  # noon in London
    tokyo = DEFAULT.next_allowed(now, "Asia/Tokyo")  # 21:00 Friday in Tokyo: allowed
    assert tokyo == now
    sydney = DEFAULT.next_allowed(now, "Australia/Sydney")  # 23:00 Friday in Sydney
    assert sydney == local("2025-01-11 08:00", ZoneInfo("Australia/Sydney"))


def test_any_aware_now_is_accepted_and_a_naive_one_refused() -> None:
    now = datetime(2025, 1, 10, 23, 0, tzinfo=timezone(timedelta(hours=1)))  # 22:00 London
    assert DEFAULT.next_allowed(now, "Europe/London") == local("2025-01-11 08:00")
    with pytest.raises(CampaignSettingError) as info:
        DEFAULT.next_allowed(datetime(2025, 1, 10, 23), "Europe/London")
    assert info.value.field == "now"


def test_spring_forward_resumes_when_the_clock_first_reads_the_end_or_later() -> None:
    # 2024-03-31 (Sunday), London: 01:00 GMT jumps to 02:00 BST. The night ends at
    # 01:30 local, a time that does not exist that day: the first instant the clock
    # reads 01:30 or later is the jump itself.
    hours = QuietHours(weekend=(time(20), time(1, 30)))
    assert hours.next_allowed(datetime(2024, 3, 31, 0, 50, tzinfo=UTC), LONDON) == datetime(
        2024, 3, 31, 1, 0, tzinfo=UTC
    )


def test_spring_forward_inside_a_night_shortens_it_by_an_hour() -> None:
    # Saturday 20:00 GMT to Sunday 09:00 BST is 12 hours of real time, not 13.
    start = DEFAULT.next_allowed(local("2024-03-30 21:00"), LONDON)
    assert start == datetime(2024, 3, 31, 8, 0, tzinfo=UTC)
    assert start.astimezone(LONDON).hour == 9


def test_fall_back_inside_a_night_lengthens_it_by_an_hour() -> None:
    # 2024-10-27 (Sunday): 02:00 BST goes back to 01:00 GMT; 09:00 GMT is 09:00 UTC.
    assert DEFAULT.next_allowed(local("2024-10-26 23:00"), LONDON) == datetime(
        2024, 10, 27, 9, 0, tzinfo=UTC
    )


def test_a_window_starting_in_the_repeated_hour_starts_at_its_first_occurrence() -> None:
    # 2024-11-03, New York: 01:59 EDT is followed by 01:00 EST. Quiet hours
    # 01:30-06:00 begin at the first 01:30 and run through the repeated hour.
    york = ZoneInfo("America/New_York")
    hours = QuietHours(weekday=(time(1, 30), time(6)), weekend_days=set())
    first_pass = datetime(2024, 11, 3, 5, 40, tzinfo=UTC)  # 01:40 EDT
    assert first_pass.astimezone(york).fold == 0
    assert hours.next_allowed(first_pass, york) == datetime(2024, 11, 3, 11, 0, tzinfo=UTC)
    back_at_one = datetime(2024, 11, 3, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert hours.is_quiet(back_at_one, york)


def test_a_half_hour_dst_shift() -> None:
    # Lord Howe Island moves its clocks by 30 minutes (2024-10-06 02:00 -> 02:30).
    howe = ZoneInfo("Australia/Lord_Howe")
    hours = QuietHours(weekend=(time(20), time(2, 15)))  # 2024-10-06 is a Sunday
    now = local("2024-10-06 01:50", howe)
    assert hours.next_allowed(now, howe).astimezone(howe) == local("2024-10-06 02:30", howe)


def test_no_quiet_hours_on_some_days() -> None:
    hours = QuietHours(weekend=None)
    assert hours.next_allowed(local("2025-01-11 23:00"), LONDON) == local("2025-01-11 23:00")
    # Friday night is a working-day night and still quiet.
    assert hours.next_allowed(local("2025-01-11 07:00"), LONDON) == local("2025-01-11 08:00")


def test_overlapping_windows_chain() -> None:
    # Friday 22:00-Saturday 08:00, then a Saturday window from 06:00 to 23:00.
    hours = QuietHours(weekend=(time(6), time(23)))
    assert hours.next_allowed(local("2025-01-10 23:00"), LONDON) == local("2025-01-11 23:00")


def test_a_same_day_window() -> None:
    hours = QuietHours(weekday=(time(12), time(13)), weekend=None)
    assert hours.next_allowed(local("2025-01-10 12:30"), LONDON) == local("2025-01-10 13:00")
    assert not hours.is_quiet(local("2025-01-10 23:00"), LONDON)


def test_is_quiet_matches_the_rules() -> None:
    assert DEFAULT.is_quiet(local("2025-01-11 02:00"), LONDON)
    assert not DEFAULT.is_quiet(local("2025-01-11 08:30"), LONDON)
    assert DEFAULT.is_quiet(local("2025-01-13 08:30"), "Europe/London")


def test_windows_parse_from_text() -> None:
    assert parse_window("22:00-08:00") == (time(22), time(8))
    assert QuietHours.parse("21:30 - 07:45", None, {6}) == QuietHours(
        (time(21, 30), time(7, 45)), None, frozenset({6})
    )
    assert QuietHours.parse() == DEFAULT
    with pytest.raises(CampaignSettingError) as info:
        QuietHours.parse(weekend="8pm to 9am")
    assert (info.value.field, info.value.value) == ("quiet_hours.weekend", "8pm to 9am")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weekday": (time(8), time(8))}, "quiet_hours.weekday"),
        ({"weekend": (time(8),)}, "quiet_hours.weekend"),
        ({"weekday": (time(8, tzinfo=UTC), time(9))}, "quiet_hours.weekday"),
        ({"weekend_days": {7}}, "quiet_hours.weekend_days"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(CampaignSettingError) as info:
        QuietHours(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(CampaignSettingError) as info:
        DEFAULT.next_allowed(datetime(2025, 1, 1, tzinfo=UTC), "Mars/Olympus_Mons")
    assert (info.value.field, info.value.value) == ("time_zone", "Mars/Olympus_Mons")
    assert zone_of(UTC) is UTC


# The rule's properties against an oracle, over zones and their clock changes, are
# in tests/billing/test_quiet_hours.py: campaigns and notices share billing_core's.

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Europe/Sofia"]
_nows = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)


@settings(deadline=None)
@given(_nows, st.sampled_from(ZONES))
def test_with_the_defaults_the_wait_is_under_fourteen_hours(now: datetime, zone: str) -> None:
    # The longest default night is 20:00-09:00 (13 h, 14 h when the clock goes back).
    assert DEFAULT.next_allowed(now, zone) - now <= timedelta(hours=14)


def test_the_weekday_default_is_monday_to_friday() -> None:
    assert DEFAULT.window_for(date(2025, 1, 10)) == (time(22), time(8))  # Friday
    assert DEFAULT.window_for(date(2025, 1, 11)) == (time(20), time(9))  # Saturday
