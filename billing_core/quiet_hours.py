"""Quiet hours: when bulk messages and notices must wait, read off the recipient's clock.

The one rule for campaigns and billing notices alike (pure: no I/O, the zone
and the time are passed in).

Every day has one quiet window, ``(start, end)`` in local wall-clock time: the
weekday window on working days, the weekend window on ``weekend_days``
(0 = Monday ... 6 = Sunday). A window whose end is not after its start runs past
midnight into the next morning, and belongs to the day on which it *starts*: with
the defaults (22:00-08:00 on working days, 20:00-09:00 at weekends) Friday night
is quiet from Friday 22:00 to Saturday 08:00 (Friday is a working day), Sunday
night from Sunday 20:00 to Monday 09:00. So Saturday 08:30 is allowed and Monday
08:30 is not. A window is half-open: at 08:00 sharp sending is allowed, at 22:00
sharp it is not.

On the days the clocks change a window keeps its wall-clock times: 22:00-08:00
is quiet from when the recipient's clock reads 22:00 to when it reads 08:00, so
the night is an hour shorter or longer in real time. Each end of a window is
**the first instant the clock reads that time or later**:

- a time the clock skips (spring forward) maps forward to the instant of the
  jump: with a window ending at 02:15 on a night the clock goes from 02:00 to
  02:30, sending resumes at the jump, when the clock reads 02:30;
- a time the clock reads twice (fall back) is its first occurrence: a window
  ending at 01:30 ends at the first 01:30, and the repeated half hour after it
  is not quiet again; a window starting at 01:30 starts at the first 01:30 and
  runs through the repeated hour without a break.

So a window is one interval of real time, never two. Instants are compared in
UTC; the offset changes come from the zone (zoneinfo), never assumed to be on the
hour or an hour long.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Self

from .errors import SettingsError

__all__ = [
    "WEEKDAY_DEFAULT",
    "WEEKEND_DAYS_DEFAULT",
    "WEEKEND_DEFAULT",
    "QuietHours",
    "Window",
    "clock_reads",
    "parse_window",
    "window_text",
]

Window = tuple[time, time]

WEEKDAY_DEFAULT: Final[Window] = (time(22, 0), time(8, 0))
WEEKEND_DEFAULT: Final[Window] = (time(20, 0), time(9, 0))
WEEKEND_DAYS_DEFAULT: Final = frozenset({5, 6})

_ONE_DAY: Final = timedelta(days=1)
# Consecutive windows can overlap (a long weekend window after a working night),
# but a chain of them is at most a few days long: each window is under 24 hours.
_MAX_CHAIN: Final = 16


def window_text(window: Window) -> str:
    """``(22:00, 08:00)`` as ``"22:00-08:00"``."""
    return f"{window[0].isoformat('minutes')}-{window[1].isoformat('minutes')}"


def parse_window(text: str, *, field: str = "quiet_hours") -> Window:
    """``"22:00-08:00"`` as a window of two times."""
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise SettingsError(
            "a quiet window is written HH:MM-HH:MM", field=field, value=text
        ) from None


def clock_reads(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant (UTC) at which the clock of ``zone`` reads ``wall`` (naive) or later.

    A time the clock reads twice gives its first occurrence; a time it skips
    gives the instant of the jump.
    """
    return _clock_reads(wall, zone)


