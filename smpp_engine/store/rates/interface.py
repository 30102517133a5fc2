"""Rate shares: the store interface both backends implement.

Each gateway process sending for an SMSC account holds a row for it, renewed
every second or so. The rows that have not run out are the account's live
holders; a process that dies stops renewing, and its row runs out.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .model import RateShare

__all__ = ["RateShareStore"]


@runtime_checkable
class RateShareStore(Protocol):
    """The live holders of each SMSC account's rate (checkable with isinstance())."""

    async def renew_rate_share(self, share: RateShare, *, now: float) -> list[RateShare]:
        """Write ``share`` (its holder's row for its route, created or replaced), delete
        the route's rows that ran out at or before ``now``, and return every row of
        the route that holds after ``now``, ``share`` included, by holder."""
        ...

    async def drop_rate_share(self, route: str, holder: str) -> None:
        """Delete ``holder``'s row of ``route`` (if any): its share goes back to the others."""
        ...
