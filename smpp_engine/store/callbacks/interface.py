"""The callback outbox: the store interface both backends implement.

Events are written by the store itself, in the transaction of the change they
tell (see :mod:`.rules`). A gateway process claims due events under a lease,
posts them and settles each: delivered (deleted), failed (retried later, or
parked dead once retried long enough) or deferred (not tried now). A process
that dies leaves its leases to run out; the events are claimed again (at least
once). Of one message's events only the oldest pending one is ever claimable,
so they are posted in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .model import OutboxEvent, OutboxSettlement, OutboxStats, OutboxStatus
from .rules import OutboxRow

__all__ = ["CallbackStore"]


class CallbackStore(Protocol):
    async def add_callbacks(self, rows: Sequence[OutboxRow]) -> None:
        """Write events that tell no state change of the store's (an MO routed out)."""
        ...

    async def claim_callbacks(
        self, *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        """Up to ``limit`` due pending events nobody holds, each the oldest pending event
        of its message, leased to ``owner`` until ``now + lease``; oldest due first."""
        ...

    async def claim_callbacks_for(
        self, urls: Sequence[str], *, owner: str, now: float, lease: float, limit: int
    ) -> list[OutboxEvent]:
        """As :meth:`claim_callbacks`, for events whose URL is one of ``urls`` only
        (``smpp:SYSTEM_ID``: the binds this process holds). :meth:`claim_callbacks`
        never returns events of ``smpp:`` URLs: they go out over SMPP binds."""
        ...

    async def callbacks_delivered(self, event_ids: Sequence[int], *, owner: str) -> int:
        """As :meth:`callback_delivered` for many events; returns how many left."""
        ...

    async def callback_delivered(self, event_id: int, *, owner: str) -> bool:
        """The event was posted: it leaves the outbox. False if ``owner`` no longer holds it."""
        ...

    async def callback_failed(
        self, event_id: int, *, owner: str, status: OutboxStatus, next_at: float, error: str
    ) -> bool:
        """An attempt failed: one more attempt counted, the error kept, the lease let go;
        pending again at ``next_at``, or parked dead."""
        ...

    async def settle_callbacks(
        self, settlements: Sequence[OutboxSettlement], *, owner: str
    ) -> None:
        """Settle many claimed events in one transaction, each as the single calls would
        (:meth:`callback_delivered`, :meth:`callback_failed`, :meth:`defer_callback`);
        those ``owner`` no longer holds are left alone."""
        ...

    async def defer_callback(self, event_id: int, *, owner: str, until: float) -> bool:
        """Not tried: the lease let go and the event due again at ``until``."""
        ...

    async def list_callbacks(
        self, *, status: OutboxStatus, tenant: str | None = None, limit: int = 100
    ) -> list[OutboxEvent]:
        """Events in ``status`` (a tenant's only when given), oldest first."""
        ...

    async def replay_callbacks(
        self, *, now: float, tenant: str | None = None, event_id: int | None = None
    ) -> int:
        """Dead letters (a tenant's, or one) pending again from ``now`` with a fresh retry
        window; returns how many."""
        ...

    async def callback_stats(self) -> OutboxStats:
        """Events pending (and retrying), dead letters, and the oldest pending one's age."""
        ...
