"""What a rate limiter promises: :class:`Limiter`, met by TokenBucket and GCRA.

Units are SMS segments. A limiter never blocks and never reads a clock: it is told
``now`` and answers how long to wait. A caller that waits as told and asks again
gets its units (far from zero, where a float clock moves in steps, at worst one
step later), so the long-run rate is exact whatever the call pattern.
"""

from __future__ import annotations

import math
from typing import Protocol

# Shortfalls this small (in units) count as none: float rounding must not turn an
# exact wait into a second, microscopic one.
EPSILON = 1e-6


class Limiter(Protocol):
    @property
    def rate(self) -> float:
        """Units per second allowed from now on."""
        ...

    @property
    def burst(self) -> float:
        """Units that may go at once after an idle spell."""
        ...

    def wait(self, units: float = 1.0, *, now: float) -> float:
        """Seconds until ``units`` could be taken (0.0: now); takes nothing."""
        ...

    def take(self, units: float = 1.0, *, now: float) -> float:
        """Take ``units`` if allowed now (returns 0.0, they are counted), else the wait."""
        ...

    def set_rate(self, rate: float, *, now: float, burst: float | None = None) -> None:
        """Change the rate (and the burst, if given) from ``now`` on.

        Units already earned or owed are kept; a smaller burst caps what was earned.
        """
        ...


def resolvable(wait: float, now: float) -> float:
    """``wait`` stretched, if need be, to the clock's next representable value after ``now``.

    Far from zero a float clock moves in steps (about 1e-7 s at 1e9 s). A shorter
    wait would leave ``now + wait == now`` and the caller asking at the same
    instant for ever; one step earns at least what was missing.
    """
    if now + wait > now:
        return wait
    return math.nextafter(now, math.inf) - now
