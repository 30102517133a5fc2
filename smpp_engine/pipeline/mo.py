"""Mobile-originated messages as whole texts: decoded, long ones joined from their parts.

The consumer (the billing service) owns each :class:`MoMessage` and calls
:meth:`MoMessage.ack` once it has made what it needs durable; only then does the
SMSC hear ESME_ROK for the last part, so a crash before that makes the SMSC send
it again rather than lose it. Earlier parts of a long message are acknowledged as
they are held (an SMSC would give up on a part held for minutes); a crash loses
such a partial set, and the consumer's reply is what tells the consumer to resend.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from ..esme import Inbound
from ..protocol import (
    DEFAULT_PROFILE,
    ConcatenationError,
    DataSm,
    DeliverSm,
    Reassembled,
    Reassembler,
    Tag,
    TextProfile,
    concatenation_info,
    decode_text,
)

__all__ = ["MoAssembler", "MoMessage", "mo_message_id"]

_log = structlog.get_logger("smpp_engine.pipeline")


@dataclass(frozen=True, slots=True)
class MoMessage:
    """One whole MO message. ``mo_id`` is stable across SMSC redeliveries of it."""

    smsc: str
    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    received_at: float  # wall clock
    mo_id: str
    last: Inbound  # the part whose deliver_sm_resp waits for :meth:`ack`

    def ack(self, ok: bool = True) -> None:
        """Tell the SMSC it may forget the message (``ok``) or must deliver it again."""
        self.last.ack(ok)


def mo_message_id(smsc: str, source: str, destination: str, payload: bytes, day: str) -> str:
    """An id for an MO message that an SMSC redelivery reproduces.

    SMPP gives MO messages no id, so it is derived from what a redelivery
    repeats: the route, the numbers, the octets and the (UTC) day. The same
    text sent again on the same day counts as the same message, which for a
    meter reading is the truth.
    """
    digest = hashlib.blake2b(digest_size=12)
    for piece in (smsc, source, destination, day):
        digest.update(piece.encode())
        digest.update(b"\x00")
    digest.update(payload)
    return digest.hexdigest()


class MoAssembler:
    """Turns inbound MO PDUs into :class:`MoMessage` (see the module docstring).

    ``timeout`` seconds for a long message's parts to arrive; ``max_sets`` long
    messages in progress at once.
    """

    def __init__(
        self,
        smsc: str,
        *,
        profile: TextProfile = DEFAULT_PROFILE,
        timeout: float = 600.0,
        max_sets: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.smsc = smsc
        self.profile = profile
        self.clock = clock
        self._parts = Reassembler(timeout, max_sets)

    def add(self, item: Inbound) -> MoMessage | None:
        """The whole message when ``item`` is a single message or completes one, else None."""
        pdu = item.pdu
        payload = _user_data(pdu)
        now = self.clock()
        try:
            info = concatenation_info(pdu.esm_class, payload, pdu.tlvs)
        except ConcatenationError as exc:
            # A part we cannot place is still a message from a consumer: take it whole.
            _log.warning("unreadable concatenation data; taken as one message", error=str(exc))
            info = None
        if info is None:
            return self._message(pdu, payload, pdu.data_coding, 1, now, item)
        for incomplete in self._parts.expire(now):
            _log.warning(
                "long MO message abandoned",
                source=incomplete.source,
                missing=incomplete.missing,
                reason=incomplete.reason.value,
            )
        result = self._parts.add(
            pdu.source_addr,
            info.reference,
            info.total,
            info.seqnum,
            info.payload,
            data_coding=pdu.data_coding,
            now=now,
            destination=pdu.destination_addr,
        )
        if isinstance(result, Reassembled):
            return self._message(pdu, result.payload, result.data_coding, result.total, now, item)
        item.ack()  # held in memory, or a duplicate part: see the module docstring
        return None

    def _message(  # noqa: PLR0917 - private, two callers
        self,
        pdu: DeliverSm | DataSm,
        payload: bytes,
        data_coding: int,
        parts: int,
        now: float,
        item: Inbound,
    ) -> MoMessage:
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        return MoMessage(
            smsc=self.smsc,
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            text=decode_text(payload, data_coding, self.profile),
            data_coding=data_coding,
            parts=parts,
            received_at=now,
            mo_id=mo_message_id(self.smsc, pdu.source_addr, pdu.destination_addr, payload, day),
            last=item,
        )


def _user_data(pdu: DeliverSm | DataSm) -> bytes:
    short_message = pdu.short_message if isinstance(pdu, DeliverSm) else b""
    if short_message:
        return short_message
    payload = pdu.tlvs.get(Tag.message_payload)
    return payload if isinstance(payload, bytes) else b""
