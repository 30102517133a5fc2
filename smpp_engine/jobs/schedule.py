"""When a job is due: a time of day, every day or on one day of each month, in a zone.

The moments are local wall-clock times: "02:00 on the 1st" stays 02:00 across a
daylight-saving change. A wall time that does not exist that day (in the hour
the clocks skip) is read with the offset from before the change, so it comes
the gap's length later (02:30 is 03:30); one that happens twice (in the hour
repeated) is the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

__all__ = ["Daily", "Monthly", "Schedule", "parse_time_of_day", "ticks_between"]


def parse_time_of_day(text: str) -> time:
    """``HH:MM`` as a time; ValueError naming the text otherwise."""
    try:
        hours, minutes = text.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"expected HH:MM (00:00-23:59), not {text!r}") from None


def _moment(day: date, at: time, zone: tzinfo) -> float:
    """The epoch seconds of wall time ``at`` on ``day`` in ``zone`` (fold 0: see the module)."""
    return datetime.combine(day, at, zone).timestamp()


@dataclass(frozen=True, slots=True)
class Daily:
    """Every day at ``at`` in ``zone``."""

    at: time
    zone: tzinfo

    def next_after(self, moment: float) -> float:
        """The first due moment strictly after ``moment`` (epoch seconds)."""
        day = datetime.fromtimestamp(moment, self.zone).date() - timedelta(days=1)
        while True:
            due = _moment(day, self.at, self.zone)
            if due > moment:
                return due
            day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Monthly:
    """On day ``day`` (1-28, so every month has it) of each month at ``at`` in ``zone``."""

    day: int
    at: time
    zone: tzinfo

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 28:
            raise ValueError(f"a monthly job's day is 1-28, not {self.day!r}")

    def next_after(self, moment: float) -> float:
        """The first due moment strictly after ``moment`` (epoch seconds)."""
        today = datetime.fromtimestamp(moment, self.zone).date()
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        while True:
            due = _moment(date(year, month, self.day), self.at, self.zone)
            if due > moment:
                return due
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)


Schedule = Daily | Monthly


def ticks_between(schedule: Schedule, first: float, last: float) -> list[float]:
    """The due moments of ``schedule`` from ``first`` to ``last``, both included."""
    ticks: list[float] = []
    due = schedule.next_after(first - 1e-6)
    while due <= last:
        ticks.append(due)
        due = schedule.next_after(due)
    return ticks
