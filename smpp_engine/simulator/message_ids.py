"""Message ids the simulated SMSC hands out: numbers written in hex or decimal.

Internally an id is a number; the settings decide how it is written in
submit_sm_resp (and, through the receipt settings, in receipts, which may use
the other base, as many real SMSCs do). Monotonic ids continue across scenario
switches, so an id is never handed out twice by one simulator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Container
from typing import Literal

from .scenario import MessageIdSettings

_RANDOM_BITS = 63


def id_encoder(
    base: Literal["hex", "decimal"], width: int = 0, uppercase: bool = False
) -> Callable[[int], bytes]:
    """A function writing a number as the octets of an id (no NUL)."""
    if base == "decimal":
        if width:
            return lambda number: b"%0*d" % (width, number)
        return lambda number: b"%d" % number
    if uppercase:
        if width:
            return lambda number: b"%0*X" % (width, number)
        return lambda number: b"%X" % number
    if width:
        return lambda number: b"%0*x" % (width, number)
    return lambda number: b"%x" % number


class MessageIds:
    """Hands out ids and reads them back; ``taken`` says which numbers are in use."""

    __slots__ = ("_counter", "_rng", "_taken", "encode", "settings")

    def __init__(
        self, settings: MessageIdSettings, rng: random.Random, taken: Container[int]
    ) -> None:
        self._taken = taken
        self._counter = settings.start
        self.settings = settings
        self._rng = rng
        self.encode = id_encoder(settings.format, settings.width, settings.uppercase)

    def configure(self, settings: MessageIdSettings, rng: random.Random) -> None:
        """Apply new settings; a monotonic counter never goes back."""
        if settings.start > self._counter or settings.mode != self.settings.mode:
            self._counter = max(self._counter, settings.start)
        self.settings = settings
        self._rng = rng
        self.encode = id_encoder(settings.format, settings.width, settings.uppercase)

    def next(self) -> int:
        """The next id number."""
        if self.settings.mode == "monotonic":
            number = self._counter
            self._counter = number + 1
            return number
        taken = self._taken
        getrandbits = self._rng.getrandbits
        while True:
            number = getrandbits(_RANDOM_BITS)
            if number and number not in taken:
                return number

    def parse(self, text: str) -> int | None:
        """The number of an id as an ESME sends it back (query_sm...), None if it is none."""
        text = text.strip()
        if not text:
            return None
        try:
            return int(text, 16 if self.settings.format == "hex" else 10)
        except ValueError:
            return None
