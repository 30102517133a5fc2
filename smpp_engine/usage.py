"""Usage per tenant for invoicing: the day range asked for, and the rows as JSON or CSV.

Shared by ``GET /v1/usage`` and ``smpp-engine usage``. Days are UTC; a range is
``since`` to ``until`` inclusive. A row is one tenant's messages accepted on one
day that are now in one state, with their SMS parts (what an SMSC bills).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .store.tenants import UsageRow

__all__ = ["MAX_DAYS", "USAGE_COLUMNS", "UsageRangeError", "day_range", "usage_csv", "usage_json"]

USAGE_COLUMNS = ("day", "tenant", "state", "messages", "parts")
#: A report covers at most this many days (a year and a day: a leap year's invoice).
MAX_DAYS = 367


class UsageRangeError(ValueError):
    """A day range that cannot be reported: ``field`` names the input at fault."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")
        self.field = field
        self.value = value
        self.reason = reason


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageRangeError(field, text, "expected a day YYYY-MM-DD") from None


def day_range(since: str, until: str) -> tuple[date, date, float, float]:
    """The days ``since`` and ``until`` (inclusive), and the epoch seconds they span."""
    first, last = _day(since, "from"), _day(until, "to")
    if last < first:
        raise UsageRangeError("to", until, "must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise UsageRangeError("to", until, f"at most {MAX_DAYS} days from from")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return first, last, start, end.timestamp()


def usage_json(rows: Sequence[UsageRow]) -> list[dict[str, Any]]:
    return [
        {
            "day": r.day,
            "tenant": r.tenant,
            "state": r.state,
            "messages": r.messages,
            "parts": r.parts,
        }
        for r in rows
    ]


def usage_csv(rows: Sequence[UsageRow]) -> str:
    """The rows as CSV with a header line; the operator's own messages have an empty tenant."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(USAGE_COLUMNS)
    for r in rows:
        writer.writerow((r.day, r.tenant or "", r.state, r.messages, r.parts))
    return out.getvalue()
