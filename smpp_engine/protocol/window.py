"""The in-flight table: sequence numbers, outstanding requests and their deadlines.

A request is registered (and given its sequence number) before its bytes exist,
so a response that arrives as fast as the network allows always finds it.
Responses match only this side's own outstanding requests; the peer numbers its
requests in a separate space. A request that is never answered leaves the table
at its deadline and its outcome is UNKNOWN: the SMSC may have taken it.

Public names: ``MAX_SEQUENCE``, ``SequenceAllocator``, ``InFlight``,
``EncodedInFlight``, ``Window``, ``WindowFull``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container
from heapq import heappop, heappush
from typing import Any

from .codec import HEADER, HEADER_SIZE, decode_pdu
from .pdus import RESPONSE_BIT, CommandId, Pdu

#: The largest sequence number; the next one after it is 1 (0 is never used).
MAX_SEQUENCE = 0x7FFFFFFF

_GENERIC_NACK = CommandId.generic_nack.value
_pack_header = HEADER.pack


class WindowFull(Exception):  # noqa: N818 - the name the callers know
    """Every window slot holds an unanswered request; check ``Window.has_room`` first."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"all {size} window slots hold unanswered requests")


class SequenceAllocator:
    """Hands out 1..0x7FFFFFFF in order, wrapping to 1, skipping numbers in ``in_use``."""

    __slots__ = ("_in_use", "_next")

    def __init__(self, in_use: Container[int], first: int = 1) -> None:
        if not 1 <= first <= MAX_SEQUENCE:
            raise ValueError(f"first sequence number must be in 1..{MAX_SEQUENCE}")
        self._in_use = in_use
        self._next = first

    @property
    def peek(self) -> int:
        """The number the next call would try first."""
        return self._next

    def allocate(self) -> int:
        """The next sequence number not in flight."""
        seq = self._next
        self._next = seq + 1 if seq < MAX_SEQUENCE else 1
        if seq not in self._in_use:
            return seq
        return self._search()

    def _search(self) -> int:
        # Rare: the counter came round to a request still outstanding after a wrap.
        in_use = self._in_use
        seq = self._next
        for _ in range(MAX_SEQUENCE):
            nxt = seq + 1 if seq < MAX_SEQUENCE else 1
            if seq not in in_use:
                self._next = nxt
                return seq
            seq = nxt
        raise RuntimeError("every sequence number is in flight")


class InFlight:
    """One outstanding request of ours.

    ``context`` is the caller's (a trio event, a message id...); the protocol core
    never looks at it. ``takes_slot`` is false for session management requests
    (bind, unbind, enquire_link), which must go out even when the window is full.
    """

    __slots__ = (
        "command_id",
        "context",
        "deadline",
        "pdu",
        "sent_at",
        "sequence_number",
        "takes_slot",
    )

    def __init__(  # noqa: PLR0917 - positional: built once per request on the hot path
        self,
        pdu: Pdu,
        sequence_number: int,
        sent_at: float,
        deadline: float,
        context: Any = None,
        takes_slot: bool = True,
    ) -> None:
        self.pdu = pdu
        self.command_id = pdu.command_id
        self.sequence_number = sequence_number
        self.sent_at = sent_at
        self.deadline = deadline
        self.context = context
        self.takes_slot = takes_slot

    def __lt__(self, other: InFlight) -> bool:
        # Only reached for equal (deadline, sequence_number) heap entries, which needs a
        # stale entry outliving a wrap of the counter; any consistent order will do.
        return id(self) < id(other)

    def __repr__(self) -> str:
        return (
            f"InFlight({self.pdu.command_name} seq={self.sequence_number} "
            f"sent_at={self.sent_at} deadline={self.deadline})"
        )


_PDU_SLOT = InFlight.__dict__["pdu"]


class EncodedInFlight(InFlight):
    """An outstanding request sent as octets (:meth:`Window.register_encoded`).

    ``wire`` is the whole PDU; ``pdu`` is decoded from it when first asked for,
    so a request nobody looks at again is never built as an object.
    """

    __slots__ = ("wire",)

    def __init__(  # noqa: PLR0917 - positional: built once per request on the hot path
        self,
        command_id: int,
        wire: bytes,
        sequence_number: int,
        sent_at: float,
        deadline: float,
        context: Any = None,
        takes_slot: bool = True,
    ) -> None:
        self.command_id = command_id
        self.wire = wire
        self.sequence_number = sequence_number
        self.sent_at = sent_at
        self.deadline = deadline
        self.context = context
        self.takes_slot = takes_slot

    @property
    def pdu(self) -> Pdu:
        try:
            return _PDU_SLOT.__get__(self, InFlight)  # type: ignore[no-any-return]
        except AttributeError:
            pdu = decode_pdu(self.wire)
            _PDU_SLOT.__set__(self, pdu)
            return pdu

    @pdu.setter
    def pdu(self, pdu: Pdu) -> None:
        _PDU_SLOT.__set__(self, pdu)


