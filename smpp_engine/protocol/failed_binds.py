"""Binds refused for their credentials, per source address: how long the next answer waits.

Guessing passwords costs time: the first refusal to an address is answered after
``base`` seconds, each further one within ``FORGET_AFTER`` seconds after twice as
long, up to ``cap``, and never before the answer to the previous refusal from that
address: guesses sent in parallel are answered one after another, so that more
connections buy no more guesses (most of them meet the bind timeout first). The
wait holds only the connection that asked; the others go on. A source quiet for
``FORGET_AFTER`` seconds starts again from ``base``. At most ``MAX_SOURCES``
addresses are remembered, so that a spray of sources cannot grow the table
without bound.
"""

from __future__ import annotations

__all__ = ["FORGET_AFTER", "MAX_SOURCES", "FailedBinds"]

FORGET_AFTER = 300.0
MAX_SOURCES = 10_000
_MAX_DOUBLINGS = 30


class FailedBinds:
    """Refusals per source address (host, without the port)."""

    __slots__ = ("_by_source", "refused")

    def __init__(self) -> None:
        #: source -> (refusals in a row, time of the last, time its answer goes);
        #: in order of the last refusal, oldest first.
        self._by_source: dict[str, tuple[int, float, float]] = {}
        #: Binds refused for their credentials, in all.
        self.refused = 0

    def __len__(self) -> int:
        return len(self._by_source)

    def record(self, source: str, now: float, base: float, cap: float) -> float:
        """Count a refusal to ``source`` at ``now``; returns the seconds its answer waits."""
        self.refused += 1
        table = self._by_source
        count, last, answered = table.pop(source, (0, now, now))
        if now - last > FORGET_AFTER:
            count, answered = 0, now
        count += 1
        delay = min(base * float(2 ** min(count - 1, _MAX_DOUBLINGS)), cap)
        answer_at = max(now, answered) + delay
        table[source] = (count, now, answer_at)  # last in order: the most recent
        if len(table) > MAX_SOURCES:
            self._forget(now)
        return answer_at - now

    def _forget(self, now: float) -> None:
        """Drop the quiet sources, then the oldest (the table is in order of last refusal)."""
        table = self._by_source
        while table:
            first = next(iter(table))
            if now - table[first][1] <= FORGET_AFTER and len(table) <= MAX_SOURCES:
                return
            del table[first]
