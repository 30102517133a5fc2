"""A caller that waits exactly as told, and the rate bound its grants must meet."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from throttling import Limiter

# Rounding in the limiter's arithmetic, in units (the limiters' own tolerance is 1e-6).
UNIT_SLACK = 2e-6

#: Asks until granted: the first, one after the wait it was told, and at most one
#: more when the clock rounded that wait down (far from zero a float clock steps).
MAX_ASKS = 3


def taking(limiter: Limiter, units: float) -> Callable[[float], float]:
    """Asks ``limiter`` for ``units`` at the given time."""
    return lambda now: limiter.take(units, now=now)


def wait_as_told(ask: Callable[[float], float], now: float) -> float:
    """Ask at ``now``, wait as told and ask again until granted; the time of the grant."""
    for _ in range(MAX_ASKS):
        wait = ask(now)
        if wait == 0.0:
            return now
        assert wait > 0.0, f"negative wait {wait!r}"
        assert now + wait > now, f"a wait of {wait!r} at {now!r} leaves the clock where it is"
        now += wait
    raise AssertionError(f"not granted after {MAX_ASKS} asks, waiting as told")


def assert_within_rate(grants: Sequence[tuple[float, float]], rate: float, burst: float) -> None:
    """Every window [t_i, t_j] of ``(time, units)`` grants holds at most ``rate * T + burst``.

    A grant larger than the burst goes into debt, so a window may overshoot by the
    excess of its last grant over the burst; the clock's rounding adds a few steps.
    """
    for j, (t_j, n_j) in enumerate(grants):
        allowed = burst + max(0.0, n_j - burst) + UNIT_SLACK + 4 * rate * math.ulp(t_j)
        total = 0.0
        for i in range(j, -1, -1):
            t_i, n_i = grants[i]
            total += n_i
            assert total <= rate * (t_j - t_i) + allowed, (
                f"{total} units in [{t_i!r}, {t_j!r}] at rate {rate!r}, burst {burst!r}"
            )
