"""Faults QA can trigger on demand, and the malformed PDUs the simulator can send."""

from __future__ import annotations

import enum
import struct

from ..protocol import CommandId


class FaultKind(enum.StrEnum):
    #: Close the TCP connection at once (``variant="reset"``: with an RST).
    DROP = "drop"
    #: Stop reading and answering (binds, enquire_link, everything) for ``duration``
    #: seconds, or until cleared; what arrived meanwhile is answered afterwards.
    STALL = "stall"
    #: Send unbind, then close once it is answered.
    UNBIND = "unbind"
    #: Answer binds with ESME_RBINDFAIL for ``duration`` seconds, or until cleared.
    REFUSE_BINDS = "refuse_binds"
    #: Send one PDU the peer cannot decode (see :class:`Malformed`).
    MALFORMED = "malformed"
    #: End stalls and refused binds started on demand.
    CLEAR = "clear"


class FaultError(ValueError):
    """A fault request that cannot be carried out; ``field`` names the bad input."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


class Malformed(enum.StrEnum):
    """Which broken PDU :data:`FaultKind.MALFORMED` sends."""

    #: A deliver_sm whose sm_length runs past the PDU: answered ESME_RINVMSGLEN.
    TRUNCATED = "truncated"
    #: An unknown command_id: answered generic_nack ESME_RINVCMDID.
    UNKNOWN_COMMAND = "unknown_command"
    #: A command_length below 16: the stream cannot be framed any more.
    BAD_LENGTH = "bad_length"


#: The sequence number of malformed requests: far from what the session hands out.
MALFORMED_SEQUENCE = 0x7FFFFF00

_HEADER = struct.Struct(">IIII")


def malformed_pdu(variant: Malformed) -> bytes:
    """The octets of one broken PDU."""
    if variant is Malformed.BAD_LENGTH:
        return _HEADER.pack(8, CommandId.deliver_sm, 0, MALFORMED_SEQUENCE)
    if variant is Malformed.UNKNOWN_COMMAND:
        return _HEADER.pack(16, 0x00000777, 0, MALFORMED_SEQUENCE)
    # service_type "", source 1/1 "1", dest 1/1 "2", esm_class .. data_coding,
    # sm_default_msg_id, then sm_length 200 with 3 octets of short_message.
    body = b"\x00\x01\x011\x00\x01\x012\x00" + bytes(3) + b"\x00\x00" + bytes(4) + b"\xc8abc"
    return _HEADER.pack(16 + len(body), CommandId.deliver_sm, 0, MALFORMED_SEQUENCE) + body
