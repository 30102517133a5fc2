"""What the store keeps of one process's share of an SMSC account's rate."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RateShare"]


@dataclass(frozen=True, slots=True)
class RateShare:
    """Holder ``holder`` (a gateway process) sends for route ``route`` until ``until``
    (wall time) unless it renews.

    ``level`` is its adaptive controller's rate as a fraction of its ceiling, and
    ``cut_at`` (wall time) when that controller last cut the rate on the SMSC's
    push-back (None: never), so that the other holders follow the cut.
    """

    route: str
    holder: str
    until: float
    level: float = 1.0
    cut_at: float | None = None
