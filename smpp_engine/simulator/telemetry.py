"""The simulator's Prometheus metrics (``side="simulator"``), counted without per-PDU lookups.

Connections tally PDUs in a plain dict while they handle a batch of bytes and
:meth:`Telemetry.flush` adds the counts to cached children once per batch.
"""

from __future__ import annotations

from collections.abc import Callable

from metrics import (
    BIND_FAILURES,
    BIND_STATE,
    BINDS,
    MO_MESSAGES,
    PDUS,
    RECEIPTS,
    RECEIVED,
    SENT,
    SIMULATOR_SCENARIO,
    THROTTLE_EVENTS,
    child,
    counter_adder,
)

from ..protocol import CommandId, MessageState, status_name

SIDE = "simulator"
IN = RECEIVED
OUT = SENT
#: Distinct system_id labels at most: with open accounts any peer names its own,
#: and each label is a metric child kept for good. Further ones count as OTHER.
MAX_ACCOUNT_LABELS = 1000
OTHER = "(other)"
#: The label of a bind refused for naming no configured account.
UNKNOWN = "(unknown)"

#: (direction, command_id, command_status) -> count, for one batch.
Tally = dict[tuple[str, int, int], int]


def _command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"0x{command_id:08X}"


class Telemetry:
    """Cached metric children for the simulator."""

    __slots__ = (
        "_labels",
        "_pdu_adders",
        "_receipt_adders",
        "_receipts",
        "_scenario",
        "_throttle_adders",
        "mo",
    )

    def __init__(self) -> None:
        self._pdu_adders: dict[tuple[str, int, int], Callable[[float], None]] = {}
        self._throttle_adders: dict[tuple[str, int], Callable[[float], None]] = {}
        self._receipt_adders: dict[MessageState, Callable[[float], None]] = {}
        self._receipts: dict[MessageState, int] = {}
        self._scenario: str | None = None
        self._labels: set[str] = set()
        self.mo = counter_adder(MO_MESSAGES, SIDE)

    def account_label(self, system_id: str) -> str:
        """The ``system_id`` label for this account (OTHER past the first
        MAX_ACCOUNT_LABELS accounts)."""
        labels = self._labels
        if system_id in labels:
            return system_id
        if len(labels) >= MAX_ACCOUNT_LABELS:
            return OTHER
        labels.add(system_id)
        return system_id

    def flush(self, tally: Tally) -> None:
        """Add a batch's PDU counts and empty ``tally``."""
        adders = self._pdu_adders
        for key, n in tally.items():
            adder = adders.get(key)
            if adder is None:
                direction, command_id, status = key
                adder = adders[key] = counter_adder(
                    PDUS, SIDE, direction, _command_name(command_id), status_name(status)
                )
            adder(n)
        tally.clear()
        if self._receipts:
            self._flush_receipts()

    def _flush_receipts(self) -> None:
        for state, n in self._receipts.items():
            adder = self._receipt_adders.get(state)
            if adder is None:
                adder = self._receipt_adders[state] = counter_adder(RECEIPTS, SIDE, state.stat_word)
            adder(n)
        self._receipts.clear()

    def throttled(self, system_id: str, status: int, n: int = 1) -> None:
        key = (system_id, status)
        adder = self._throttle_adders.get(key)
        if adder is None:
            adder = self._throttle_adders[key] = counter_adder(
                THROTTLE_EVENTS, SIDE, system_id, status_name(status)
            )
        adder(n)

    def bind_failed(self, label: str, status: int) -> None:
        child(BIND_FAILURES, SIDE, label, status_name(status)).inc()

    def receipt(self, state: MessageState) -> None:
        """Count a receipt sent; added to the metric at the next :meth:`flush`."""
        receipts = self._receipts
        receipts[state] = receipts.get(state, 0) + 1

    def bind_state(self, system_id: str, old: str | None, new: str | None) -> None:
        """Move one bind of ``system_id`` from state ``old`` to ``new`` (None: absent)."""
        if old is not None:
            child(BIND_STATE, SIDE, system_id, old).dec()
        if new is not None:
            child(BIND_STATE, SIDE, system_id, new).inc()

    def binds(self, delta: int) -> None:
        child(BINDS, SIDE).inc(delta)

    def scenario(self, name: str) -> None:
        if self._scenario is not None and self._scenario != name:
            child(SIMULATOR_SCENARIO, self._scenario).set(0)
        child(SIMULATOR_SCENARIO, name).set(1)
        self._scenario = name

    def close(self) -> None:
        """The simulator stopped: it runs no scenario any more."""
        if self._scenario is not None:
            child(SIMULATOR_SCENARIO, self._scenario).set(0)
            self._scenario = None