@functools.lru_cache(maxsize=4096)  # pacing asks for the same few nights again and again
def _clock_reads(wall: datetime, zone: tzinfo) -> datetime:
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    early, late = min(first, second), max(first, second)
    if _reading(early, zone) == wall:
        return early  # the time exists; if twice, this is the first time
    # Skipped: the clock reads less than ``wall`` at ``early`` and more at ``late``,
    # and jumps in between, on a whole second (the tz database has no finer unit).
    lo, hi = math.floor(early.timestamp()), math.ceil(late.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _reading(datetime.fromtimestamp(mid, UTC), zone) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _reading(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


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
                not isinstance(window, tuple)
                or len(window) != 2
                or not all(isinstance(t, time) and t.tzinfo is None for t in window)
                or window[0] == window[1]
            ):
                raise SettingsError(
                    "a quiet window is two different local times (start, end)",
                    field=f"quiet_hours.{name}",
                    value=window,
                )
        days = frozenset(self.weekend_days)
        if not all(isinstance(day, int) and 0 <= day <= 6 for day in days):
            raise SettingsError(
                "weekend days are 0 (Monday) to 6 (Sunday)",
                field="quiet_hours.weekend_days",
                value=sorted(days, key=repr),
            )
        object.__setattr__(self, "weekend_days", days)

    @classmethod
    def parse(
        cls,
        weekday: str | None = window_text(WEEKDAY_DEFAULT),
        weekend: str | None = window_text(WEEKEND_DEFAULT),
        weekend_days: AbstractSet[int] = WEEKEND_DAYS_DEFAULT,
    ) -> Self:
        """Quiet hours from ``"HH:MM-HH:MM"`` texts (``None`` for none)."""
        return cls(
            None if weekday is None else parse_window(weekday, field="quiet_hours.weekday"),
            None if weekend is None else parse_window(weekend, field="quiet_hours.weekend"),
            weekend_days,
        )

    def to_json(self) -> dict[str, Any]:
        """The windows as ``"HH:MM-HH:MM"`` (None for none) and the weekend days."""
        return {
            "weekday": None if self.weekday is None else window_text(self.weekday),
            "weekend": None if self.weekend is None else window_text(self.weekend),
            "weekend_days": sorted(self.weekend_days),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """What :meth:`to_json` wrote; raises :class:`SettingsError` for anything else."""
        try:
            return cls.parse(data["weekday"], data["weekend"], frozenset(data["weekend_days"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise SettingsError(
                "quiet hours are weekday, weekend and weekend_days", field="quiet_hours", value=data
            ) from exc

    def window_for(self, day: date) -> Window | None:
        """The quiet window that starts on ``day``."""
        return self.weekend if day.weekday() in self.weekend_days else self.weekday

    def is_quiet(self, instant: datetime, tz: tzinfo) -> bool:
        """Whether ``instant`` (aware) falls in quiet hours on the clock of ``tz``."""
        return self._quiet_until(_aware(instant, "instant").astimezone(UTC), tz) is not None

    def next_allowed(self, now: datetime, tz: tzinfo) -> datetime:
        """The first instant at or after ``now`` (aware) outside quiet hours, in UTC.

        That is ``now`` itself when sending is allowed now.
        """
        t = _aware(now, "now").astimezone(UTC)
        for _ in range(_MAX_CHAIN):
            end = self._quiet_until(t, tz)
            if end is None:
                return t
            t = end
        raise RuntimeError("quiet windows cover every hour")  # pragma: no cover

    def _quiet_until(self, t: datetime, zone: tzinfo) -> datetime | None:
        """The latest end (UTC) of the windows holding ``t`` (UTC), or None."""
        latest: datetime | None = None
        for begins, ends in self._windows_around(t, zone):
            if begins <= t < ends and (latest is None or ends > latest):
                latest = ends
        return latest

    def _windows_around(self, t: datetime, zone: tzinfo) -> Iterator[tuple[datetime, datetime]]:
        """The windows (UTC intervals) that can hold ``t``: those starting on the day
        before its local date and on that date; and on the day after, which a clock
        going back across midnight can show as the evening before."""
        today = _reading(t, zone).date()
        for day in (today - _ONE_DAY, today, today + _ONE_DAY):
            window = self.window_for(day)
            if window is None:
                continue
            start, stop = window
            begins = _clock_reads(datetime.combine(day, start), zone)
            ends = _clock_reads(
                datetime.combine(day if stop > start else day + _ONE_DAY, stop), zone
            )
            yield begins, ends


def _aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise SettingsError("a time zone-aware datetime is required", field=field, value=value)
    return value
