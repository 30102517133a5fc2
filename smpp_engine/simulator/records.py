"""The record of every message the simulator accepted, for QA and tests to query.

Memory is bounded: beyond ``cap`` records the oldest is dropped and counted.
A record keeps the request PDU as decoded (no copy per message); the readable
form (text, ids, times) is built only when someone asks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..protocol import (
    DataSm,
    EsmClass,
    MessageState,
    SubmitMulti,
    SubmitSm,
    Tag,
    decode_text,
)

Request = SubmitSm | DataSm | SubmitMulti

_ENROUTE = MessageState.ENROUTE
_DELETED = MessageState.DELETED
_UDHI = EsmClass.UDHI


class MessageRecord:
    """One accepted message (one submit_sm, data_sm or submit_multi)."""

    __slots__ = (
        "bind",
        "cancelled",
        "destinations",
        "done_at",
        "final_state",
        "message_id_octets",
        "number",
        "pdu",
        "receipt_state",
        "receipts_sent",
        "replacement",
        "submitted_at",
        "system_id",
        "wall_time",
    )

    def __init__(  # noqa: PLR0917 - built positionally once per message on the hot path
        self,
        number: int,
        message_id_octets: bytes,
        system_id: str,
        bind: str,
        pdu: Request,
        submitted_at: float,
        wall_time: float,
        final_state: MessageState,
        done_at: float,
    ) -> None:
        self.number = number
        self.message_id_octets = message_id_octets
        self.system_id = system_id
        self.bind = bind
        self.pdu = pdu
        self.submitted_at = submitted_at
        self.wall_time = wall_time
        #: The outcome the message reaches at ``done_at`` (simulator clock).
        self.final_state = final_state
        self.done_at = done_at
        #: The state of the last receipt sent for it, None before any.
        self.receipt_state: MessageState | None = None
        self.receipts_sent = 0
        self.cancelled = False
        #: short_message after replace_sm.
        self.replacement: bytes | None = None
        #: Every destination of a submit_multi that was accepted.
        self.destinations: tuple[str, ...] | None = None

    @property
    def message_id(self) -> str:
        """The id exactly as sent in the response."""
        return self.message_id_octets.decode("ascii")

    @property
    def source(self) -> str:
        return self.pdu.source_addr

    @property
    def destination(self) -> str:
        if self.destinations is not None:
            return self.destinations[0] if self.destinations else ""
        pdu = self.pdu
        assert not isinstance(pdu, SubmitMulti)
        return pdu.destination_addr

    def all_destinations(self) -> tuple[str, ...]:
        if self.destinations is not None:
            return self.destinations
        return (self.destination,)

    @property
    def data_coding(self) -> int:
        return self.pdu.data_coding

    @property
    def esm_class(self) -> int:
        return self.pdu.esm_class

    @property
    def registered_delivery(self) -> int:
        return self.pdu.registered_delivery

    @property
    def short_message(self) -> bytes:
        """The user data: short_message (after replace_sm), else message_payload."""
        if self.replacement is not None:
            return self.replacement
        pdu = self.pdu
        data = b"" if isinstance(pdu, DataSm) else pdu.short_message
        if not data:
            payload = pdu.tlvs.get(Tag.message_payload)
            if isinstance(payload, bytes):
                return payload
        return data

    @property
    def text(self) -> str:
        """The user data decoded per data_coding, without a UDH."""
        data = self.short_message
        if self.esm_class & _UDHI and data:
            data = data[1 + data[0] :]
        return decode_text(data, self.data_coding)

    def state(self, now: float) -> MessageState:
        """The message's state at ``now`` (simulator clock)."""
        if self.cancelled:
            return _DELETED
        return self.final_state if now >= self.done_at else _ENROUTE

    def is_final(self, now: float) -> bool:
        return self.cancelled or now >= self.done_at

    def to_dict(self, now: float) -> dict[str, Any]:
        """A JSON-ready view."""
        pdu = self.pdu
        return {
            "message_id": self.message_id,
            "system_id": self.system_id,
            "bind": self.bind,
            "command": pdu.command_name,
            "source": self.source,
            "destination": self.destination,
            "destinations": list(self.all_destinations()),
            "data_coding": self.data_coding,
            "esm_class": self.esm_class,
            "registered_delivery": self.registered_delivery,
            "short_message": self.short_message.hex(),
            "text": self.text,
            "time": datetime.fromtimestamp(self.wall_time, UTC).isoformat(),
            # The simulator's clock, as an MO's sent_at: their difference is a round trip.
            "submitted_at": self.submitted_at,
            "state": self.state(now).stat_word,
            "receipt_state": None if self.receipt_state is None else self.receipt_state.stat_word,
            "receipts_sent": self.receipts_sent,
        }


class MessageStore:
    """Records by id number, oldest first, at most ``cap`` of them."""

    __slots__ = ("_by_number", "_order", "accepted", "cap", "dropped")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._order: deque[MessageRecord] = deque()
        self._by_number: dict[int, MessageRecord] = {}
        #: Every record ever added, and those dropped to stay within ``cap``.
        self.accepted = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, number: object) -> bool:
        return number in self._by_number

    def __iter__(self) -> Iterator[MessageRecord]:
        return iter(self._order)

    def add(self, record: MessageRecord) -> None:
        self.accepted += 1
        order = self._order
        if len(order) >= self.cap:
            if not self.cap:
                self.dropped += 1
                return
            old = order.popleft()
            del self._by_number[old.number]
            self.dropped += 1
        order.append(record)
        self._by_number[record.number] = record

    def get(self, number: int) -> MessageRecord | None:
        return self._by_number.get(number)

    def set_cap(self, cap: int) -> None:
        self.cap = cap
        order = self._order
        while len(order) > cap:
            old = order.popleft()
            del self._by_number[old.number]
            self.dropped += 1

    def clear(self) -> None:
        self._order.clear()
        self._by_number.clear()

    def query(
        self,
        *,
        destination: str | None = None,
        source: str | None = None,
        system_id: str | None = None,
        message_id: str | None = None,
        limit: int | None = None,
    ) -> list[MessageRecord]:
        """Records matching every filter given, oldest first; the newest ``limit``."""
        found: list[MessageRecord] = []
        for record in reversed(self._order):
            if destination is not None and destination not in record.all_destinations():
                continue
            if source is not None and record.source != source:
                continue
            if system_id is not None and record.system_id != system_id:
                continue
            if message_id is not None and record.message_id != message_id:
                continue
            found.append(record)
            if limit is not None and len(found) >= limit:
                break
        found.reverse()
        return found
