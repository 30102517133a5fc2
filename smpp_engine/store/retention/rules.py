"""What retention may purge and how it counts what it purged; one copy for both stores.

Only a message in a final state, finished (last changed) and accepted before
the cut-off, goes. A message queued, held, being submitted or submitted and
awaiting its receipt never does, whatever its age. Nor does one a billing
notice points to: a disconnection warning's message is its proof of delivery,
and that proof is kept as long as the notice is.

Before a message goes, it is added to ``message_days``: per UTC day of its
acceptance, route and final state, how many messages and how many parts
(segments). Reports by day read those rows and the messages still stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..messages.model import FINAL_STATES

__all__ = [
    "PURGEABLE_STATES",
    "DayCount",
    "PurgeBatch",
    "PurgedRow",
    "day_of",
    "summarise",
    "window_reaches",
]

#: The states a message may be purged in: the final ones, in a stable order.
PURGEABLE_STATES: tuple[str, ...] = tuple(sorted(state.value for state in FINAL_STATES))


@dataclass(frozen=True, slots=True)
class DayCount:
    """Purged messages of one UTC day (of their acceptance), route and final state."""

    day: str
    smsc: str
    state: str
    messages: int
    parts: int


@dataclass(frozen=True, slots=True)
class PurgeBatch:
    """One batch's work: what was purged, and the id to go on after (None: done).

    ``parts`` counts the purged messages' segments (their ``parts``), ``events``
    their history rows.
    """

    messages: int
    parts: int
    events: int
    next_after: int | None


@dataclass(frozen=True, slots=True)
class PurgedRow:
    message_id: int
    smsc: str
    state: str
    parts: int
    created_at: float


def day_of(moment: float) -> str:
    """The UTC day of an epoch moment, as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(moment, UTC).date().isoformat()


def summarise(rows: Iterable[PurgedRow]) -> list[DayCount]:
    """The day counts ``rows`` add to ``message_days``."""
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in rows:
        key = (day_of(row.created_at), row.smsc, row.state)
        messages, parts = counts.get(key, (0, 0))
        counts[key] = (messages + 1, parts + row.parts)
    return [DayCount(*key, *value) for key, value in sorted(counts.items())]


def window_reaches(created: Iterable[float], count: int, window: int, older_than: float) -> bool:
    """Whether a scanned window of ids is the last one: it ran off the table's end, or
    reached messages accepted at or after the cut-off (ids grow with acceptance, so
    nothing later can be old enough)."""
    return count < window or any(moment >= older_than for moment in created)
