"""Mobile-originated messages: text to deliver_sm PDUs (split in parts when long),
and the MO log QA reads back.

A long MO is split the way a handset would: UDH with an 8-bit or 16-bit
reference (esm_class 0x40), SAR TLVs, or one message_payload TLV. References
come from a per (source, destination) allocator seeded from the simulator's RNG.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ..protocol import (
    Concatenation,
    DeliverSm,
    PduError,
    ReferenceAllocator,
    plan_text,
    split_text,
)
from .scenario import MoMessageSpec

_UDHI = 0x40


class MoError(ValueError):
    """An MO that cannot be built or routed; ``field`` names the offending input."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


@dataclass(frozen=True, slots=True)
class MoResult:
    """What became of one injected MO."""

    parts: int
    #: The account it was routed to (None: any receiver).
    system_id: str | None
    #: Handed to a bound receiver now (False: held until one binds).
    sent: bool

    def to_dict(self) -> dict[str, Any]:
        return {"parts": self.parts, "system_id": self.system_id, "sent": self.sent}


@dataclass(slots=True)
class MoLogEntry:
    """One MO as injected, for QA and for measuring how fast the ESME replies.

    Times are the simulator's clock (``trio.current_time()``), like the records'
    ``submitted_at``: a reply's latency is its record's ``submitted_at - sent_at``.
    """

    source: str
    destination: str
    text: str
    system_id: str | None
    parts: int
    #: When it was injected.
    time: float
    #: When its last part was handed to a bound receiver (None: still held).
    sent_at: float | None = None
    parts_sent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "text": self.text,
            "system_id": self.system_id,
            "parts": self.parts,
            "time": self.time,
            "sent_at": self.sent_at,
        }


class MoBuilder:
    """Builds the deliver_sm parts of MO messages."""

    __slots__ = ("_references8", "_references16")

    def __init__(self, seed: int) -> None:
        self._references8 = ReferenceAllocator(8, seed=seed)
        self._references16 = ReferenceAllocator(16, seed=seed + 1)

    def build(self, spec: MoMessageSpec) -> list[DeliverSm]:
        """The deliver_sm PDUs carrying ``spec``; raises :class:`MoError`."""
        method = Concatenation(spec.concatenation)
        try:
            plan = plan_text(spec.text, method=method, data_coding=spec.data_coding)
            reference = None
            if plan.parts > 1:
                allocator = (
                    self._references8 if method is Concatenation.UDH8 else self._references16
                )
                reference = allocator.next(f"{spec.source}>{spec.destination}")
            segments = split_text(
                spec.text, method=method, reference=reference, data_coding=spec.data_coding
            )
        except PduError as exc:
            field = "data_coding" if exc.field == "data_coding" else "text"
            raise MoError(field, exc.value, exc.reason) from None
        return [
            DeliverSm(
                source_addr_ton=spec.source_ton,
                source_addr_npi=spec.source_npi,
                source_addr=spec.source,
                dest_addr_ton=spec.dest_ton,
                dest_addr_npi=spec.dest_npi,
                destination_addr=spec.destination,
                esm_class=_UDHI if segment.esm_class_udhi else 0,
                data_coding=segment.data_coding,
                short_message=segment.short_message,
                tlvs=dict(segment.tlvs),
            )
            for segment in segments
        ]


class MoLog:
    """The most recent injected MO, at most ``cap``."""

    __slots__ = ("_entries", "injected")

    def __init__(self, cap: int = 10_000) -> None:
        self._entries: deque[MoLogEntry] = deque(maxlen=cap)
        self.injected = 0

    def resize(self, cap: int) -> None:
        if cap != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=cap)

    def add(self, entry: MoLogEntry) -> None:
        self.injected += 1
        self._entries.append(entry)

    def entries(self) -> list[MoLogEntry]:
        return list(self._entries)