class Window:
    """At most ``size`` unanswered requests that take a slot, each with a deadline.

    Deadlines are kept with lazy deletion: an answered request leaves its entry
    behind, which :meth:`expire` and :meth:`next_deadline` skip; the entries are
    rebuilt from the live requests when stale ones outnumber them, so they stay
    within a small multiple of the window. Requests registered with deadlines in
    order (the usual case: one response timeout, a clock that only goes forward)
    queue in a FIFO, where passing over an answered one costs nothing; a deadline
    earlier than the last queued (a shorter timeout) goes to a heap.
    """

    __slots__ = ("_fifo", "_heap", "_pending", "_used", "allocator", "size")

    def __init__(self, size: int, *, first_sequence: int = 1) -> None:
        if size < 1:
            raise ValueError("window size must be at least 1")
        self.size = size
        self._pending: dict[int, InFlight] = {}
        self._fifo: deque[InFlight] = deque()
        self._heap: list[tuple[float, int, InFlight]] = []
        self._used = 0
        self.allocator = SequenceAllocator(self._pending, first_sequence)

    @property
    def has_room(self) -> bool:
        """Whether :meth:`register` would accept a request that takes a slot."""
        return self._used < self.size

    @property
    def used(self) -> int:
        """Slots taken."""
        return self._used

    def __len__(self) -> int:
        """Every outstanding request, slot-taking or not."""
        return len(self._pending)

    def __contains__(self, sequence_number: object) -> bool:
        return sequence_number in self._pending

    def get(self, sequence_number: int) -> InFlight | None:
        """The outstanding request with this number, left in place."""
        return self._pending.get(sequence_number)

    def register(
        self,
        pdu: Pdu,
        now: float,
        timeout: float,
        context: Any = None,
        *,
        takes_slot: bool = True,
    ) -> InFlight:
        """Number ``pdu`` (its ``sequence_number`` is set) and record it as outstanding.

        Call this before encoding: the caller writes the bytes afterwards.
        Raises :class:`WindowFull` when ``takes_slot`` and no slot is free.
        """
        seq = self._number(takes_slot)
        pdu.sequence_number = seq
        inflight = InFlight(pdu, seq, now, now + timeout, context, takes_slot)
        self._enter(inflight)
        return inflight

    def register_encoded(
        self,
        command_id: int,
        body: bytes,
        now: float,
        timeout: float,
        context: Any = None,
        *,
        takes_slot: bool = True,
    ) -> EncodedInFlight:
        """:meth:`register` for a request the caller has as octets: ``body`` is the
        PDU encoded without its header, which is written here with the number given.

        Raises :class:`WindowFull` when ``takes_slot`` and no slot is free.
        """
        seq = self._number(takes_slot)
        wire = _pack_header(HEADER_SIZE + len(body), command_id, 0, seq) + body
        inflight = EncodedInFlight(command_id, wire, seq, now, now + timeout, context, takes_slot)
        self._enter(inflight)
        return inflight

    def _number(self, takes_slot: bool) -> int:
        """A sequence number for a new request, taking a slot for it if it ``takes_slot``."""
        if takes_slot:
            if self._used >= self.size:
                raise WindowFull(self.size)
            self._used += 1
        return self.allocator.allocate()

    def _enter(self, inflight: InFlight) -> None:
        deadline = inflight.deadline
        seq = inflight.sequence_number
        pending = self._pending
        pending[seq] = inflight
        fifo = self._fifo
        heap = self._heap
        if not fifo or deadline >= fifo[-1].deadline:
            fifo.append(inflight)
        else:
            heappush(heap, (deadline, seq, inflight))
        if len(fifo) + len(heap) > 2 * len(pending) + 64:
            self._compact()

    def resolve(self, sequence_number: int, response_id: int | None = None) -> InFlight | None:
        """Remove and return the request a response answers, None if none matches.

        With ``response_id`` (the response's command_id) a request matches only
        if that is its own response type or generic_nack.
        """
        inflight = self._pending.pop(sequence_number, None)
        if inflight is None:
            return None
        if (
            response_id is not None
            and response_id != inflight.command_id | RESPONSE_BIT
            and response_id != _GENERIC_NACK
        ):
            # Not an answer to this request: it keeps waiting for its own.
            self._pending[sequence_number] = inflight
            return None
        if inflight.takes_slot:
            self._used -= 1
        return inflight

    def expire(self, now: float) -> list[InFlight]:
        """Remove and return the requests whose deadline is at or before ``now``,
        earliest deadline first."""
        fifo = self._fifo
        heap = self._heap
        if (not fifo or fifo[0].deadline > now) and (not heap or heap[0][0] > now):
            return []
        pending = self._pending
        expired: list[InFlight] = []
        while fifo and fifo[0].deadline <= now:
            inflight = fifo.popleft()
            if pending.get(inflight.sequence_number) is inflight:
                expired.append(inflight)
        from_fifo = len(expired)
        while heap and heap[0][0] <= now:
            inflight = heappop(heap)[2]
            if pending.get(inflight.sequence_number) is inflight:
                expired.append(inflight)
        if from_fifo and len(expired) > from_fifo:
            expired.sort(key=_deadline_order)
        for inflight in expired:
            del pending[inflight.sequence_number]
            if inflight.takes_slot:
                self._used -= 1
        return expired

    def drain(self) -> list[InFlight]:
        """Remove and return every outstanding request, oldest first."""
        outstanding = list(self._pending.values())
        self._pending.clear()
        self._fifo.clear()
        self._heap.clear()
        self._used = 0
        return outstanding

    def next_deadline(self) -> float | None:
        """The earliest deadline of an outstanding request."""
        pending = self._pending
        fifo = self._fifo
        while fifo and pending.get(fifo[0].sequence_number) is not fifo[0]:
            fifo.popleft()
        heap = self._heap
        while heap and pending.get(heap[0][1]) is not heap[0][2]:
            heappop(heap)
        if not heap:
            return fifo[0].deadline if fifo else None
        if not fifo:
            return heap[0][0]
        return min(fifo[0].deadline, heap[0][0])

    def _compact(self) -> None:
        # Every live request, in deadline order, is a valid FIFO on its own.
        self._fifo = deque(sorted(self._pending.values(), key=_deadline_order))
        self._heap = []


def _deadline_order(inflight: InFlight) -> tuple[float, int]:
    return (inflight.deadline, inflight.sequence_number)
