"""Group commit: concurrent accepts share one store transaction.

Many callers at once (HTTP requests, each with one message) would each pay a
transaction and a hop to the store's thread. Here the first caller becomes the
leader: it writes everything queued by then in one ``store.accept``, hands each
caller its own results, and goes on until the queue is empty; the others only
wait. Nobody's messages wait for a timer, and each caller still gets its ids
only once they are durable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from ..store import Accepted, NewMessage, Store, StoreError

__all__ = ["GroupCommit"]


@dataclass
class _Entry:
    messages: Sequence[NewMessage]
    done: trio.Event = field(default_factory=trio.Event)
    accepted: list[Accepted] | None = None
    error: Exception | None = None


class GroupCommit:
    """``accept`` as the store's, with concurrent calls written together.

    One transaction holds at most ``max_messages`` (a larger single call is
    written alone). A store error fails every call of its transaction; any
    other error (a message the store refuses) makes each call of that
    transaction be written alone, so it fails only its own caller.
    """

    def __init__(
        self, store: Store, clock: Callable[[], float], *, max_messages: int = 2000
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_messages = max_messages
        self._queue: list[_Entry] = []
        self._leading = False
        self._alone = 0  # entries at the front of the queue to write one by one

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        entry = _Entry(messages)
        self._queue.append(entry)
        if self._leading:
            # Shielded: once queued, the messages are written whatever happens to
            # this caller, so it waits to learn the outcome like everyone else.
            with trio.CancelScope(shield=True):
                await entry.done.wait()
        else:
            await self._lead()
        if entry.error is not None:
            raise entry.error
        assert entry.accepted is not None
        return entry.accepted

    async def _lead(self) -> None:
        self._leading = True
        try:
            while self._queue:
                batch = self._take()
                messages = [m for entry in batch for m in entry.messages]
                try:
                    accepted = await self._write(messages)
                except StoreError as exc:  # the store is away: for every caller alike
                    self._fail(batch, exc)
                    continue
                except Exception as exc:
                    if len(batch) == 1:
                        self._fail(batch, exc)
                        continue
                    # One caller's bad message must not fail the others: each alone.
                    self._queue[:0] = batch
                    self._alone = len(batch)
                    continue
                first = 0
                for entry in batch:
                    entry.accepted = accepted[first : first + len(entry.messages)]
                    first += len(entry.messages)
                    entry.done.set()
        finally:
            self._leading = False

    async def _write(self, messages: list[NewMessage]) -> list[Accepted]:
        # Shielded: the transaction serves every caller in it.
        with trio.CancelScope(shield=True):
            accepted = await self.store.accept(messages, now=self.clock())
        return accepted

    @staticmethod
    def _fail(batch: list[_Entry], error: Exception) -> None:
        for entry in batch:
            entry.error = error
            entry.done.set()

    def _take(self) -> list[_Entry]:
        queue = self._queue
        if self._alone:
            self._alone -= 1
            batch, self._queue = queue[:1], queue[1:]
            return batch
        taken, count = 0, 0
        while taken < len(queue) and (
            taken == 0 or count + len(queue[taken].messages) <= self.max_messages
        ):
            count += len(queue[taken].messages)
            taken += 1
        batch, self._queue = queue[:taken], queue[taken:]
        return batch
