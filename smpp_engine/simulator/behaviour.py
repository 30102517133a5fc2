"""A scenario compiled for the hot path: plain callables and constants, built once
per scenario switch, so answering a PDU makes no draw that the scenario does not ask for.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TypeVar

from .randomness import WeightedChoice, constant_value, sampler
from .scenario import Scenario

V = TypeVar("V")


def prefix_lookup(table: Mapping[str, V]) -> Callable[[str], V | None] | None:
    """``lookup(address)``: the value of the longest prefix of ``address`` in ``table``."""
    if not table:
        return None
    lengths = sorted({len(prefix) for prefix in table}, reverse=True)
    get = dict(table).get

    def lookup(address: str) -> V | None:
        size = len(address)
        for n in lengths:
            if n <= size:
                value = get(address[:n])
                if value is not None:
                    return value
        return None

    return lookup


class Behaviour:
    """How submits are answered under one scenario."""

    __slots__ = (
        "latency",
        "refuse_binds",
        "refuse_status",
        "scenario",
        "stall",
        "status",
        "status_by_prefix",
        "throttle_burst",
        "throttle_status",
        "throttle_tps",
    )

    def __init__(self, scenario: Scenario, rng: random.Random) -> None:
        self.scenario = scenario
        submit = scenario.submit
        #: Seconds before a response goes out; None: at once.
        self.latency: Callable[[], float] | None = None
        if constant_value(submit.latency) != 0.0:
            self.latency = sampler(submit.latency, rng)
        #: The command_status of a submit from the mix; None: always ESME_ROK.
        self.status: Callable[[], int] | None = None
        if submit.statuses:
            choice = WeightedChoice(submit.statuses, rng)
            if choice.constant != 0:
                self.status = choice.pick
        self.status_by_prefix = prefix_lookup(submit.prefixes)
        throttle = scenario.throttle
        self.throttle_tps = throttle.tps
        self.throttle_burst = throttle.burst
        self.throttle_status = throttle.status
        faults = scenario.faults
        self.stall = faults.stall
        self.refuse_binds = faults.refuse_binds
        self.refuse_status = faults.refuse_status
