"""SMPP absolute and relative time strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol import CommandStatus, PduError
from smpp_engine.protocol.smpp_time import format_absolute, format_relative, parse_smpp_time

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)

offsets = st.integers(-48, 48).map(lambda q: timezone(timedelta(minutes=15 * q)))
moments = st.builds(
    lambda dt, tenths, tz: dt.replace(microsecond=tenths * 100_000, tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(0, 9),
    offsets,
)


@given(moments)
def test_absolute_round_trip(moment: datetime) -> None:
    text = format_absolute(moment)
    assert len(text) == 16
    assert parse_smpp_time(text, NOW) == moment


@given(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=99, hours=23)))
def test_relative_round_trip(delta: timedelta) -> None:
    text = format_relative(delta)
    assert text.endswith("R") and len(text) == 16
    assert parse_smpp_time(text, NOW) == NOW + timedelta(seconds=int(delta.total_seconds()))


def test_spec_examples() -> None:
    # 2026-11-23 20:30:00.4 at UTC+2 (8 quarter hours)
    moment = parse_smpp_time("261123203000408+", NOW)
    assert moment == datetime(2026, 11, 23, 18, 30, 0, 400_000, tzinfo=UTC)
    assert parse_smpp_time("000002030000000R", NOW) == NOW + timedelta(days=2, hours=3)
    # relative months follow the calendar, clamped to the month's end
    jan31 = datetime(2027, 1, 31, tzinfo=UTC)
    assert parse_smpp_time("000100000000000R", jan31) == datetime(2027, 2, 28, tzinfo=UTC)
    assert parse_smpp_time("", NOW) is None


@pytest.mark.parametrize(
    "value",
    ["2611232030", "261123203000408*", "261323203000408+", "26112320300040x+", "261123203000449+"],
)
def test_bad_times_name_the_field_and_status(value: str) -> None:
    with pytest.raises(PduError) as info:
        parse_smpp_time(value, NOW, field="schedule_delivery_time")
    assert info.value.status == CommandStatus.ESME_RINVSCHED
    assert info.value.field == "schedule_delivery_time"
    with pytest.raises(PduError) as info:
        parse_smpp_time(value, NOW)
    assert info.value.status == CommandStatus.ESME_RINVEXPIRY


def test_format_refuses_what_smpp_cannot_express() -> None:
    with pytest.raises(PduError):
        format_absolute(datetime(2026, 1, 1))  # naive
    with pytest.raises(PduError):
        format_absolute(datetime(2026, 1, 1, tzinfo=timezone(timedelta(minutes=20))))
    with pytest.raises(PduError):
        format_relative(timedelta(days=100))
    with pytest.raises(PduError):
        format_relative(timedelta(0))


@given(st.text(max_size=20))
def test_any_string_parses_or_gives_the_typed_error(value: str) -> None:
    try:
        parse_smpp_time(value, NOW)
    except PduError as err:
        assert err.status == CommandStatus.ESME_RINVEXPIRY
