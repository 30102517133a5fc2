"""Retention: the store interface both backends implement (rules in :mod:`.rules`).

Purging goes in batches over a window of message ids, each batch one short
transaction, so the pipeline's claims and writes interleave with it instead of
waiting for one long delete.
"""

from __future__ import annotations

from typing import Protocol

from .rules import DayCount, PurgeBatch

__all__ = ["RetentionStore"]


class RetentionStore(Protocol):
    """Finished messages past their age, and the day counts of those purged."""

    async def purge_finished(
        self, *, after_id: int, older_than: float, window: int = 1000
    ) -> PurgeBatch:
        """Purge, in one transaction, the purgeable messages (:mod:`.rules`) among
        the ``window`` ids after ``after_id`` that finished and were accepted before
        ``older_than``: their day counts added, their parts, history and rows
        deleted, the counts by state lowered. ``next_after`` says where the next
        batch starts (None when the window reached the end or recent messages)."""
        ...

    async def message_days(self, *, since: str = "") -> list[DayCount]:
        """The day counts of purged messages, from day ``since`` (``YYYY-MM-DD``) on,
        by day, route and state."""
        ...
