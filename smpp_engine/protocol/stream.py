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
# A remainder shorter than this is copied in front of the next piece; a longer one
# (a long PDU still arriving) is grown in place.
_COPY_LIMIT = 4096
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
        # bytes while whole PDUs arrive: a PDU is then one slice of what was received.
        # A bytearray while a long PDU arrives in many pieces (see feed).
        self._buffer: bytes | bytearray = b""
        self._offset = 0
        self._broken: PduError | None = None
        self._deferred: PduError | None = None

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        buffer = self._buffer
        offset = self._offset
        self._offset = 0
        if offset == len(buffer):
            # Everything consumed: start over from what came (not even a copy).
            self._buffer = bytes(data)
        elif len(buffer) - offset < _COPY_LIMIT and buffer.__class__ is bytes:
            # The start of a PDU is left over: copying it once is the cheapest.
            self._buffer = buffer[offset:] + data
        else:
            # A long PDU arriving in pieces: grow in place, so that the cost stays
            # linear however small the pieces.
            if buffer.__class__ is bytes:
                buffer = bytearray(memoryview(buffer)[offset:])
            elif offset:
                del buffer[:offset]  # type: ignore[union-attr]
            buffer += data
            self._buffer = buffer

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
        data = buffer[offset : offset + length]
        if data.__class__ is not bytes:
            data = bytes(data)
        self._offset = offset + length
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
