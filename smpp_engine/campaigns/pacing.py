"""Spread a campaign's messages at its rate, outside every recipient's quiet hours.

The pipeline sends a queued message once its ``not_before`` has come, so a
campaign's rate is kept by giving consecutive messages ``not_before`` times
``1/rate`` apart. A slot that falls in its recipient's quiet hours goes to
someone awake instead, and that recipient's message waits for the morning: a
long campaign that runs into the evening continues the next day instead of
waking anyone.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol

from .errors import CampaignSettingError
from .quiet_hours import QuietHours

__all__ = ["MAX_RATE", "MIN_RATE", "Pacable", "check_rate", "pace"]

#: The slowest campaign: a message every 1,000 s. Slower is a typo (a rate per
#: hour given per second), and 1/rate of a tiny rate overflows any calendar.
MIN_RATE: Final = 0.001
#: The fastest: no SMSC account takes more messages per second.
MAX_RATE: Final = 100_000.0


def check_rate(rate: object, *, field: str = "rate") -> float:
    """``rate`` (messages per second) if a campaign can be paced at it; else a
    :class:`CampaignSettingError` naming ``field``."""
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not MIN_RATE <= rate <= MAX_RATE
    ):
        raise CampaignSettingError(
            f"a number of messages per second from {MIN_RATE:g} to {MAX_RATE:g}",
            field=field,
            value=rate,
        )
    return float(rate)


class Pacable(Protocol):
    """What pacing needs of a message: its earliest time (UTC) and its recipient's zone."""

    @property
    def send_at(self) -> datetime: ...

    @property
    def time_zone(self) -> str: ...


def pace(messages: Sequence[Pacable], rate: float, quiet_hours: QuietHours) -> list[datetime]:
    """When each message may go (UTC): at most ``rate`` per second, never in quiet hours.

    The result is aligned with ``messages``. A message never goes before its own
    ``send_at``; a recipient still in quiet hours steps aside (to the end of them)
    without holding back the recipients who may be messaged now; among messages
    due at the same time the order of ``messages`` is kept.
    """
    gap = timedelta(seconds=1 / check_rate(rate))
    due = [(message.send_at, index) for index, message in enumerate(messages)]
    heapq.heapify(due)
    slots: list[datetime | None] = [None] * len(messages)
    cursor: datetime | None = None
    try:
        while due:
            candidate, index = heapq.heappop(due)
            slot = candidate if cursor is None else max(cursor, candidate)
            allowed = quiet_hours.next_allowed(slot, messages[index].time_zone)
            if allowed > slot:
                heapq.heappush(due, (allowed, index))  # asleep: try again when they wake
                continue
            slots[index] = slot
            cursor = slot + gap
    except OverflowError:
        # Only a start near the end of the calendar gets here (year 9999).
        raise CampaignSettingError(
            "the campaign would run past the end of the calendar",
            field="start_at",
            value=min(message.send_at for message in messages),
        ) from None
    return [slot for slot in slots if slot is not None]
