"""Framing: turn an arbitrarily chunked byte stream into PDUs.

Feed whatever the socket gave (one byte, or many PDUs at once) and take PDUs out
until :meth:`PduStream.next_pdu` returns None. The same PDUs come out whatever
the chunking.
"""

from __future__ import annotations

import struct

from .codec import DECODERS, HEADER, HEADER_SIZE, unknown_command_error
from .errors import PduError
from .pdus import Pdu
from .status import CommandStatus

DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024
# Three times cheaper than int.from_bytes on a slice, once per PDU.
_unpack_length = struct.Struct(">I").unpack_from
_unpack_header = HEADER.unpack_from
_decoders = DECODERS


class PduStream:
    """Incremental PDU decoder for one direction of one connection.

    :meth:`next_pdu` raises :class:`PduError` for a malformed PDU. When the error
    is not ``framing``, that PDU's bytes have been consumed and the next call goes
    on with the following PDU. A ``framing`` error (command_length out of bounds)
    means the stream cannot be resynchronised: every later call raises it again.
    """

    __slots__ = ("_broken", "_buffer", "_deferred", "_offset", "max_command_length")

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < HEADER_SIZE:
            raise ValueError(f"max_command_length must be at least {HEADER_SIZE}")
        self.max_command_length = max_command_length
        self._buffer = bytearray()
        self._offset = 0
        self._broken: PduError | None = None
        self._deferred: PduError | None = None

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        if self._offset and self._offset == len(self._buffer):
            # Everything consumed: start over instead of growing or shifting.
            self._buffer.clear()
            self._offset = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet decoded."""
        return len(self._buffer) - self._offset

    def next_pdu(self) -> Pdu | None:
        """The next complete PDU, or None until more bytes are fed."""
        if self._deferred is not None:
            deferred, self._deferred = self._deferred, None
            raise deferred
        if self._broken is not None:
            raise self._broken
        buffer = self._buffer
        offset = self._offset
        available = len(buffer) - offset
        if available < 4:
            return None
        (length,) = _unpack_length(buffer, offset)
        if not HEADER_SIZE <= length <= self.max_command_length:
            # Name the offending request when its header is here, so the generic_nack
            # can carry its sequence number.
            command_id = sequence = None
            if available >= HEADER_SIZE:
                _, command_id, _, sequence = HEADER.unpack_from(buffer, offset)
            self._broken = PduError(
                f"command_length outside {HEADER_SIZE}..{self.max_command_length}",
                status=CommandStatus.ESME_RINVCMDLEN,
                field="command_length",
                value=length,
                command_id=command_id,
                sequence_number=sequence,
                framing=True,
            )
            raise self._broken
        if available < length:
            return None
        data = bytes(buffer[offset : offset + length])
        offset += length
        if offset > 65536 and offset * 2 > len(buffer):
            # Drop the consumed prefix now and then, not per PDU, so the cost stays linear.
            del buffer[:offset]
            offset = 0
        self._offset = offset
        _, command_id, status, sequence = _unpack_header(data)
        decode = _decoders.get(command_id)
        if decode is None:
            raise unknown_command_error(command_id, sequence)
        try:
            return decode(data, HEADER_SIZE, length, sequence, status)
        except PduError as exc:
            exc.command_id = command_id
            exc.sequence_number = sequence
            raise

    def pdus(self) -> list[Pdu]:
        """Every complete PDU buffered now, up to the first bad one.

        The good PDUs before a bad one are returned first; the error is raised by
        the next call, so none of them is lost.
        """
        out: list[Pdu] = []
        while True:
            try:
                pdu = self.next_pdu()
            except PduError as exc:
                if not out:
                    raise
                self._deferred = exc
                return out
            if pdu is None:
                return out
            out.append(pdu)
