"""A recipient's time zone, guessed from the country code of the MSISDN.

Only countries with one time zone on the mainland are listed: a number from the
North American plan (+1), Russia or Kazakhstan (+7), Brazil (+55), Australia
(+61), Mexico (+52) or Indonesia (+62) says nothing about the zone, so such
numbers get the configured default unless a longer prefix is configured (for
example ``"1212": "America/New_York"``). The longest matching prefix wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from .errors import CampaignSettingError
from .quiet_hours import zone_of

COUNTRY_TIME_ZONES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "20": "Africa/Cairo",
        "27": "Africa/Johannesburg",
        "30": "Europe/Athens",
        "31": "Europe/Amsterdam",
        "32": "Europe/Brussels",
        "33": "Europe/Paris",
        "34": "Europe/Madrid",  # the Canaries are an hour behind; their mobiles cannot be told
        "36": "Europe/Budapest",
        "39": "Europe/Rome",
        "40": "Europe/Bucharest",
        "41": "Europe/Zurich",
        "43": "Europe/Vienna",
        "44": "Europe/London",
        "45": "Europe/Copenhagen",
        "46": "Europe/Stockholm",
        "47": "Europe/Oslo",
        "48": "Europe/Warsaw",
        "49": "Europe/Berlin",
        "90": "Europe/Istanbul",
        "91": "Asia/Kolkata",
        "234": "Africa/Lagos",
        "254": "Africa/Nairobi",
        "351": "Europe/Lisbon",  # the Azores are an hour behind; their mobiles cannot be told
        "353": "Europe/Dublin",
        "358": "Europe/Helsinki",
        "359": "Europe/Sofia",
        "370": "Europe/Vilnius",
        "371": "Europe/Riga",
        "372": "Europe/Tallinn",
        "373": "Europe/Chisinau",
        "380": "Europe/Kyiv",
        "381": "Europe/Belgrade",
        "385": "Europe/Zagreb",
        "386": "Europe/Ljubljana",
        "420": "Europe/Prague",
        "421": "Europe/Bratislava",
        "971": "Asia/Dubai",
        "972": "Asia/Jerusalem",
    }
)


class RecipientTimeZones:
    """Time zones for MSISDNs: configured prefixes, then the built-in table, then a default."""

    def __init__(self, default: str = "UTC", prefixes: Mapping[str, str] | None = None) -> None:
        self.default = default
        self._default_zone = _zone(default)
        table = dict(COUNTRY_TIME_ZONES)
        for prefix, name in (prefixes or {}).items():
            if not (prefix.isascii() and prefix.isdigit()) or prefix.startswith("0"):
                raise CampaignSettingError(
                    "a prefix is the leading digits of an E.164 number",
                    field="time_zone_prefixes",
                    value=prefix,
                )
            table[prefix] = name
        self._zones = {prefix: _zone(name) for prefix, name in table.items()}
        self._names = table
        self._lengths = sorted({len(prefix) for prefix in table}, reverse=True)

    @property
    def prefixes(self) -> dict[str, str]:
        """The configured prefixes that differ from the built-in table."""
        return {p: n for p, n in self._names.items() if COUNTRY_TIME_ZONES.get(p) != n}

    def __repr__(self) -> str:
        return f"RecipientTimeZones(default={self.default!r}, prefixes={self.prefixes!r})"

    def name_for(self, msisdn: str) -> str:
        """The IANA name of the zone for a normalised ``msisdn``."""
        prefix = self._prefix(msisdn)
        return self.default if prefix is None else self._names[prefix]

    def zone_for(self, msisdn: str) -> ZoneInfo:
        """The zone for a normalised ``msisdn``."""
        prefix = self._prefix(msisdn)
        return self._default_zone if prefix is None else self._zones[prefix]

    def _prefix(self, msisdn: str) -> str | None:
        for length in self._lengths:
            prefix = msisdn[:length]
            if prefix in self._zones:
                return prefix
        return None


def _zone(name: str) -> ZoneInfo:
    zone = zone_of(name)
    assert isinstance(zone, ZoneInfo)  # zone_of gives a ZoneInfo for every name
    return zone
