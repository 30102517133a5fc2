"""Recipient time zones from the MSISDN country code."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

import pytest

from smpp_engine.campaigns import (
    COUNTRY_TIME_ZONES,
    CampaignSettingError,
    RecipientTimeZones,
    zone_of,
)


def test_single_zone_countries_are_known() -> None:
    zones = RecipientTimeZones()
    assert zones.name_for("447700900123") == "Europe/London"
    assert zones.name_for("359888123456") == "Europe/Sofia"
    assert zones.name_for("380501234567") == "Europe/Kyiv"
    assert zones.zone_for("4915112345678") == ZoneInfo("Europe/Berlin")


def test_the_longest_prefix_wins() -> None:
    # +35 is no country; +353 (Ireland) and +359 (Bulgaria) are, next to +3 prefixes.
    zones = RecipientTimeZones()
    assert zones.name_for("353861234567") == "Europe/Dublin"
    assert zones.name_for("33612345678") == "Europe/Paris"


def test_multi_zone_countries_get_the_default() -> None:
    zones = RecipientTimeZones(default="Europe/Sofia")
    assert zones.name_for("12125550123") == "Europe/Sofia"  # +1: which of six zones?
    assert zones.name_for("79161234567") == "Europe/Sofia"  # +7
    assert RecipientTimeZones().name_for("61412345678") == "UTC"  # the default default


def test_configured_prefixes_override_and_extend() -> None:
    zones = RecipientTimeZones(
        default="UTC", prefixes={"1212": "America/New_York", "44": "Europe/Dublin"}
    )
    assert zones.name_for("12125550123") == "America/New_York"
    assert zones.name_for("13105550123") == "UTC"
    assert zones.name_for("447700900123") == "Europe/Dublin"
    assert "America/New_York" in repr(zones)


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"default": "Nowhere/City"}, "time_zone", "Nowhere/City"),
        ({"prefixes": {"44": "Nowhere/City"}}, "time_zone", "Nowhere/City"),
        ({"prefixes": {"+44": "Europe/London"}}, "time_zone_prefixes", "+44"),
        ({"prefixes": {"044": "Europe/London"}}, "time_zone_prefixes", "044"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], field: str, value: str) -> None:
    with pytest.raises(CampaignSettingError) as info:
        RecipientTimeZones(**kwargs)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == (field, value)


def test_every_built_in_zone_exists() -> None:
    assert set(COUNTRY_TIME_ZONES.values()) <= available_timezones()


@pytest.mark.parametrize(
    "name",
    [
        "Europe",  # a folder of the database
        "Etc",
        "America/",
        "Europe/Sofia/",
        "../../etc/passwd",
        "/etc/passwd",
        "zone.tab",  # a file of the database that is no zone
        "a\x00b",
        "\ud800",
        "Europe/\u202eSofia",
        "x" * 300,  # too long for a file name
        "",
        " UTC",
    ],
)
def test_anything_zoneinfo_cannot_load_as_a_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(CampaignSettingError) as info:
        zone_of(name)
    assert (info.value.field, info.value.value) == ("time_zone", name)
    with pytest.raises(CampaignSettingError):
        RecipientTimeZones(default=name)
