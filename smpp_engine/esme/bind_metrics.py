"""The Prometheus children one ESME bind updates, looked up once per bind.

Hot counts (submit_sm sent, submit_sm_resp ESME_ROK received, outcomes) are
added per batch by the bind; everything here is cheap to call per event.
``direction`` of smpp_pdus is ``sent`` or ``received``; receipts are counted by
their stat word (``DELIVRD``, ``UNDELIV``...).
"""

from __future__ import annotations

from collections.abc import Callable

from metrics.catalogue import (
    BIND_FAILURES,
    BIND_STATE,
    BINDS,
    IN_FLIGHT,
    MO_MESSAGES,
    PDUS,
    RECEIPTS,
    RECEIVED,
    RECONNECTS,
    SENT,
    SUBMIT_LATENCY,
    SUBMIT_OUTCOMES,
    THROTTLE_EVENTS,
    WINDOW_SIZE,
    child,
    counter_adder,
    histogram_batch_observer,
)

from ..protocol import CommandId, status_name

__all__ = ["BIND_STATES", "BindMetrics"]

SIDE = "esme"
#: The values of smpp_bind_state's ``state`` label.
BIND_STATES = ("OPEN", "BOUND_TX", "BOUND_RX", "BOUND_TRX", "UNBOUND", "CLOSED")


def _command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"0x{command_id:08X}"


class BindMetrics:
    """Metric children for one bind, by its configured name."""

    def __init__(self, bind: str) -> None:
        self.bind = bind
        self.submits_sent = counter_adder(PDUS, SIDE, SENT, "submit_sm", "ESME_ROK")
        self.submit_resps_ok = counter_adder(PDUS, SIDE, RECEIVED, "submit_sm_resp", "ESME_ROK")
        self.deliver_resps_ok = counter_adder(PDUS, SIDE, SENT, "deliver_sm_resp", "ESME_ROK")
        self.accepted = counter_adder(SUBMIT_OUTCOMES, SIDE, "accepted")
        self.rejected = counter_adder(SUBMIT_OUTCOMES, SIDE, "rejected")
        self.unknown = counter_adder(SUBMIT_OUTCOMES, SIDE, "unknown")
        self.latencies = histogram_batch_observer(SUBMIT_LATENCY, SIDE)
        self.in_flight = child(IN_FLIGHT, SIDE, bind).set
        self.window_size = child(WINDOW_SIZE, SIDE, bind).set
        self.mo = counter_adder(MO_MESSAGES, SIDE)
        self._binds = child(BINDS, SIDE)
        self._states = {state: child(BIND_STATE, SIDE, bind, state) for state in BIND_STATES}
        self._pdus: dict[tuple[str, int, int], Callable[[float], None]] = {}
        self._receipts: dict[str, Callable[[float], None]] = {}
        self._state: str | None = None
        self._bound = False

    def pdu(self, direction: str, command_id: int, status: int, count: int = 1) -> None:
        key = (direction, command_id, status)
        adder = self._pdus.get(key)
        if adder is None:
            adder = counter_adder(
                PDUS, SIDE, direction, _command_name(command_id), status_name(status)
            )
            self._pdus[key] = adder
        adder(count)

    def receipt(self, stat_word: str, count: int = 1) -> None:
        adder = self._receipts.get(stat_word)
        if adder is None:
            adder = counter_adder(RECEIPTS, SIDE, stat_word)
            self._receipts[stat_word] = adder
        adder(count)

    def state(self, state: str) -> None:
        """This bind is now in ``state`` (one of :data:`BIND_STATES`)."""
        if self._state is not None:
            self._states[self._state].set(0)
        self._states[state].set(1)
        self._state = state
        bound = state.startswith("BOUND")
        if bound != self._bound:
            self._bound = bound
            if bound:
                self._binds.inc()
            else:
                self._binds.dec()

    def bind_failure(self, status: int) -> None:
        child(BIND_FAILURES, SIDE, self.bind, status_name(status)).inc()

    def throttled(self, status: int) -> None:
        child(THROTTLE_EVENTS, SIDE, self.bind, status_name(status)).inc()

    def reconnect(self, reason: str) -> None:
        child(RECONNECTS, self.bind, reason).inc()
