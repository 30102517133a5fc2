"""Planning a campaign: texts, costs, send times, and every skipped recipient."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.campaigns import (
    MAX_START_AHEAD,
    CampaignKind,
    CampaignPlan,
    CampaignSettingError,
    OptOutList,
    PlannedBatch,
    QuietHours,
    Recipient,
    RecipientTimeZones,
    SkipReason,
    Template,
    plan_messages,
)
from smpp_engine.protocol import Concatenation, DataCoding, TextProfile

from .strategies import msisdns

TEMPLATE = Template("Dear {name}, you owe {amount} EUR. Pay by {due}.")
NOON_FRIDAY = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def plan(**kwargs: object) -> CampaignPlan:
    settings_: dict[str, object] = {
        "name": "January debts",
        "template": TEMPLATE,
        "sender": "WaterCo",
        "rate": 50.0,
    }
    settings_.update(kwargs)
    return CampaignPlan(**settings_)  # type: ignore[arg-type]


def person(msisdn: str, line: int, **fields: str) -> Recipient:
    values = {"name": "Ann", "amount": "12.50", "due": "31.01"}
    values.update(fields)
    return Recipient(msisdn, values, line)


def test_each_recipient_gets_its_text_cost_and_send_time() -> None:
    batch = plan_messages(
        plan(),
        [person("447700900123", 2), person("359888123456", 3, name="Анна")],
        OptOutList(),
        NOON_FRIDAY,
    )
    first, second = batch.messages
    assert first.text == "Dear Ann, you owe 12.50 EUR. Pay by 31.01."
    assert (first.parts, first.data_coding) == (1, DataCoding.SMSC_DEFAULT)
    assert first.send_at == NOON_FRIDAY
    assert first.recipient.line == 2
    assert second.data_coding == DataCoding.UCS2
    assert batch.skipped == ()
    assert batch.total_parts == 2


def test_send_times_respect_each_recipients_quiet_hours() -> None:
    zones = RecipientTimeZones(default="UTC")
    evening = datetime(2025, 1, 10, 21, 30, tzinfo=UTC)  # 21:30 London, 23:30 Sofia, Friday
    batch = plan_messages(
        plan(time_zones=zones),
        [person("447700900123", 2), person("359888123456", 3)],
        OptOutList(),
        evening,
    )
    london, sofia = batch.messages
    assert (london.time_zone, london.send_at) == ("Europe/London", evening)
    assert sofia.time_zone == "Europe/Sofia"
    assert sofia.send_at == datetime(2025, 1, 11, 8, 0, tzinfo=ZoneInfo("Europe/Sofia"))


def test_a_start_time_inside_quiet_hours_moves_to_their_end() -> None:
    # Start at 07:00 Monday London, before the Sunday night ends at 09:00.
    start = datetime(2025, 1, 13, 7, 0, tzinfo=UTC)
    batch = plan_messages(
        plan(start_at=start), [person("447700900123", 2)], OptOutList(), NOON_FRIDAY
    )
    assert batch.messages[0].send_at == datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def test_a_start_time_in_the_past_means_now() -> None:
    batch = plan_messages(
        plan(start_at=NOON_FRIDAY - timedelta(days=3)),
        [person("447700900123", 2)],
        OptOutList(),
        NOON_FRIDAY,
    )
    assert batch.messages[0].send_at == NOON_FRIDAY


def test_bulk_skips_opted_out_numbers_and_says_so() -> None:
    batch = plan_messages(
        plan(),
        [person("447700900123", 2), person("447700900124", 3)],
        OptOutList(["+44 7700 900124"]),
        NOON_FRIDAY,
    )
    assert [m.recipient.line for m in batch.messages] == [2]
    (skipped,) = batch.skipped
    assert (skipped.recipient.line, skipped.reason) == (3, SkipReason.OPTED_OUT)


def test_legal_notices_go_to_opted_out_numbers_but_keep_quiet_hours() -> None:
    night = datetime(2025, 1, 10, 23, 0, tzinfo=UTC)
    batch = plan_messages(
        plan(kind=CampaignKind.LEGAL_NOTICE),
        [person("447700900124", 2)],
        OptOutList(["447700900124"]),
        night,
    )
    assert batch.skipped == ()
    assert batch.messages[0].send_at == datetime(2025, 1, 11, 8, 0, tzinfo=UTC)


def test_recipients_that_cannot_be_sent_are_skipped_with_a_reason() -> None:
    batch = plan_messages(
        plan(),
        [
            person("447700900123", 2),
            person("447700900123", 3),  # duplicate
            Recipient("447700900125", {"name": "Bob"}, 4),  # no amount
            person("447700900126", 5, name=" "),  # blank name
            person("447700900127", 6, name="Ж" * 67 * 256),  # over 255 parts
        ],
        OptOutList(),
        NOON_FRIDAY,
    )
    assert [(s.recipient.line, s.reason) for s in batch.skipped] == [
        (3, SkipReason.DUPLICATE),
        (4, SkipReason.MISSING_FIELD),
        (5, SkipReason.MISSING_FIELD),
        (6, SkipReason.TOO_LONG),
    ]
    assert "line 2" in batch.skipped[0].detail
    assert "amount" in batch.skipped[1].detail
    assert batch.skipped_by_reason() == {
        SkipReason.DUPLICATE: 1,
        SkipReason.OPTED_OUT: 0,
        SkipReason.MISSING_FIELD: 2,
        SkipReason.TOO_LONG: 1,
    }


def test_a_text_over_the_routes_max_parts_is_skipped_as_too_long() -> None:
    recipients = [person("447700900123", 2), person("447700900124", 3, name="Ann " * 60)]
    batch = plan_messages(plan(), recipients, OptOutList(), NOON_FRIDAY, max_parts=1)
    assert [m.recipient.line for m in batch.messages] == [2]
    (skipped,) = batch.skipped
    assert (skipped.recipient.line, skipped.reason) == (3, SkipReason.TOO_LONG)
    assert "the route allows at most 1" in skipped.detail


def test_the_part_count_follows_the_binds_profile_and_method() -> None:
    long = person("447700900123", 2, name="é" * 140)  # GSM; with Latin-1 allowed still GSM
    batch = plan_messages(plan(), [long], OptOutList(), NOON_FRIDAY, method=Concatenation.UDH16)
    assert batch.messages[0].parts == 2
    latin = person("447700900123", 2, name="ção")
    batch = plan_messages(
        plan(), [latin], OptOutList(), NOON_FRIDAY, profile=TextProfile(allow_latin1=True)
    )
    assert batch.messages[0].data_coding == DataCoding.LATIN1


def test_a_plain_set_of_normalised_numbers_works_as_the_opt_out_list() -> None:
    batch = plan_messages(plan(), [person("447700900123", 2)], {"447700900123"}, NOON_FRIDAY)
    assert batch.skipped[0].reason is SkipReason.OPTED_OUT


def test_now_must_be_aware() -> None:
    with pytest.raises(CampaignSettingError) as info:
        plan_messages(plan(), [], OptOutList(), datetime(2025, 1, 10, 12))
    assert info.value.field == "now"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " "}, "name"),
        ({"rate": 0}, "rate"),
        ({"rate": -1.0}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"rate": True}, "rate"),
        ({"rate": "10"}, "rate"),
        ({"start_at": datetime(2025, 1, 1)}, "start_at"),
        ({"start_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))}, "start_at"),
        ({"start_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC)}, "start_at"),
        (
            {"start_at": datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=14)))},
            "start_at",
        ),
        ({"rate": 1e-300}, "rate"),
        ({"rate": 5e-324}, "rate"),
        ({"sender": "A sender name too long"}, "sender"),
        ({"sender": ""}, "sender"),
        ({"priority": ""}, "priority"),
    ],
)
def test_bad_plans_are_refused_naming_the_setting(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(CampaignSettingError) as info:
        plan(**kwargs)
    assert info.value.field == field


def test_plan_defaults() -> None:
    p = plan()
    assert (p.kind, p.start_at, p.priority) == (CampaignKind.BULK, None, "bulk")
    assert p.quiet_hours == QuietHours()
    assert plan(start_at=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2)))).rate == 50.0


_people = st.lists(st.tuples(msisdns, st.sampled_from(["ok", "missing", "opted"])), max_size=30)


@settings(deadline=None)
@given(
    _people,
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(list(CampaignKind)),
)
def test_every_recipient_is_planned_or_skipped_and_never_sent_in_quiet_hours(
    people: list[tuple[str, str]], now: datetime, kind: CampaignKind
) -> None:
    opted = OptOutList(number for number, what in people if what == "opted")
    recipients = [
        Recipient(
            number, {} if what == "missing" else {"name": "A", "amount": "1", "due": "2"}, line
        )
        for line, (number, what) in enumerate(people, 2)
    ]
    hours = QuietHours(weekday=(time(21), time(9)))
    zones = RecipientTimeZones(default="America/New_York")
    batch: PlannedBatch = plan_messages(
        plan(kind=kind, quiet_hours=hours, time_zones=zones), recipients, opted, now
    )
    lines = [m.recipient.line for m in batch.messages] + [s.recipient.line for s in batch.skipped]
    assert sorted(lines) == [r.line for r in recipients]
    for message in batch.messages:
        assert message.send_at >= now
        assert not hours.is_quiet(message.send_at, zones.zone_for(message.recipient.msisdn))
        assert kind is CampaignKind.LEGAL_NOTICE or message.recipient.msisdn not in opted
    assert len({m.recipient.msisdn for m in batch.messages}) == len(batch.messages)


def test_a_start_more_than_a_century_ahead_is_refused() -> None:
    far = plan(start_at=NOON_FRIDAY + MAX_START_AHEAD + timedelta(seconds=1))
    with pytest.raises(CampaignSettingError) as info:
        plan_messages(far, [person("447700900123", 2)], OptOutList(), NOON_FRIDAY)
    assert info.value.field == "start_at"
    near = plan(start_at=NOON_FRIDAY + MAX_START_AHEAD)
    assert plan_messages(near, [person("447700900123", 2)], OptOutList(), NOON_FRIDAY).messages
    year_end = plan(start_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(CampaignSettingError):
        plan_messages(year_end, [], OptOutList(), NOON_FRIDAY)
