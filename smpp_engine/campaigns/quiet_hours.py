"""Quiet hours for campaigns: the rule of :mod:`billing_core.quiet_hours`, in campaign terms.

The rule itself (the windows on the recipient's clock, the day a window belongs
to, what a clock change does to it) is written once, in
:mod:`billing_core.quiet_hours`, which the billing notices follow too; read its
docstring. The billing core is pure and every layer may import it; this module
only gives campaigns what they add: zones by IANA name (:func:`zone_of`) and
every mistake as a :class:`CampaignSettingError` naming the field, as the other
campaign inputs report theirs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import Any, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing_core import SettingsError
from billing_core import quiet_hours as rule
from billing_core.quiet_hours import WEEKDAY_DEFAULT, WEEKEND_DAYS_DEFAULT, WEEKEND_DEFAULT, Window

from .errors import CampaignSettingError

__all__ = [
    "MAX_ZONE_NAME",
    "WEEKDAY_DEFAULT",
    "WEEKEND_DAYS_DEFAULT",
    "WEEKEND_DEFAULT",
    "QuietHours",
    "Window",
    "parse_window",
    "zone_of",
]

#: The longest IANA name is 32 characters ("America/Argentina/ComodRivadavia").
MAX_ZONE_NAME: Final = 64


def zone_of(tz: str | tzinfo) -> tzinfo:
    """``tz`` as a tzinfo; a name is looked up in the IANA database.

    Anything zoneinfo cannot load as a zone is a :class:`CampaignSettingError`:
    a folder of the database ("Europe"), a path, a NUL, a name the file system
    cannot even spell (a lone surrogate) or one too long for it.
    """
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str) or not 0 < len(tz) <= MAX_ZONE_NAME:
        raise CampaignSettingError("unknown IANA time zone", field="time_zone", value=tz)
    try:
        # OSError: a folder (IsADirectoryError), a name too long for the file system.
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CampaignSettingError("unknown IANA time zone", field="time_zone", value=tz) from None


@contextmanager
def _as_campaign_error() -> Iterator[None]:
    try:
        yield
    except SettingsError as exc:
        field = exc.field or "quiet_hours"
        raise CampaignSettingError(exc.reason, field=field, value=exc.value) from None


def parse_window(text: str, *, field: str = "quiet_hours") -> Window:
    """``"22:00-08:00"`` as a window of two times."""
    with _as_campaign_error():
        return rule.parse_window(text, field=field)


class QuietHours(rule.QuietHours):
    """:class:`billing_core.QuietHours` that takes zone names and raises campaign errors."""

    __slots__ = ()

    def __post_init__(self) -> None:
        with _as_campaign_error():
            rule.QuietHours.__post_init__(self)

    @classmethod
    def parse(
        cls,
        weekday: str | None = rule.window_text(WEEKDAY_DEFAULT),
        weekend: str | None = rule.window_text(WEEKEND_DEFAULT),
        weekend_days: AbstractSet[int] = WEEKEND_DAYS_DEFAULT,
    ) -> Self:
        with _as_campaign_error():
            return super().parse(weekday, weekend, weekend_days)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        with _as_campaign_error():
            return super().from_json(data)

    def is_quiet(self, instant: datetime, tz: str | tzinfo) -> bool:
        zone = zone_of(tz)
        with _as_campaign_error():
            return super().is_quiet(instant, zone)

    def next_allowed(self, now: datetime, tz: str | tzinfo) -> datetime:
        zone = zone_of(tz)
        with _as_campaign_error():
            return super().next_allowed(now, zone)
