"""The one catalogue of Prometheus metrics; see :mod:`metrics.catalogue`."""

from .catalogue import (
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
    SIMULATOR_SCENARIO,
    SUBMIT_LATENCY,
    SUBMIT_OUTCOMES,
    THROTTLE_EVENTS,
    child,
    counter_adder,
)

__all__ = [
    "BINDS",
    "BIND_FAILURES",
    "BIND_STATE",
    "IN_FLIGHT",
    "MO_MESSAGES",
    "PDUS",
    "RECEIPTS",
    "RECEIVED",
    "RECONNECTS",
    "SENT",
    "SIMULATOR_SCENARIO",
    "SUBMIT_LATENCY",
    "SUBMIT_OUTCOMES",
    "THROTTLE_EVENTS",
    "child",
    "counter_adder",
]
