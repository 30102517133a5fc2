"""Pacing keeps the campaign's rate and every recipient's quiet hours."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.campaigns import CampaignSettingError, QuietHours, Recipient
from smpp_engine.campaigns.pacing import MAX_RATE, MIN_RATE, pace
from smpp_engine.campaigns.plan import PlannedMessage

MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def planned(send_at: datetime, zone: str = "UTC", n: int = 0) -> PlannedMessage:
    recipient = Recipient(msisdn=f"4477009{n:05d}", fields={}, line=n + 2)
    return PlannedMessage(recipient, "text", send_at, zone, 1, 0)


def test_slots_are_one_over_the_rate_apart() -> None:
    slots = pace([planned(MONDAY_NOON, n=i) for i in range(5)], 2.0, QuietHours())
    assert slots == [MONDAY_NOON + timedelta(seconds=0.5 * i) for i in range(5)]


def test_a_campaign_running_into_the_evening_resumes_in_the_morning() -> None:
    evening = datetime(2026, 11, 30, 21, 59, 58, tzinfo=UTC)  # Monday, UTC recipients
    slots = pace([planned(evening, n=i) for i in range(4)], 1.0, QuietHours())
    assert slots[:2] == [evening, evening + timedelta(seconds=1)]
    tuesday_eight = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert slots[2:] == [tuesday_eight, tuesday_eight + timedelta(seconds=1)]


def test_quiet_hours_are_read_on_each_recipients_clock() -> None:
    # 21:30 UTC is 23:30 in Sofia (quiet) and 21:30 in London (allowed): London
    # goes now, not behind the sleeping Sofia recipient.
    at = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)
    sofia, london = pace(
        [planned(at, "Europe/Sofia", 0), planned(at, "Europe/London", 1)], 10.0, QuietHours()
    )
    assert london == at
    assert sofia == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 08:00 in Sofia


@pytest.mark.parametrize(
    "rate", [0.0, -1.0, 5e-324, 1e-300, 0.000999, 100_000.0001, math.inf, math.nan, True]
)
def test_a_rate_that_cannot_be_paced_is_refused_by_name(rate: float) -> None:
    # 1/5e-324 is infinite and 1/1e-300 overflows any interval: both were crashes.
    with pytest.raises(CampaignSettingError) as info:
        pace([planned(MONDAY_NOON)], rate, QuietHours())
    assert info.value.field == "rate"


def test_the_slowest_and_fastest_rates_are_paced() -> None:
    slots = pace([planned(MONDAY_NOON, n=i) for i in range(3)], MIN_RATE, QuietHours(None, None))
    assert slots[2] - slots[0] == timedelta(seconds=2 / MIN_RATE)
    assert len(pace([planned(MONDAY_NOON)] * 3, MAX_RATE, QuietHours())) == 3


def test_a_campaign_running_past_the_calendar_is_refused_not_a_crash() -> None:
    near_the_end = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(CampaignSettingError) as info:
        pace([planned(near_the_end, n=i) for i in range(5)], MIN_RATE, QuietHours(None, None))
    assert info.value.field == "start_at"


@settings(max_examples=50, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 7 * 24 * 3600), min_size=1, max_size=40),
    rate=st.floats(0.01, 500),
    zones=st.lists(st.sampled_from(["UTC", "Europe/Sofia", "America/Santiago"]), min_size=1),
)
def test_slots_respect_rate_send_at_and_quiet_hours(
    offsets: list[int], rate: float, zones: list[str]
) -> None:
    quiet = QuietHours()
    messages = [
        planned(MONDAY_NOON + timedelta(seconds=o), zones[i % len(zones)], i)
        for i, o in enumerate(offsets)
    ]
    slots = pace(messages, rate, quiet)
    for message, slot in zip(messages, slots, strict=True):
        assert slot >= message.send_at
        assert not quiet.is_quiet(slot, message.time_zone)
    ordered = sorted(slots)
    for earlier, later in itertools.pairwise(ordered):
        assert (later - earlier).total_seconds() >= 1 / rate - 1e-6
