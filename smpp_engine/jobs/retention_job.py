"""The retention job: every day, finished messages past their age are purged.

It walks the messages table by id in windows, each window one short
transaction of the store (:meth:`~smpp_engine.store.RetentionStore.purge_finished`),
with a pause between them, so the pipeline's claims and writes go on while it
runs. A run that stops half-way loses nothing: what was purged was counted by
day in the same transaction, and the next run goes on from the start.

Purging (rather than moving rows to an archive table) is the point: the message
tables and their indexes stay the size of the retention window, and what reports
by day need is kept in ``message_days``. An operator who must keep every
message for longer sets ``finished_after_days`` that long (or leaves it off).
"""

from __future__ import annotations

import trio

from metrics import RETENTION_PURGED, child

from ..store import RetentionStore
from .runner import Job
from .schedule import Schedule

__all__ = ["RETENTION", "purge_finished", "retention_job"]

RETENTION = "retention"

_DAY = 86_400.0


async def purge_finished(
    store: RetentionStore, *, older_than: float, window: int, pause: float
) -> tuple[int, int, int]:
    """Every window of one run; the messages, parts and events purged."""
    after = 0
    messages = parts = events = 0
    counted = {kind: child(RETENTION_PURGED, kind) for kind in ("messages", "parts", "events")}
    while True:
        batch = await store.purge_finished(after_id=after, older_than=older_than, window=window)
        messages += batch.messages
        parts += batch.parts
        events += batch.events
        counted["messages"].inc(batch.messages)
        counted["parts"].inc(batch.parts)
        counted["events"].inc(batch.events)
        if batch.next_after is None:
            return messages, parts, events
        after = batch.next_after
        await trio.sleep(pause)


def retention_job(
    store: RetentionStore, schedule: Schedule, *, days: int, window: int, pause: float
) -> Job:
    """The job purging messages finished more than ``days`` days before it runs."""

    async def work(due_at: float, now: float) -> str:
        messages, parts, events = await purge_finished(
            store, older_than=now - days * _DAY, window=window, pause=pause
        )
        return (
            f"purged {messages} finished messages ({parts} parts, {events} events) "
            f"older than {days} days"
        )

    return Job(RETENTION, schedule, work)
