"""Tenant quotas: the periods a message counts in, and when a count goes over its limit."""

from __future__ import annotations

from datetime import UTC, datetime

from .model import QuotaRefusal

__all__ = ["day_key", "month_key", "over_quota", "periods"]


def day_key(now: float) -> str:
    return "D" + datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def month_key(now: float) -> str:
    return "M" + datetime.fromtimestamp(now, UTC).strftime("%Y-%m")


def periods(now: float) -> tuple[str, str]:
    """The day and month (UTC) a message accepted at ``now`` counts in."""
    return day_key(now), month_key(now)


def over_quota(
    counts: dict[str, int], added: int, daily: int | None, monthly: int | None, now: float
) -> QuotaRefusal | None:
    """The first limit the counts (after ``added`` messages were added) go over, if any."""
    day, month = periods(now)
    for name, key, limit in (("daily", day, daily), ("monthly", month, monthly)):
        if limit is not None and counts[key] > limit:
            return QuotaRefusal(name, key[1:], limit, counts[key] - added)
    return None
