"""Reassembly of incoming long messages from their parts.

Parts arrive in any order, some twice, some never. A set is keyed by (source,
destination, reference, total). The destination belongs in the key because
senders allocate references per destination (as
:mod:`~smpp_engine.protocol.references` does): one sender may use the same
reference towards two of our numbers at once. The total guards against a reused
reference of a different message.

Octets are joined first and decoded afterwards (by the caller, with
:func:`~smpp_engine.protocol.coding.decode_text`): a foreign sender may split an
escape pair or a surrogate pair across parts.

A set must complete within ``timeout`` seconds of its first part. The time is
passed in; nothing here reads a clock.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

from .errors import PduError
from .status import CommandStatus

_Key = tuple[str, str, int, int]


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A complete message: the parts' payloads joined in order."""

    source: str
    destination: str
    reference: int
    total: int
    payload: bytes
    data_coding: int  # that of part 1


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A part that was already received (ignored). ``same_payload`` false means
    two different parts share the key: a sender reusing references too soon."""

    source: str
    destination: str
    reference: int
    total: int
    seqnum: int
    same_payload: bool


class Abandoned(enum.Enum):
    """Why an incomplete set was given up."""

    TIMEOUT = "timeout"
    EVICTED = "evicted"  # more than max_sets sets were open


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A set given up before all its parts arrived."""

    source: str
    destination: str
    reference: int
    total: int
    received: dict[int, bytes]  # seqnum -> payload, for partial delivery or logs
    missing: tuple[int, ...]
    first_seen: float
    reason: Abandoned


class _Set:
    __slots__ = ("data_codings", "first_seen", "parts")

    def __init__(self, now: float) -> None:
        self.first_seen = now
        self.parts: dict[int, bytes] = {}
        self.data_codings: dict[int, int] = {}


class Reassembler:
    """Collects parts into messages, with bounded memory.

    At most ``max_sets`` incomplete sets are kept; opening one more abandons the
    oldest. Completed sets are remembered for ``timeout`` seconds (at most
    ``max_sets`` of them) so that a late copy of one of their parts is reported
    as a :class:`Duplicate` instead of opening a set that can never complete.
    Call :meth:`expire` periodically: evicted sets wait there (at most
    ``max_sets`` of them; older reports are dropped and counted in
    ``dropped_reports``).
    """

    def __init__(self, timeout: float, max_sets: int) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_sets < 1:
            raise ValueError("max_sets must be at least 1")
        self.timeout = timeout
        self.max_sets = max_sets
        self._open: OrderedDict[_Key, _Set] = OrderedDict()  # oldest first
        self._done: OrderedDict[_Key, tuple[float, dict[int, bytes]]] = OrderedDict()
        self._evicted: list[Incomplete] = []
        self.dropped_reports = 0

    def __len__(self) -> int:
        """The number of incomplete sets held."""
        return len(self._open)

    def add(
        self,
        source: str,
        reference: int,
        total: int,
        seqnum: int,
        payload: bytes,
        *,
        data_coding: int,
        now: float,
        destination: str = "",
    ) -> Reassembled | Duplicate | None:
        """Take one part: the message when it completes the set, a
        :class:`Duplicate` when already seen, else None.

        Raises :class:`PduError` (ESME_RINVOPTPARAMVAL) when ``total`` is not 1..255
        or ``seqnum`` is not 1..total. Sets abandoned to make room are returned by
        the next :meth:`expire`.
        """
        if not 1 <= total <= 255:
            raise PduError(
                "total number of parts must be 1..255",
                status=CommandStatus.ESME_RINVOPTPARAMVAL,
                field="sar_total_segments",
                value=total,
            )
        if not 1 <= seqnum <= total:
            raise PduError(
                f"part number must be 1..{total}",
                status=CommandStatus.ESME_RINVOPTPARAMVAL,
                field="sar_segment_seqnum",
                value=seqnum,
            )
        key = (source, destination, reference, total)
        pending = self._open.get(key)
        if pending is None:
            done = self._done.get(key)
            if done is not None and done[1].get(seqnum) == payload:
                return Duplicate(source, destination, reference, total, seqnum, True)
            pending = self._start(key, now)
        elif seqnum in pending.parts:
            same = pending.parts[seqnum] == payload
            return Duplicate(source, destination, reference, total, seqnum, same)
        pending.parts[seqnum] = payload
        pending.data_codings[seqnum] = data_coding
        if len(pending.parts) < total:
            return None
        del self._open[key]
        self._remember(key, now, pending.parts)
        parts = pending.parts
        return Reassembled(
            source,
            destination,
            reference,
            total,
            b"".join(parts[i] for i in range(1, total + 1)),
            pending.data_codings[1],
        )

    def expire(self, now: float) -> list[Incomplete]:
        """The sets abandoned since the last call: evicted ones, then those whose
        first part is ``timeout`` seconds old or more."""
        abandoned, self._evicted = self._evicted, []
        deadline = now - self.timeout
        while self._open:
            key, oldest = next(iter(self._open.items()))
            if oldest.first_seen > deadline:
                break
            del self._open[key]
            abandoned.append(_incomplete(key, oldest, Abandoned.TIMEOUT))
        while self._done:
            key, (completed_at, _) = next(iter(self._done.items()))
            if completed_at > deadline:
                break
            del self._done[key]
        return abandoned

    def _start(self, key: _Key, now: float) -> _Set:
        if len(self._open) >= self.max_sets:
            old_key, old = self._open.popitem(last=False)
            self._evicted.append(_incomplete(old_key, old, Abandoned.EVICTED))
            if len(self._evicted) > self.max_sets:
                del self._evicted[0]
                self.dropped_reports += 1
        pending = self._open[key] = _Set(now)
        return pending

    def _remember(self, key: _Key, now: float, parts: dict[int, bytes]) -> None:
        self._done.pop(key, None)
        self._done[key] = (now, parts)
        if len(self._done) > self.max_sets:
            self._done.popitem(last=False)


def _incomplete(key: _Key, pending: _Set, reason: Abandoned) -> Incomplete:
    source, destination, reference, total = key
    return Incomplete(
        source,
        destination,
        reference,
        total,
        dict(sorted(pending.parts.items())),
        tuple(i for i in range(1, total + 1) if i not in pending.parts),
        pending.first_seen,
        reason,
    )
