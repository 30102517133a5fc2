"""The server face's counts, on the catalogue's SMPP metrics with ``side="server"``.

The ``bind`` label is the credential's system_id (bounded by the settings), or
``unknown`` for a bind naming none.
"""

from __future__ import annotations

from metrics import BIND_FAILURES, BINDS, RECEIPTS, SUBMIT_OUTCOMES, THROTTLE_EVENTS, child

from ..protocol import status_name

__all__ = ["SIDE", "Telemetry"]

SIDE = "server"
UNKNOWN = "unknown"


class Telemetry:
    """Counts of binds, refusals, submits and receipts of the server face."""

    def __init__(self, system_ids: frozenset[str]) -> None:
        self.system_ids = system_ids
        self.binds = child(BINDS, SIDE)
        self.accepted = child(SUBMIT_OUTCOMES, SIDE, "accepted")
        self.rejected = child(SUBMIT_OUTCOMES, SIDE, "rejected")

    def bind_refused(self, system_id: str, status: int) -> None:
        label = system_id if system_id in self.system_ids else UNKNOWN
        child(BIND_FAILURES, SIDE, label, status_name(status)).inc()

    def limited(self, system_id: str, status: int) -> None:
        """A submit refused for a rate or a quota (ESME_RTHROTTLED, ESME_RMSGQFUL)."""
        child(THROTTLE_EVENTS, SIDE, system_id, status_name(status)).inc()

    def receipt_sent(self, state: str) -> None:
        """A receipt the client answered ESME_ROK, by the store's state name."""
        child(RECEIPTS, SIDE, state).inc()
