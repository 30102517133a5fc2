"""Resuming a campaign paces what waits again, outside the recipients' quiet hours."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.campaigns import (
    CampaignKind,
    CampaignSettingError,
    QuietHours,
    Recipient,
    RecipientTimeZones,
)
from smpp_engine.campaigns.service import CampaignRequest, change_campaign, create_campaign
from smpp_engine.campaigns.state import CampaignAction
from smpp_engine.store.sqlite import open_sqlite_store

NIGHT = QuietHours.parse("22:00-08:00", "22:00-08:00")
BERLIN = "Europe/Berlin"


def request(count: int) -> CampaignRequest:
    return CampaignRequest(
        name="water-outage",
        smsc="default",
        sender="WATERCO",
        template="Water is off on your street tomorrow, 9:00-12:00.",
        rate=10.0,
        kind=CampaignKind.BULK,
        quiet_hours=NIGHT,
        time_zones=RecipientTimeZones("UTC", {"4915": BERLIN}),
        recipients=tuple(Recipient(f"49151{n:07d}", {}, line=n) for n in range(count)),
    )


async def test_a_campaign_resumed_at_night_waits_for_the_morning(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        afternoon = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
        report = await create_campaign(store, request(30), now=afternoon)
        assert report.campaign is not None
        campaign_id = report.campaign.campaign_id
        await change_campaign(store, "water-outage", CampaignAction.PAUSE, now=afternoon)
        night = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
        await change_campaign(store, "water-outage", CampaignAction.RESUME, now=night)
        queued = await store.queued_campaign_messages(campaign_id)
    assert len(queued) == 30
    morning = datetime(2026, 1, 15, 7, 0, tzinfo=UTC).timestamp()  # 08:00 in Berlin
    dues = sorted(q.not_before for q in queued)
    assert dues[0] == morning  # nobody is woken
    assert dues == [morning + n / 10.0 for n in range(30)]  # and the rate is kept


async def test_a_campaign_resumed_in_the_day_goes_on_at_its_rate(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as store:
        start = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
        report = await create_campaign(store, request(5), now=start)
        assert report.campaign is not None
        await change_campaign(store, "water-outage", CampaignAction.PAUSE, now=start)
        later = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
        await change_campaign(store, "water-outage", CampaignAction.RESUME, now=later)
        queued = await store.queued_campaign_messages(report.campaign.campaign_id)
    assert sorted(q.not_before for q in queued) == [later.timestamp() + n / 10.0 for n in range(5)]


windows = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))
    .filter(lambda t: t[:2] != t[2:])
    .map(lambda t: f"{t[0]:02d}:{t[1]:02d}-{t[2]:02d}:{t[3]:02d}"),
)


@given(windows, windows, st.frozensets(st.integers(0, 6)))
def test_quiet_hours_survive_their_json_form(
    weekday: str | None, weekend: str | None, days: frozenset[int]
) -> None:
    hours = QuietHours.parse(weekday, weekend, days)
    assert QuietHours.from_json(hours.to_json()) == hours
    if weekday is not None:
        assert hours.to_json()["weekday"] == weekday
        assert isinstance(hours.weekday, tuple) and isinstance(hours.weekday[0], time)


async def test_a_campaign_stored_with_a_rate_no_pacing_takes_stays_paused(
    tmp_path: Path,
) -> None:
    """A rate an older version let in (1e-300 per second) cannot be paced: resuming
    is refused naming the rate, and the campaign stays paused."""
    path = tmp_path / "s.db"
    start = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
    async with open_sqlite_store(path) as store:
        report = await create_campaign(store, request(3), now=start)
        assert report.campaign is not None
        await change_campaign(store, "water-outage", CampaignAction.PAUSE, now=start)
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE campaigns SET rate = 1e-300")
        with pytest.raises(CampaignSettingError) as info:
            await change_campaign(store, "water-outage", CampaignAction.RESUME, now=start)
        assert info.value.field == "rate"
        found = await store.find_campaign("water-outage")
    assert found is not None and found.state == "paused"
