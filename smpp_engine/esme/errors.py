"""Errors of the ESME client. An SMSC's answer to a submit is never one of these:
it is a :class:`~smpp_engine.esme.outcomes.SubmitOutcome`."""

from __future__ import annotations

from ..protocol import status_name

__all__ = [
    "BindRejectedError",
    "ConnectError",
    "EsmeError",
    "LinkLostError",
    "NotBoundError",
    "TlsError",
]


class EsmeError(Exception):
    """Base of the ESME client's errors; ``bind`` is the bind's configured name."""

    def __init__(self, bind: str, message: str) -> None:
        self.bind = bind
        super().__init__(f"{bind}: {message}")


class ConnectError(EsmeError):
    """No connection: refused, unreachable, timed out, or TLS failed."""

    def __init__(self, bind: str, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(bind, f"cannot connect to {address}: {reason}")


class TlsError(ConnectError):
    """The TCP connection worked; the TLS handshake did not (often: certificate not trusted)."""


class BindRejectedError(EsmeError):
    """The SMSC answered the bind with an error status (ESME_RINVPASWD, ESME_RINVSYSID...)."""

    def __init__(self, bind: str, system_id: str, status: int) -> None:
        self.system_id = system_id
        self.status = status
        self.status_name = status_name(status)
        super().__init__(
            bind, f"SMSC refused the bind of system_id {system_id!r}: {self.status_name}"
        )


class LinkLostError(EsmeError):
    """The connection ended before the bind was answered."""

    def __init__(self, bind: str, reason: str) -> None:
        self.reason = reason
        super().__init__(bind, f"link lost while binding: {reason}")


class NotBoundError(EsmeError):
    """A request was given to a bind that is not (or no longer) bound; nothing was sent."""
