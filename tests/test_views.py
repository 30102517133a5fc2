"""The JSON views never fail on what the store holds, and give strict JSON."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.store import CampaignView, MessageEvent, MessageState, MessageView
from smpp_engine.views import campaign_view_json, finite, iso_time, message_view_json

ODD = [math.nan, math.inf, -math.inf, 1e300, -1e300, 253402300800.0, -62135596801.0]


def test_a_time_is_iso_8601_in_utc() -> None:
    assert iso_time(0.25) == "1970-01-01T00:00:00.250000+00:00"
    assert iso_time(None) is None
    assert iso_time(253402300799.0) == "9999-12-31T23:59:59+00:00"
    assert iso_time(-62135596800.0) == "0001-01-01T00:00:00+00:00"


@pytest.mark.parametrize("at", ODD)
def test_a_time_no_calendar_shows_is_null(at: float) -> None:
    assert iso_time(at) is None


def test_a_number_json_cannot_carry_is_null() -> None:
    assert [finite(x) for x in (math.nan, math.inf, -math.inf, 1e-300, None)] == [
        None, None, None, 1e-300, None,
    ]  # fmt: skip


def _campaign(rate: float, at: float) -> CampaignView:
    return CampaignView(1, "c", "main", "ACME", "Hi", "bulk", rate, at, "{}", "running", at, at)


def _message(at: float) -> MessageView:
    return MessageView(
        1, "main", "ACME", "447700900123", "Hi", MessageState.QUEUED, 1, 1, at, at, 0, False,
        None, "api:ops:k", None, events=(MessageEvent(at, "accepted"),),
    )  # fmt: skip


@given(
    rate=st.floats() | st.sampled_from(ODD),
    at=st.floats() | st.sampled_from(ODD),
)
def test_a_stored_record_is_always_strict_json(rate: float, at: float) -> None:
    for view in (campaign_view_json(_campaign(rate, at)), message_view_json(_message(at))):
        json.dumps(view, allow_nan=False)
