"""Delivery receipts: which ones a message gets, when, with which state, and their PDUs.

At accept time each message draws its final state (by destination prefix, else
from the weighted mix) and the delay until it reaches it; ``registered_delivery``
then decides which receipts go out:

- bits 0-1: 0 none, 1 on the final outcome, 2 on failure only, 3 on success only
  (SMPP 5.0);
- bit 4: an intermediate notification (esm_class 0x20, state ENROUTE) first.

A receipt due later waits in the simulator's one scheduler heap (no task per
receipt); one due now goes out right after the response, or, with the
``before_resp`` probability, right before it. With the ``duplicate`` probability
it is sent twice. The receipt carries its state as text (``format_receipt_text``),
as TLVs (``receipt_tlvs``), or both.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from ..protocol import (
    DeliverSm,
    MessageState,
    NetworkErrorCode,
    PduError,
    Receipt,
    SmeAddress,
    SubmitMulti,
    Tag,
    Tlvs,
    TlvValue,
    decode_text,
    encode_pdu,
    format_receipt_text,
    receipt_tlvs,
)
from ..protocol.codec import HEADER_SIZE as _HEADER_SIZE
from ..protocol.tlv import encode_tlvs
from .behaviour import prefix_lookup
from .clock import SimClock
from .message_ids import id_encoder
from .randomness import WeightedChoice, chance, constant_value, sampler
from .records import MessageRecord, Request
from .routing import Outgoing, Receiver, Router
from .scenario import ReceiptSettings
from .scheduler import Scheduler
from .telemetry import Telemetry

#: Flags :meth:`ReceiptPlanner.plan` returns: what to send now, and whether before
#: the response.
INTERMEDIATE_NOW = 1
FINAL_NOW = 2
BEFORE_RESP = 4

_DELIVERED = MessageState.DELIVERED
_ENROUTE = MessageState.ENROUTE
_RECEIPT = 0x04
_INTERMEDIATE = 0x20
_UDHI = 0x40
_GSM_NETWORK = 3
_REQUESTED = 0x13  # registered_delivery bits this module acts on
_RECEIPTED_MESSAGE_ID = Tag.receipted_message_id.value
_USER_MESSAGE_REFERENCE = Tag.user_message_reference.value
#: Stands for the id in a cached receipt text; no id the simulator writes holds it.
_ID_MARK = "\x01"
_TEMPLATE_CACHE = 4096
_TLV_HEAD = struct.Struct(">HH")  # tag, length


class ReceiptPlanner:
    """Plans, schedules and builds receipts under the current receipt settings."""

    __slots__ = (
        "_around_ids",
        "_before",
        "_clock",
        "_date_unit",
        "_delay",
        "_duplicate",
        "_errors",
        "_id",
        "_intermediate_delay",
        "_router",
        "_scheduler",
        "_state_by_prefix",
        "_states",
        "_telemetry",
        "_templates",
        "_tlv_octets",
        "_tlv_templates",
        "constant_outcome",
        "enabled",
        "settings",
    )

    def __init__(
        self, router: Router, scheduler: Scheduler, clock: SimClock, telemetry: Telemetry
    ) -> None:
        self._router = router
        self._scheduler = scheduler
        self._clock = clock
        self._telemetry = telemetry
        self.configure(ReceiptSettings(), random.Random(0))

    def configure(self, settings: ReceiptSettings, rng: random.Random) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self._states = WeightedChoice(settings.states, rng)
        self._state_by_prefix = prefix_lookup(settings.prefixes)
        self._delay = sampler(settings.delay, rng)
        self._intermediate_delay = sampler(settings.intermediate_delay, rng)
        self._before = chance(settings.before_resp, rng)
        self._duplicate = chance(settings.duplicate, rng)
        self._errors = {
            state: settings.errors.get(state, 0 if state is _DELIVERED else 1)
            for state in MessageState
        }
        self._templates: dict[tuple[MessageState, int, int], tuple[bytes, bytes]] = {}
        # receipt_tlvs is the one source of the TLVs; the id is set per message.
        self._tlv_templates = {
            state: receipt_tlvs(self.receipt(state, _ID_MARK, 0.0, 0.0, None))
            for state in MessageState
        }
        self._date_unit = 1 if settings.date_digits == 12 else 60
        self._around_ids: dict[tuple[object, ...], list[bytes]] = {}
        self._tlv_octets = {state: _around_id(tlvs) for state, tlvs in self._tlv_templates.items()}
        # The receipt's id as octets: it goes into octets, and into a str only for build.
        self._id: Callable[[MessageRecord], bytes]
        if settings.id_format == "same":
            self._id = _same_id
        else:
            encode = id_encoder(settings.id_format)
            self._id = lambda record: encode(record.number)
        #: (state, delay) of every message when nothing varies; None otherwise.
        self.constant_outcome: tuple[MessageState, float] | None = None
        delay = constant_value(settings.delay)
        if (
            self._states.constant is not None
            and self._state_by_prefix is None
            and delay is not None
        ):
            self.constant_outcome = (self._states.constant, delay)
        self._router.max_pending["receipt"] = settings.max_pending
        self._router.max_attempts = settings.max_attempts
        self._router.retry_delay = sampler(settings.retry_delay, rng)

    def error_code(self, state: MessageState) -> int:
        """The ``err:`` code receipts (and query_sm_resp) give for ``state``."""
        return self._errors[state]

    # --- at accept time ------------------------------------------------------------

    def outcome(self, destination: str) -> tuple[MessageState, float]:
        """The final state a message to ``destination`` reaches, and after how long."""
        state = None
        if self._state_by_prefix is not None:
            state = self._state_by_prefix(destination)
        if state is None:
            state = self._states.pick()
        return state, self._delay()

    def plan(self, record: MessageRecord, registered_delivery: int, now: float) -> int:
        """Schedule what is due later; return the flags of what to send now."""
        if not registered_delivery & _REQUESTED or not self.enabled:
            return 0
        flags = 0
        # submit_multi destinations may end differently: decide per destination later.
        wants_final = registered_delivery & 0x03 != 0 and (
            record.destinations is not None or self._wants_final(record, record.final_state)
        )
        if wants_final and self._before is not None and self._before():
            record.done_at = now
            flags = BEFORE_RESP
        if registered_delivery & 0x10:
            due = min(now + self._intermediate_delay(), record.done_at)
            if due <= now:
                flags |= INTERMEDIATE_NOW
            else:
                self._scheduler.call_at(due, self._fire_intermediate, record)
        if wants_final:
            if record.done_at <= now:
                flags |= FINAL_NOW
            else:
                self._scheduler.call_at(record.done_at, self._fire_final, record)
        return flags

    def send_now(
        self, record: MessageRecord, flags: int, now: float, prefer: Receiver | None
    ) -> None:
        """Send the receipts ``flags`` says are due now (intermediate first)."""
        if flags & INTERMEDIATE_NOW:
            self._send(record, now, intermediate=True, prefer=prefer)
        if flags & FINAL_NOW:
            self._send(record, now, intermediate=False, prefer=prefer)

    # --- later ---------------------------------------------------------------------

    def _fire_intermediate(self, record: MessageRecord, now: float) -> None:
        if not record.cancelled:
            self._send(record, now, intermediate=True, prefer=None)

    def _fire_final(self, record: MessageRecord, now: float) -> None:
        if not record.cancelled:
            self._send(record, now, intermediate=False, prefer=None)

    # --- building ------------------------------------------------------------------

    def _wants_final(self, record: MessageRecord, state: MessageState) -> bool:
        mode = record.registered_delivery & 0x03
        if mode == 1:
            return True
        if mode == 2:
            return state is not _DELIVERED
        if mode == 3:
            return state is _DELIVERED
        return False

    def state_for(self, record: MessageRecord, destination: str) -> MessageState:
        """The final state of one destination (submit_multi destinations may differ)."""
        if record.destinations is not None and self._state_by_prefix is not None:
            state = self._state_by_prefix(destination)
            if state is not None:
                return state
        return record.final_state

    def _send(
        self, record: MessageRecord, now: float, *, intermediate: bool, prefer: Receiver | None
    ) -> None:
        for destination in record.all_destinations():
            state = _ENROUTE if intermediate else self.state_for(record, destination)
            if not intermediate and not self._wants_final(record, state):
                continue
            copies = 2 if self._duplicate is not None and self._duplicate() else 1
            for _ in range(copies):
                body = self.build_octets(record, destination, state, now, intermediate=intermediate)
                pdu = None
                if body is None:
                    pdu = self.build(record, destination, state, now, intermediate=intermediate)
                item = Outgoing(
                    pdu,
                    "receipt",
                    record.system_id,
                    record,
                    state,
                    not intermediate,
                    self._sent,
                    body,
                )
                self._router.route((item,), now, prefer)

    def _sent(self, item: Outgoing) -> None:
        record = item.record
        state = item.state
        assert record is not None and state is not None
        if item.final:
            record.receipt_state = state
        record.receipts_sent += 1
        self._telemetry.receipt(state)

    def build(
        self,
        record: MessageRecord,
        destination: str,
        state: MessageState,
        now: float,
        *,
        intermediate: bool = False,
    ) -> DeliverSm:
        """The deliver_sm carrying one receipt for ``record``'s ``destination``."""
        message_id = self._id(record)
        short_message = b""
        if self.settings.format != "tlv":
            head, tail = self._text_around_id(record, state, now)
            short_message = head + message_id + tail
        tlvs: Tlvs = {}
        if self.settings.format != "text":
            tlvs = dict(self._tlv_templates[state])
            tlvs[_RECEIPTED_MESSAGE_ID] = message_id.decode("ascii")
        pdu = record.pdu
        ton, npi = _address_of(pdu, destination)
        reference = _reference(pdu)
        if reference is not None:
            tlvs[_USER_MESSAGE_REFERENCE] = reference
        return DeliverSm(
            source_addr_ton=ton,
            source_addr_npi=npi,
            source_addr=destination,
            dest_addr_ton=pdu.source_addr_ton,
            dest_addr_npi=pdu.source_addr_npi,
            destination_addr=pdu.source_addr,
            esm_class=_INTERMEDIATE if intermediate else _RECEIPT,
            short_message=short_message,
            tlvs=tlvs,
        )

    def build_octets(
        self,
        record: MessageRecord,
        destination: str,
        state: MessageState,
        now: float,
        *,
        intermediate: bool = False,
    ) -> bytes | None:
        """:meth:`build`'s deliver_sm encoded, without its header; None when some
        field cannot be encoded (then build it, and the encoder names the field).

        Encoding a deliver_sm per receipt cost the simulator more than anything
        else it did for one. Receipts that differ only in their id (same state,
        dates to the unit written, addresses, message text, reference) have the
        same octets around it: those are made once, and each receipt joins them
        with its id.
        """
        id_octets = self._id(record)
        pdu = record.pdu
        ton, npi = _address_of(pdu, destination)
        unit = self._date_unit
        key = (
            state,
            int(record.wall_time // unit),
            int(self._clock.wall(now) // unit),
            len(id_octets),
            intermediate,
            ton,
            npi,
            destination,
            pdu.source_addr_ton,
            pdu.source_addr_npi,
            pdu.source_addr,
            record.short_message,
            pdu.data_coding,
            pdu.esm_class & _UDHI,
            _reference(pdu),
        )
        around = self._around_ids.get(key)
        if around is None:
            if len(self._around_ids) >= _TEMPLATE_CACHE:
                self._around_ids.clear()
            around = self._around_ids[key] = self._around_id_octets(
                record, destination, state, now, intermediate, len(id_octets), (ton, npi)
            )
        return id_octets.join(around) if around else None

    def _around_id_octets(  # noqa: PLR0917 - the parts of build_octets' key
        self,
        record: MessageRecord,
        destination: str,
        state: MessageState,
        now: float,
        intermediate: bool,
        id_length: int,
        address: tuple[int, int],
    ) -> list[bytes]:
        """The octets of a receipt's body between which its id goes; empty when it
        cannot be encoded."""
        settings = self.settings
        pdu = record.pdu
        addresses = _encoded_addresses(
            *address, destination, pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr
        )
        reference = _reference(pdu)
        reference_octets = b"" if reference is None else _encoded_reference(reference)
        head = tail = b""
        if settings.format != "tlv":
            head, tail = self._text_around_id(record, state, now)
        sm_length = len(head) + id_length + len(tail) if settings.format != "tlv" else 0
        if (
            addresses is None
            or reference_octets is None
            or sm_length > _MAX_SHORT_MESSAGE
            or id_length >= _MAX_RECEIPTED_ID
        ):
            return []
        around = [
            addresses
            + _AFTER_ADDRESSES[_INTERMEDIATE if intermediate else _RECEIPT]
            + _LENGTH_OCTET[sm_length]
        ]
        if settings.format != "tlv":  # the text: ... id:<id> ...
            around[-1] += head
            around.append(tail)
        if settings.format != "text":  # receipted_message_id: its header, <id>, NUL
            before, after = self._tlv_octets[state]
            around[-1] += before + _ID_HEADS[id_length]
            around.append(b"\x00" + after)
        around[-1] += reference_octets
        return around

    def _text_around_id(
        self, record: MessageRecord, state: MessageState, now: float
    ) -> tuple[bytes, bytes]:
        """The receipt text before and after the id (the preview included)."""
        head, tail = self._text_template(state, record.wall_time, self._clock.wall(now))
        if self.settings.include_text:
            tail += _preview(record)
        return head, tail

    def receipt(
        self, state: MessageState, message_id: str, submitted: float, done: float, text: str | None
    ) -> Receipt:
        """The :class:`Receipt` the simulator reports (wall-clock times in seconds)."""
        error = self._errors[state]
        return Receipt(
            message_id=message_id,
            state=state,
            error=f"{error:03d}",
            network_error=(
                NetworkErrorCode(_GSM_NETWORK, error) if error and state is not _DELIVERED else None
            ),
            submitted=1,
            delivered=1 if state is _DELIVERED else 0,
            submit_date=_utc(submitted),
            done_date=_utc(done),
            text=text,
        )

    def _text_template(
        self, state: MessageState, submitted: float, done: float
    ) -> tuple[bytes, bytes]:
        """The receipt text around the id, for a state and two dates.

        ``format_receipt_text`` is the one formatter; it runs once per state and
        pair of dates (to the minute, or second with 12 digits) with a marker for
        the id, and messages splice their id and text preview in. That is a
        seventh of its cost per receipt.
        """
        unit = self._date_unit
        key = (state, int(submitted // unit), int(done // unit))
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        if len(self._templates) >= _TEMPLATE_CACHE:
            self._templates.clear()
        text = "" if self.settings.include_text else None
        octets = format_receipt_text(
            self.receipt(state, _ID_MARK, submitted, done, text),
            date_digits=self.settings.date_digits,
        )
        head, tail = octets.split(_ID_MARK.encode("latin-1"))
        cached = self._templates[key] = (head, tail)
        return cached


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _same_id(record: MessageRecord) -> bytes:
    return record.message_id_octets


def _preview(record: MessageRecord) -> bytes:
    """The first 20 characters of the message, for the receipt's ``text:`` field."""
    pdu = record.pdu
    return _encoded_start(record.short_message, pdu.data_coding, pdu.esm_class & _UDHI)


# A load test sends the same few texts many times: each is decoded once.
@lru_cache(maxsize=1024)
def _encoded_start(data: bytes, data_coding: int, udhi: int) -> bytes:
    if udhi and data:
        data = data[1 + data[0] :]
    return decode_text(data[:40], data_coding)[:20].encode("latin-1", "replace")


# --- the receipt's octets ---------------------------------------------------------

_MAX_SHORT_MESSAGE = 255  # what sm_length can say
_MAX_RECEIPTED_ID = 65  # receipted_message_id's size, its NUL included
_LENGTH_OCTET = [bytes((n,)) for n in range(_MAX_SHORT_MESSAGE + 1)]
_ID_HEADS = [_TLV_HEAD.pack(_RECEIPTED_MESSAGE_ID, n + 1) for n in range(_MAX_RECEIPTED_ID)]
# esm_class, then protocol_id up to sm_default_msg_id at their defaults.
_AFTER_ADDRESSES = {
    esm_class: bytes((esm_class, 0, 0, 0, 0, 0, 0, 0, 0)) for esm_class in (_RECEIPT, _INTERMEDIATE)
}


@lru_cache(maxsize=1024)
def _encoded_addresses(  # noqa: PLR0917 - the fields in their wire order
    ton: int, npi: int, source: str, dest_ton: int, dest_npi: int, destination: str
) -> bytes | None:
    """service_type and the two addresses of a receipt; None when they cannot be sent."""
    try:
        whole = encode_pdu(
            DeliverSm(
                source_addr_ton=ton,
                source_addr_npi=npi,
                source_addr=source,
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                destination_addr=destination,
            )
        )
    except PduError:
        return None
    return whole[_HEADER_SIZE : -len(_AFTER_ADDRESSES[_RECEIPT]) - 1]


@lru_cache(maxsize=256)
def _encoded_reference(reference: TlvValue) -> bytes | None:
    try:
        return encode_tlvs({_USER_MESSAGE_REFERENCE: reference})
    except PduError:
        return None


def _around_id(tlvs: Tlvs) -> tuple[bytes, bytes]:
    """A state's encoded TLVs before and after the receipted_message_id TLV."""
    marked = encode_tlvs(tlvs)
    before, after = marked.split(_ID_HEADS[len(_ID_MARK)] + _ID_MARK.encode("ascii") + b"\x00")
    return before, after


def _address_of(pdu: Request, destination: str) -> tuple[int, int]:
    """The ton and npi the message gave ``destination`` (the receipt's source)."""
    if isinstance(pdu, SubmitMulti):
        return _multi_address(pdu, destination)
    return pdu.dest_addr_ton, pdu.dest_addr_npi


def _reference(pdu: Request) -> TlvValue | None:
    """The message's user_message_reference, which its receipts carry back."""
    return pdu.tlvs.get(_USER_MESSAGE_REFERENCE) if pdu.tlvs else None


def _multi_address(pdu: SubmitMulti, destination: str) -> tuple[int, int]:
    for address in pdu.dest_addresses:
        if isinstance(address, SmeAddress) and address.destination_addr == destination:
            return address.dest_addr_ton, address.dest_addr_npi
    return 1, 1
