"""What the tables give the components: quiet hours, zones, caps, billing sender, keys."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import UtilitySettings
from smpp_engine.settings import (
    ApiKey,
    BillingSettings,
    NoticeSettings,
    SettingsError,
    hash_api_key,
    load_settings,
    settings_data,
)
from throttling import Priority

from .helpers import MINIMAL, load_text


def test_notices_give_the_campaigns_quiet_hours_zones_and_the_billing_caps(
    tmp_path: Path,
) -> None:
    text = (
        MINIMAL
        + """
[notices]
quiet_weekday = "21:30-07:00"
quiet_weekend = "off"
weekend_days = [6]
time_zone = "Europe/Berlin"
time_zone_prefixes = { "1212" = "America/New_York" }
caps = { per_day = 1, per_week = 3, per_month = 9 }
"""
    )
    notices = load_text(tmp_path, text).notices
    hours = notices.quiet_hours()
    assert hours.weekday == (time(21, 30), time(7, 0))
    assert hours.weekend is None
    assert hours.weekend_days == frozenset({6})
    assert notices.notice_quiet_hours().weekday == (time(21, 30), time(7, 0))
    zones = notices.time_zones()
    assert zones.name_for("12125550100") == "America/New_York"
    assert zones.name_for("88800000000") == "Europe/Berlin"
    caps = notices.frequency_caps()
    assert (caps.per_day, caps.per_week, caps.per_month) == (1, 3, 9)


def test_the_notice_defaults_are_the_components_defaults() -> None:
    notices = NoticeSettings()
    hours = notices.quiet_hours()
    assert (hours.weekday, hours.weekend) == ((time(22), time(8)), (time(20), time(9)))
    assert notices.frequency_caps() == type(notices.frequency_caps())()


def test_billing_source_addr_becomes_the_utility_sender() -> None:
    utility = UtilitySettings(utility_id="water", sender_id="Utility")
    assert BillingSettings(source_addr="CityWater").apply_to(utility).sender_id == "CityWater"
    assert BillingSettings().apply_to(utility) is utility


def test_the_http_default_priority_is_a_throttling_priority(tmp_path: Path) -> None:
    settings = load_text(tmp_path, '[http]\ndefault_priority = "bulk"\n' + MINIMAL)
    assert settings.http.priority() is Priority.BULK
    assert load_settings(None, {}).http.priority() is Priority.TRANSACTIONAL


@pytest.mark.parametrize("priority", list(Priority))
def test_the_default_priority_is_parsed_once_from_its_label_and_written_back_as_it(
    tmp_path: Path, priority: Priority
) -> None:
    settings = load_text(tmp_path, f'[http]\ndefault_priority = "{priority.label}"\n' + MINIMAL)
    assert settings.http.default_priority is priority
    assert settings_data(settings)["http"]["default_priority"] == priority.label
    from_environment = load_text(
        tmp_path, MINIMAL, {"SMPP_ENGINE__HTTP__DEFAULT_PRIORITY": priority.label}
    )
    assert from_environment.http.default_priority is priority


@pytest.mark.parametrize("written", ['"urgent"', '"BULK"', "2", "true"])
def test_a_default_priority_that_is_no_label_names_the_key_and_the_choices(
    tmp_path: Path, written: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_text(tmp_path, f"[http]\ndefault_priority = {written}\n" + MINIMAL)
    assert caught.value.keys == ["http.default_priority"]
    assert "'interactive', 'transactional' or 'bulk'" in str(caught.value)


@given(st.text(min_size=1, max_size=40))
def test_a_hashed_key_is_a_valid_configured_digest(plain: str) -> None:
    digest = hash_api_key(plain)
    assert ApiKey(name="k", sha256=digest).sha256 == digest
    assert ApiKey(name="k", sha256=digest.upper()).sha256 == digest


def test_an_empty_key_cannot_be_hashed() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_api_key("")
