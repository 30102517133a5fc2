"""Claimed messages marked dispatched, durably, just ahead of sending.

A message whose lease runs out with the mark may have reached the SMSC, one
without it never left the gateway: recovery flags only the first kind as
possible duplicates. The mark must be durable before the message is written
to a socket, yet a write per message would cost a store round trip each, so
marks go out a batch ahead: while one batch is sent, the next one's mark is
written with the other updates. The batch is sized to what is sent while one
mark is written (it doubles when sending ran dry waiting for a mark), and the
next batch is marked once half a batch is left: the messages marked and not
sent, which a crash flags for nothing, stay near what one write takes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from throttling import PriorityLanes

from ..store import ClaimedMessage, Dispatching
from .sink import UpdateSink

__all__ = ["DispatchMarks"]

# The first guess, before the rate and the store's write latency have been seen.
_FIRST_LOOKAHEAD = 8


class DispatchMarks:
    """Messages taken from ``lanes`` and marked through ``updates``, in sending order.

    ``most_ahead`` bounds a batch (the dispatcher's unsettled limit, halved).
    """

    def __init__(
        self, lanes: PriorityLanes[ClaimedMessage], updates: UpdateSink, most_ahead: int
    ) -> None:
        self.lanes = lanes
        self.updates = updates
        self.most_ahead = max(1, most_ahead)
        self.lookahead = min(_FIRST_LOOKAHEAD, self.most_ahead)
        self._ready: deque[ClaimedMessage] = deque()  # marked, durably
        self._marking: list[ClaimedMessage] = []  # marked once update _until is written
        self._until = 0
        self._sent_while_marking = 0

    def __len__(self) -> int:
        """Messages taken from the lanes and not sent yet."""
        return len(self._ready) + len(self._marking)

    def __iter__(self) -> Iterator[ClaimedMessage]:
        yield from self._ready
        yield from self._marking

    def clear(self) -> None:
        self._ready.clear()
        self._marking = []

    def take(self, chosen: Callable[[ClaimedMessage], bool]) -> list[ClaimedMessage]:
        """Remove and return the messages ``chosen`` picks (they leave for another route).

        One whose mark is still being written is taken too: the mark matters only
        while the message is claimed here.
        """
        taken = [m for m in self if chosen(m)]
        if taken:
            ids = {m.message_id for m in taken}
            self._ready = deque(m for m in self._ready if m.message_id not in ids)
            self._marking = [m for m in self._marking if m.message_id not in ids]
        return taken

    def send_next(self, message: ClaimedMessage) -> None:
        """``message`` is marked already (stored so, or put back unsent): it goes next."""
        self._ready.appendleft(message)

    def sent(self) -> None:
        """Count one message sent: the measure of how far ahead to mark."""
        self._sent_while_marking += 1

    async def next(self) -> ClaimedMessage | None:
        """The next message to send, its mark durable; None when the lanes are empty."""
        ready = self._ready
        if self._marking and self.updates.written >= self._until:
            # Written while the messages ahead of it were sent: batches need only
            # cover what goes out during one write.
            self.lookahead = max(1, min(self._sent_while_marking + 1, self.most_ahead))
            self._promote()
        if not ready:
            if self._marking:
                # Sending ran ahead of the store: look further ahead from now on.
                self.lookahead = min(self.lookahead * 2, self.most_ahead)
            else:
                self._mark_next()
                if not self._marking:
                    return None
            # Nothing goes out until the mark is written: have it written now rather
            # than with the next batch.
            await self.updates.flush()
            self._promote()
        if not self._marking and 2 * len(ready) <= self.lookahead:
            self._mark_next()
        return ready.popleft() if ready else None

    def _mark_next(self) -> None:
        if not self.lanes:
            return
        batch = self.lanes.pop_batch(self.lookahead)
        self.updates.submit_nowait(Dispatching(tuple(m.message_id for m in batch)))
        self._marking = batch
        self._until = self.updates.submitted
        self._sent_while_marking = 0

    def _promote(self) -> None:
        self._ready.extend(self._marking)
        self._marking = []
