"""The one error type the protocol core raises for bad PDUs, in either direction."""

from __future__ import annotations

from .status import CommandStatus, status_name


class PduError(ValueError):
    """A PDU that cannot be decoded or encoded.

    ``status`` is the command_status the peer should be answered with (for
    example ``ESME_RINVCMDLEN`` or ``ESME_RINVOPTPARSTREAM``); ``field`` names the
    field at fault by its spec name, ``value`` what was found there.

    ``framing`` is true when the byte stream itself can no longer be trusted (a
    command_length out of bounds): the session must answer generic_nack and close.
    Otherwise the PDU's bytes were consumed whole and the session goes on, with
    ``command_id`` and ``sequence_number`` telling which request to answer.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = CommandStatus.ESME_RSYSERR,
        field: str | None = None,
        value: object = None,
        command_id: int | None = None,
        sequence_number: int | None = None,
        framing: bool = False,
    ) -> None:
        self.reason = reason
        self.status = status
        self.field = field
        self.value = value
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.framing = framing
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [status_name(self.status)]
        if self.field is not None:
            parts.append(f"field {self.field}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        if self.command_id is not None:
            parts.append(f"command_id 0x{self.command_id:08X}")
        if self.sequence_number is not None:
            parts.append(f"sequence {self.sequence_number}")
        return f"{self.reason} ({', '.join(parts)})"
