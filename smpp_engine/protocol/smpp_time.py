"""SMPP time strings (spec 7.1.1): ``YYMMDDhhmmsstnnp``.

Absolute times carry tenths of a second (t), the offset from UTC in quarter
hours (nn) and its sign (p = ``+`` or ``-``); relative times end in ``R`` and
count years, months, days, hours, minutes and seconds from "now". An empty
string means "not set" (immediate delivery, or the SMSC's default validity).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

from .errors import PduError
from .status import CommandStatus

_QUARTER_HOUR = 15 * 60


def format_absolute(moment: datetime) -> str:
    """The absolute SMPP form of an aware ``moment`` in its own UTC offset."""
    offset = moment.utcoffset()
    if offset is None:
        raise PduError(
            "an absolute SMPP time needs a timezone-aware datetime", field="time", value=moment
        )
    seconds = int(offset.total_seconds())
    if seconds % _QUARTER_HOUR:
        raise PduError(
            "SMPP expresses UTC offsets in quarter hours", field="time", value=str(offset)
        )
    quarters = abs(seconds) // _QUARTER_HOUR
    sign = "-" if seconds < 0 else "+"
    if not 2000 <= moment.year <= 2099 or quarters > 48:
        raise PduError("outside what SMPP times can express", field="time", value=moment)
    return f"{moment:%y%m%d%H%M%S}{moment.microsecond // 100_000}{quarters:02d}{sign}"


def format_relative(delta: timedelta) -> str:
    """The relative SMPP form (days, hours, minutes, seconds) of a positive ``delta``."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86_400)
    if total <= 0 or days > 99:
        raise PduError(
            "a relative SMPP time is between 1 second and 99 days", field="time", value=str(delta)
        )
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{seconds:02d}000R"


def parse_smpp_time(
    value: str, now: datetime, *, field: str = "validity_period"
) -> datetime | None:
    """The moment ``value`` names (aware, UTC for relative times); None when empty.

    ``now`` (aware) anchors relative times. Errors carry the status an SMSC gives
    for the field: ESME_RINVSCHED for schedule_delivery_time, else ESME_RINVEXPIRY.
    """
    if value == "":
        return None
    status = (
        CommandStatus.ESME_RINVSCHED
        if field == "schedule_delivery_time"
        else CommandStatus.ESME_RINVEXPIRY
    )
    digits = value[:15]
    if len(value) != 16 or not (digits.isascii() and digits.isdigit()) or value[15] not in "+-R":
        raise PduError(
            "expected YYMMDDhhmmsstnnp (16 characters, p one of + - R)",
            status=status,
            field=field,
            value=value,
        )
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    tenths, quarters, sign = int(value[12]), int(value[13:15]), value[15]
    try:
        if sign == "R":
            return _add_months(now.astimezone(UTC), 12 * yy + mo) + timedelta(
                days=dd, hours=hh, minutes=mi, seconds=ss
            )
        if quarters > 48:
            raise ValueError("UTC offset beyond 12 hours")
        offset = timedelta(seconds=quarters * _QUARTER_HOUR)
        zone = timezone(-offset if sign == "-" else offset)
        return datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=zone)
    except ValueError as exc:
        raise PduError(
            f"invalid SMPP time: {exc}", status=status, field=field, value=value
        ) from None


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
