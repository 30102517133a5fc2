"""Concatenation reference numbers, one counter per destination.

A handset reassembles parts by (sender, reference), so a reference must not
repeat among the recent long messages to the same destination. A counter per
destination that steps by one gives the longest possible window: 255 messages
for 8-bit references and 65535 for 16-bit ones before a value comes back.

Memory is bounded by forgetting the least recently used destinations. A
forgotten destination starts again from a fresh value, so the guarantee holds
while a destination is remembered: size ``max_destinations`` to the number of
destinations that receive long messages within a handset's reassembly timeout
(minutes), after which an old reference can no longer collide with a set still
being reassembled.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Literal


class ReferenceAllocator:
    """Hands out concatenation references per destination.

    ``bits`` is 8 (UDH IE 0x00) or 16 (UDH IE 0x08, SAR). A destination's first
    reference is ``start`` when given, else drawn from a PRNG seeded with
    ``seed``: a process that restarts with a new seed does not begin every
    destination at the value it used before the restart. Deterministic for a
    given ``start`` or ``seed``; no clock, no I/O.
    """

    def __init__(
        self,
        bits: Literal[8, 16] = 16,
        *,
        max_destinations: int = 100_000,
        start: int | None = None,
        seed: int = 0,
    ) -> None:
        if bits not in (8, 16):
            raise ValueError(f"bits must be 8 or 16, not {bits}")
        if max_destinations < 1:
            raise ValueError("max_destinations must be at least 1")
        self.bits = bits
        self.modulus = 1 << bits
        if start is not None and not 0 <= start < self.modulus:
            raise ValueError(f"start {start} does not fit {bits} bits")
        self.max_destinations = max_destinations
        self._start = start
        self._random = random.Random(seed)
        # destination -> the reference its next message gets; least recent first.
        self._next: OrderedDict[str, int] = OrderedDict()

    @property
    def window(self) -> int:
        """How many consecutive messages to one destination get distinct references."""
        return self.modulus

    def next(self, destination: str) -> int:
        """The reference for the next long message to ``destination``."""
        upcoming = self._next
        reference = upcoming.get(destination)
        if reference is None:
            reference = self._first()
            if len(upcoming) >= self.max_destinations:
                upcoming.popitem(last=False)
        else:
            upcoming.move_to_end(destination)
        upcoming[destination] = (reference + 1) % self.modulus
        return reference

    def __len__(self) -> int:
        """The number of destinations remembered."""
        return len(self._next)

    def _first(self) -> int:
        if self._start is not None:
            return self._start
        return self._random.randrange(self.modulus)
