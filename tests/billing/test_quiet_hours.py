"""The one quiet-hours rule (billing_core.quiet_hours), on the days the clocks change.

Each sentence of the module's docstring about clock changes is a test here; the
properties compare the rule with an oracle that finds each end of a window by
walking the clock minute by minute, over zones with one-hour, half-hour and
midnight changes and over their real transition dates.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import NoticeRules, QuietHours, SettingsError
from billing_core.quiet_hours import clock_reads, parse_window, window_text
from smpp_engine import campaigns
from smpp_engine.settings import NoticeSettings

SOFIA = ZoneInfo("Europe/Sofia")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
NIGHTS = QuietHours(weekday=(time(22), time(8)), weekend=(time(22), time(8)))

ZONES = [
    "Europe/Sofia",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute changes
    "Europe/London",
    "America/Santiago",  # changes at midnight
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # suspends DST in Ramadan: several changes a year
    "Asia/Kolkata",  # none
]
MINUTE = timedelta(minutes=1)


def at(text: str, zone: ZoneInfo, fold: int = 0) -> datetime:
    """A local time as the instant it is (``fold=1``: the second of a repeated time)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold).astimezone(UTC)


def reads(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# -- each end of a window is the first instant the clock reads it or later --------------


def test_a_time_that_exists_once_is_itself() -> None:
    assert clock_reads(datetime(2024, 7, 1, 22), SOFIA) == datetime(2024, 7, 1, 19, tzinfo=UTC)


def test_a_skipped_time_maps_forward_to_the_jump() -> None:
    # Sofia 2024-03-31: 03:00 EET jumps to 04:00 EEST, at 01:00 UTC.
    jump = datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert clock_reads(datetime(2024, 3, 31, 3, 30), SOFIA) == jump
    assert clock_reads(datetime(2024, 3, 31, 3, 0), SOFIA) == jump
    assert reads(jump, SOFIA) == "2024-03-31 04:00"
    # Lord Howe 2024-10-06: 02:00 jumps to 02:30.
    assert reads(clock_reads(datetime(2024, 10, 6, 2, 15), LORD_HOWE), LORD_HOWE) == (
        "2024-10-06 02:30"
    )


def test_a_repeated_time_is_its_first_occurrence() -> None:
    # New York 2024-11-03: 01:00-02:00 happens twice, first EDT (UTC-4), then EST.
    assert clock_reads(datetime(2024, 11, 3, 1, 30), NEW_YORK) == at("2024-11-03 01:30", NEW_YORK)
    assert clock_reads(datetime(2024, 11, 3, 1, 30), NEW_YORK) == datetime(
        2024, 11, 3, 5, 30, tzinfo=UTC
    )
    # Lord Howe 2024-04-07: 02:00 goes back to 01:30.
    assert clock_reads(datetime(2024, 4, 7, 1, 45), LORD_HOWE) == at("2024-04-07 01:45", LORD_HOWE)


# -- a window keeps its wall-clock times on the day the clocks change --------------------


@pytest.mark.parametrize(
    ("zone", "evening", "hours"),
    [
        (SOFIA, "2024-03-30", 9),  # 22:00 EET to 08:00 EEST
        (SOFIA, "2024-10-26", 11),  # 22:00 EEST to 08:00 EET
        (NEW_YORK, "2024-03-09", 9),
        (NEW_YORK, "2024-11-02", 11),
        (LORD_HOWE, "2024-10-05", 9.5),
        (LORD_HOWE, "2024-04-06", 10.5),
    ],
)
def test_a_night_runs_from_22_00_to_08_00_local_whatever_its_length(
    zone: ZoneInfo, evening: str, hours: float
) -> None:
    begins = at(f"{evening} 22:00", zone)
    assert not NIGHTS.is_quiet(begins - timedelta(seconds=1), zone)
    assert NIGHTS.is_quiet(begins, zone)
    ends = NIGHTS.next_allowed(begins, zone)
    assert reads(ends, zone)[11:] == "08:00"
    assert ends - begins == timedelta(hours=hours)
    assert NIGHTS.is_quiet(ends - timedelta(seconds=1), zone)
    assert not NIGHTS.is_quiet(ends, zone)


def test_a_window_ending_in_the_skipped_hour_ends_at_the_jump() -> None:
    hours = QuietHours(weekday=None, weekend=(time(22), time(3, 30)))  # 2024-03-31 is a Sunday
    assert hours.next_allowed(at("2024-03-30 23:00", SOFIA), SOFIA) == datetime(
        2024, 3, 31, 1, tzinfo=UTC
    )


def test_a_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    # New York 2024-11-03 (a Sunday): quiet until 01:30; the second 01:00-01:30 is not quiet.
    hours = QuietHours(weekday=None, weekend=(time(22), time(1, 30)))
    assert hours.next_allowed(at("2024-11-02 23:00", NEW_YORK), NEW_YORK) == at(
        "2024-11-03 01:30", NEW_YORK
    )
    second_pass = at("2024-11-03 01:10", NEW_YORK, fold=1)
    assert second_pass == datetime(2024, 11, 3, 6, 10, tzinfo=UTC)
    assert not hours.is_quiet(second_pass, NEW_YORK)


def test_a_window_starting_in_the_repeated_hour_runs_through_it_unbroken() -> None:
    hours = QuietHours(weekday=(time(1, 30), time(6)), weekend=(time(1, 30), time(6)))
    first_pass = at("2024-11-03 01:40", NEW_YORK)
    assert hours.next_allowed(first_pass, NEW_YORK) == at("2024-11-03 06:00", NEW_YORK)
    # 01:00-01:30 the second time is inside the window: it began at the first 01:30.
    assert hours.is_quiet(at("2024-11-03 01:10", NEW_YORK, fold=1), NEW_YORK)


def test_a_window_the_clock_skips_entirely_is_no_window() -> None:
    hours = QuietHours(weekday=None, weekend=(time(3, 10), time(3, 50)))
    jump = datetime(2024, 3, 31, 1, tzinfo=UTC)
    for instant in (jump - MINUTE, jump, jump + MINUTE):
        assert not hours.is_quiet(instant, SOFIA)


class _MidnightFallBack(tzinfo):
    """+01:00 until 2024-06-01 23:30 UTC, then +00:00: at 00:30 on Sunday 2 June
    the clock goes back to 23:30 on Saturday (no zone of the database does that
    today; the rule must not depend on it)."""

    change = datetime(2024, 6, 1, 23, 30)
    repeated = (datetime(2024, 6, 1, 23, 30), datetime(2024, 6, 2, 0, 30))

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        wall = dt.replace(tzinfo=None)
        if wall < self.repeated[0]:
            return timedelta(hours=1)
        if wall >= self.repeated[1]:
            return timedelta(0)
        return timedelta(hours=0 if dt.fold else 1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        wall = utc + (timedelta(hours=1) if utc < self.change else timedelta(0))
        fold = int(utc >= self.change and self.repeated[0] <= wall < self.repeated[1])
        return wall.replace(tzinfo=self, fold=fold)


def test_a_clock_going_back_across_midnight_shows_the_next_days_window() -> None:
    zone = _MidnightFallBack()
    hours = QuietHours(weekday=None, weekend=(time(0, 10), time(6)))  # Sunday's from 00:10
    begins = clock_reads(datetime(2024, 6, 2, 0, 10), zone)
    assert begins == datetime(2024, 6, 1, 23, 10, tzinfo=UTC)
    evening_again = datetime(2024, 6, 1, 23, 40, tzinfo=UTC)
    assert reads(evening_again, zone) == "2024-06-01 23:40"  # Saturday, the second time
    assert hours.is_quiet(evening_again, zone)
    assert hours.next_allowed(evening_again, zone) == datetime(2024, 6, 2, 6, tzinfo=UTC)


# -- one rule for campaigns and notices ---------------------------------------------------


def test_campaigns_and_notices_use_this_one_rule() -> None:
    assert issubclass(campaigns.QuietHours, QuietHours)
    assert NoticeRules().quiet_hours == QuietHours()
    notices = NoticeSettings()
    assert notices.quiet_hours().to_json() == notices.notice_quiet_hours().to_json()


def test_the_campaigns_face_names_zones_and_raises_campaign_errors() -> None:
    now = at("2024-03-30 23:00", SOFIA)
    assert campaigns.QuietHours().next_allowed(now, "Europe/Sofia") == QuietHours().next_allowed(
        now, SOFIA
    )
    with pytest.raises(campaigns.CampaignSettingError) as info:
        campaigns.QuietHours(weekday=(time(8), time(8)))
    assert info.value.field == "quiet_hours.weekday"
    with pytest.raises(SettingsError) as billing:
        QuietHours(weekday=(time(8), time(8)))
    assert billing.value.field == "quiet_hours.weekday"


def test_windows_are_written_as_text_both_ways() -> None:
    assert parse_window(" 21:30 - 07:45 ") == (time(21, 30), time(7, 45))
    assert window_text((time(21, 30), time(7, 45))) == "21:30-07:45"
    assert QuietHours.from_json(QuietHours().to_json()) == QuietHours()
    with pytest.raises(SettingsError) as info:
        parse_window("8pm to 9am", field="quiet_weekday")
    assert (info.value.field, info.value.value) == ("quiet_weekday", "8pm to 9am")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        QuietHours().next_allowed(datetime(2024, 1, 1), SOFIA)
    assert info.value.field == "now"


# -- the oracle: the rule restated, each end found by walking the clock ------------------


def _reading(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


@functools.cache
def first_reading(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first whole minute at which the clock reads ``wall`` or later, walked to.

    Every zone here changes its offset on whole minutes, by at most an hour, so
    three hours before the naive guess the clock still reads less than ``wall``.
    """
    offset = zone.utcoffset(wall)
    assert offset is not None
    t = wall.replace(tzinfo=UTC) - offset - timedelta(hours=3)
    assert _reading(t, zone) < wall
    while _reading(t, zone) < wall:
        t += MINUTE
    return t


def oracle_windows(hours: QuietHours, t: datetime, zone: ZoneInfo) -> list[tuple[datetime, ...]]:
    today = _reading(t, zone).date()
    found = []
    for back in range(-1, 4):  # wider than the rule looks, on purpose
        day = today - timedelta(days=back)
        window = hours.weekend if day.weekday() in hours.weekend_days else hours.weekday
        if window is None:
            continue
        start, end = window
        end_day = day + timedelta(days=int(end <= start))
        found.append(
            (
                first_reading(datetime.combine(day, start), zone),
                first_reading(datetime.combine(end_day, end), zone),
            )
        )
    return found


def oracle_quiet(hours: QuietHours, t: datetime, zone: ZoneInfo) -> bool:
    return any(begins <= t < ends for begins, ends in oracle_windows(hours, t, zone))


def oracle_next_allowed(hours: QuietHours, now: datetime, zone: ZoneInfo) -> datetime:
    t = now.astimezone(UTC)
    while True:
        ends = [e for b, e in oracle_windows(hours, t, zone) if b <= t < e]
        if not ends:
            return t
        t = max(ends)


def check_against_the_oracle(hours: QuietHours, now: datetime, zone: ZoneInfo) -> None:
    result = hours.next_allowed(now, zone)
    assert result.tzinfo is UTC
    assert hours.is_quiet(now, zone) == oracle_quiet(hours, now, zone)
    assert result == oracle_next_allowed(hours, now, zone)
    assert result >= now
    assert not hours.is_quiet(result, zone)
    if result > now:  # quiet all the way, to the second before
        t = now
        while t < result:
            assert oracle_quiet(hours, t, zone), f"{t} is allowed, before {result}"
            t += 7 * MINUTE
        assert hours.is_quiet(result - timedelta(seconds=1), zone)


_minutes = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 1, 59]))
_windows = st.one_of(st.none(), st.tuples(_minutes, _minutes).filter(lambda w: w[0] != w[1]))
_hours = st.one_of(
    st.just(QuietHours()),
    st.builds(QuietHours, _windows, _windows, st.frozensets(st.integers(0, 6))),
)
_nows = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(deadline=None, max_examples=200)
@given(_hours, _nows, st.sampled_from(ZONES))
def test_any_time_of_the_year(hours: QuietHours, now: datetime, zone: str) -> None:
    check_against_the_oracle(hours, now, ZoneInfo(zone))


@functools.cache
def transitions(name: str) -> tuple[datetime, ...]:
    """Every instant (UTC) from 2000 to 2030 at which ``name`` changes its offset."""
    zone = ZoneInfo(name)
    found = []
    t, stop = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC)
    while t < stop:  # no zone changes twice within a day
        step = t + timedelta(days=1)
        if t.astimezone(zone).utcoffset() != step.astimezone(zone).utcoffset():
            lo, hi = t, step
            while hi - lo > MINUTE:
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(second=0, microsecond=0))
        t = step
    return tuple(found)


@st.composite
def around_a_change(draw: st.DrawFn) -> tuple[QuietHours, datetime, ZoneInfo]:
    """A zone, one of its real offset changes, windows whose ends fall near the wall
    times of the change (in a skipped or repeated hour, often), and a now nearby."""
    name = draw(st.sampled_from([z for z in ZONES if transitions(z)]))
    change = draw(st.sampled_from(transitions(name)))
    zone = ZoneInfo(name)
    wall = _reading(change - MINUTE, zone)
    base = datetime.combine(wall.date(), time(wall.hour))
    near = st.builds(
        lambda quarters: (base + quarters * timedelta(minutes=15)).time(), st.integers(-8, 8)
    )
    any_time = st.one_of(near, _minutes)
    window = st.tuples(any_time, any_time).filter(lambda w: w[0] != w[1])
    hours = QuietHours(draw(window), draw(st.one_of(st.none(), window)), frozenset({5, 6}))
    now = change + draw(st.integers(-36 * 60, 36 * 60)) * MINUTE
    now += timedelta(seconds=draw(st.integers(0, 59)))
    return hours, now, zone


@settings(deadline=None, max_examples=300)
@given(around_a_change())
def test_on_and_around_the_days_the_clocks_change(
    case: tuple[QuietHours, datetime, ZoneInfo],
) -> None:
    hours, now, zone = case
    check_against_the_oracle(hours, now, zone)
    result = hours.next_allowed(now, zone)
    if result > now:
        # Quiet hours end exactly when the clock first reads a window's end.
        ends = {window[1] for window in (hours.weekday, hours.weekend) if window is not None}
        day = _reading(result, zone).date()
        assert result in {
            clock_reads(datetime.combine(d, end), zone)
            for end in ends
            for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        }
