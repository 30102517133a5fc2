"""Quiet hours: when bulk messages must wait, read off the recipient's local clock.

Every day has one quiet window, ``(start, end)`` in local wall-clock time: the
weekday window on working days, the weekend window on ``weekend_days``
(0 = Monday ... 6 = Sunday). A window whose end is not after its start runs past
midnight into the next morning, and belongs to the day on which it *starts*: with
the defaults (22:00-08:00 on working days, 20:00-09:00 at weekends) Friday night
is quiet from Friday 22:00 to Saturday 08:00 (Friday is a working day), Sunday
night from Sunday 20:00 to Monday 09:00. So Saturday 08:30 is allowed and Monday
08:30 is not. A window is half-open: at 08:00 sharp sending is allowed, at 22:00
sharp it is not.

Quiet or not depends only on what the recipient's clock reads. Across a
spring-forward gap, sending resumes at the first instant the clock reads the end
time or later; across a fall-back, the clock reads the repeated hour twice and so
does the rule. Instants are compared in UTC; the offset changes are found through
zoneinfo, never assumed to be on the hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import CampaignSettingError

Window = tuple[time, time]

WEEKDAY_DEFAULT: Final[Window] = (time(22, 0), time(8, 0))
WEEKEND_DEFAULT: Final[Window] = (time(20, 0), time(9, 0))
WEEKEND_DAYS_DEFAULT: Final = frozenset({5, 6})

_ONE_DAY: Final = timedelta(days=1)
# No time zone changes its offset twice within an hour, so probing every hour finds
# every change; the exact second is then found by bisection.
_PROBE: Final = timedelta(hours=1)
# Consecutive windows can overlap (a long weekend window after a working night),
# but a chain of them is at most a few days long: each window is under 24 hours.
_MAX_CHAIN: Final = 16
_MAX_STEPS: Final = 64
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


def parse_window(text: str, *, field: str = "quiet_hours") -> Window:
    """``"22:00-08:00"`` as a window of two times."""
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise CampaignSettingError(
            "a quiet window is written HH:MM-HH:MM", field=field, value=text
        ) from None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Quiet windows for working days and weekends; ``None`` means no quiet hours then."""

    weekday: Window | None = WEEKDAY_DEFAULT
    weekend: Window | None = WEEKEND_DEFAULT
    weekend_days: AbstractSet[int] = WEEKEND_DAYS_DEFAULT

    def __post_init__(self) -> None:
        for name in ("weekday", "weekend"):
            window = getattr(self, name)
            if window is None:
                continue
            if (
                len(window) != 2
                or not all(isinstance(t, time) and t.tzinfo is None for t in window)
                or window[0] == window[1]
            ):
                raise CampaignSettingError(
                    "a quiet window is two different local times (start, end)",
                    field=f"quiet_hours.{name}",
                    value=window,
                )
        days = frozenset(self.weekend_days)
        if not all(isinstance(day, int) and 0 <= day <= 6 for day in days):
            raise CampaignSettingError(
                "weekend days are 0 (Monday) to 6 (Sunday)",
                field="quiet_hours.weekend_days",
                value=sorted(days),
            )
        object.__setattr__(self, "weekend_days", days)

    @classmethod
    def parse(
        cls,
        weekday: str | None = "22:00-08:00",
        weekend: str | None = "20:00-09:00",
        weekend_days: AbstractSet[int] = WEEKEND_DAYS_DEFAULT,
    ) -> QuietHours:
        """Quiet hours from ``"HH:MM-HH:MM"`` texts (``None`` for none)."""
        return cls(
            None if weekday is None else parse_window(weekday, field="quiet_hours.weekday"),
            None if weekend is None else parse_window(weekend, field="quiet_hours.weekend"),
            weekend_days,
        )

    def to_json(self) -> dict[str, Any]:
        """The windows as ``"HH:MM-HH:MM"`` (None for none) and the weekend days."""

        def text(window: Window | None) -> str | None:
            if window is None:
                return None
            return f"{window[0].isoformat('minutes')}-{window[1].isoformat('minutes')}"

        return {
            "weekday": text(self.weekday),
            "weekend": text(self.weekend),
            "weekend_days": sorted(self.weekend_days),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuietHours:
        """What :meth:`to_json` wrote; raises :class:`CampaignSettingError` for anything else."""
        try:
            return cls.parse(data["weekday"], data["weekend"], frozenset(data["weekend_days"]))
        except (KeyError, TypeError) as exc:
            raise CampaignSettingError(
                "quiet hours are weekday, weekend and weekend_days", field="quiet_hours", value=data
            ) from exc

    def window_for(self, day: date) -> Window | None:
        """The quiet window that starts on ``day``."""
        return self.weekend if day.weekday() in self.weekend_days else self.weekday

    def is_quiet(self, instant: datetime, tz: str | tzinfo) -> bool:
        """Whether ``instant`` (aware) falls in quiet hours on the clock of ``tz``."""
        wall = _aware(instant, "instant").astimezone(zone_of(tz)).replace(tzinfo=None)
        return self._covering_end(wall) is not None

    def next_allowed(self, now: datetime, tz: str | tzinfo) -> datetime:
        """The first instant at or after ``now`` (aware) outside quiet hours, in UTC.

        That is ``now`` itself when sending is allowed now.
        """
        zone = zone_of(tz)
        t = _aware(now, "now").astimezone(UTC)
        for _ in range(_MAX_STEPS):
            local = t.astimezone(zone)
            offset = local.utcoffset()
            if offset is None:
                raise CampaignSettingError(
                    "time zone without a UTC offset", field="time_zone", value=tz
                )
            end = self._quiet_end(local.replace(tzinfo=None))
            if end is None:
                return t
            # Until the next offset change the clock runs with UTC, so the clock
            # reaches ``end`` at this instant unless the offset changes first.
            until = (end - offset).replace(tzinfo=UTC)
            change = _first_offset_change(zone, t, until, offset)
            if change is None:
                return until
            t = change
        raise RuntimeError(f"no allowed instant found after {now} in {tz}")  # pragma: no cover

    def _covering_end(self, wall: datetime) -> datetime | None:
        """The latest end of the windows holding the local time ``wall``, if any."""
        today = wall.date()
        end: datetime | None = None
        for day in (today - _ONE_DAY, today):
            window = self.window_for(day)
            if window is None:
                continue
            start, stop = window
            begins = datetime.combine(day, start)
            ends = datetime.combine(day if stop > start else day + _ONE_DAY, stop)
            if begins <= wall < ends and (end is None or ends > end):
                end = ends
        return end

    def _quiet_end(self, wall: datetime) -> datetime | None:
        """The local time at which the run of quiet windows holding ``wall`` ends."""
        end = self._covering_end(wall)
        if end is None:
            return None
        for _ in range(_MAX_CHAIN):
            later = self._covering_end(end)
            if later is None:
                return end
            end = later
        raise RuntimeError("quiet windows cover every hour")  # pragma: no cover


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CampaignSettingError(
            "a time zone-aware datetime is required", field=field, value=value
        )
    return value


def _offset_at(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _first_offset_change(
    zone: tzinfo, start: datetime, stop: datetime, offset: timedelta
) -> datetime | None:
    """The first instant in (start, stop] at which ``zone`` leaves ``offset``, or None."""
    low = start
    while low < stop:
        high = min(low + _PROBE, stop)
        if _offset_at(zone, high) != offset:
            # Offsets change on whole seconds (the tz database has no finer unit).
            lo, hi = math.floor(low.timestamp()), math.ceil(high.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_at(zone, datetime.fromtimestamp(mid, UTC)) == offset:
                    lo = mid
                else:
                    hi = mid
            return datetime.fromtimestamp(hi, UTC)
        low = high
    return None
