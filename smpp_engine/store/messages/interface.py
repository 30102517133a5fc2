"""The one store interface: SQLite and PostgreSQL implement it and pass one contract suite.

Every method is a trio coroutine; implementations do their I/O off the trio
thread (SQLite: one worker thread; PostgreSQL: asyncpg on a uvloop loop in one
background thread, reached through the bridge). A method that cannot reach its
database raises :class:`StoreUnavailableError`; nothing is half-written (each
call is one transaction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .model import (
    Accepted,
    ClaimedMessage,
    MessageState,
    MessageView,
    NewMessage,
    RecoveryReport,
    Update,
)

__all__ = ["Store"]


class Store(Protocol):
    """Durable messages for the delivery pipeline."""

    name: str  # "sqlite" or "postgresql", for logs and metrics

    async def accept(self, messages: Sequence[NewMessage], *, now: float) -> list[Accepted]:
        """Store ``messages`` as QUEUED, in one transaction; return their ids in order.

        Returns only once the messages are durable (committed). A message whose
        idempotency_key is already stored is not stored again: its entry is the
        existing id with ``duplicate=True``. Each message gets an "accepted" event.
        """
        ...

    async def claim(
        self,
        smsc: str,
        limit: int,
        *,
        owner: str,
        now: float,
        lease: float,
        early: float = 0.0,
    ) -> list[ClaimedMessage]:
        """Take up to ``limit`` QUEUED messages of ``smsc`` whose not_before <= now.

        ``early`` > 0 (a route scheduling delivery at the SMSC): also those whose
        client send time (``send_at``, never a retry's or a campaign's not_before)
        is at most ``now + early``.

        Order: priority (higher first), then not_before, then id. Each becomes
        SUBMITTING under a lease held by ``owner`` until ``now + lease``; its
        attempts count goes up. Messages whose expires_at has passed are not
        claimed: they become EXPIRED (with an event) in the same transaction.
        Safe with several processes at once: no message is claimed twice while
        its lease runs (PostgreSQL: FOR UPDATE SKIP LOCKED).
        """
        ...

    async def record(self, updates: Sequence[Update]) -> None:
        """Apply a batch of updates in one transaction, in order; add their events.

        - PartSubmitted: the part gets its SMSC id, bind and times; when every part
          is submitted the message becomes SUBMITTED and its lease is released.
          Receipts held for that SMSC id (they came first) are applied now.
        - SubmitFailed: retry_at set: back to QUEUED with not_before = retry_at;
          else the message becomes REJECTED (EXPIRED if ``expired``), error_code set.
        - SubmitUnknown: retry_at set: back to QUEUED, possible_duplicate; else UNKNOWN.
        - "Back to QUEUED" is HELD for a message of a paused or draft campaign (or
          one already HELD), CANCELLED for one of a cancelled campaign.
        - SubmitFailed with a ``reason``: the reason is kept in the event.
        - Rerouted: a message still open (QUEUED, HELD, SUBMITTING) on ``from_smsc``
          moves to ``to_smsc``; a SUBMITTING one goes back to its queue there from
          ``at``. Its parts keep the route they were submitted on (receipts find
          them). Otherwise nothing moves and a "reroute_skipped" event says why.
        - PartSubmitted names the route it was submitted on (``smsc``; "" for the
          message's): the part takes it.
        - Dispatching: each of its messages still SUBMITTING is marked dispatched
          (see :meth:`recover`); others are left alone.
        - PartSubmitted, SubmitFailed and SubmitUnknown end a message's run of
          unclean stops (its count goes back to 0).
        - ReceiptArrived: the part with that (smsc, smsc_message_id) takes the
          receipt's state; when every part has a final state the message takes
          its final state: DELIVERED if all parts were delivered, else the state
          of the first part that was not. An unknown SMSC id is held (durably)
          until its PartSubmitted is recorded. A second receipt for a part that
          already has one changes nothing but adds an event (duplicates happen).
        Updates naming a message id the store does not have are ignored and
        counted in the return value of :meth:`stats` ("orphan_updates").
        """
        ...

    async def recover(self, *, now: float, quarantine_after: int = 3) -> RecoveryReport:
        """Requeue SUBMITTING messages whose lease ran out (their process died).

        Each goes back to QUEUED (HELD if its campaign is paused or a draft,
        CANCELLED if it was cancelled) with an event; the parts already submitted
        are kept (they will not be sent again). One marked dispatched may have
        reached the SMSC: it is flagged possible_duplicate and its count of
        unclean stops goes up; when that count reaches ``quarantine_after`` it
        becomes QUARANTINED (final) instead. One never dispatched is requeued
        unflagged, its claim's attempt taken back, as :meth:`release` does.
        """
        ...

    async def renew(self, smsc: str, *, owner: str, until: float) -> int:
        """Extend to ``until`` the lease of every SUBMITTING message of ``smsc`` held by ``owner``.

        A gateway renews what it holds well before the lease runs out, so a live
        process's claims are never recovered by another (or by its own
        housekeeping). Returns how many leases were renewed.
        """
        ...

    async def release(self, message_ids: Sequence[int], *, owner: str, now: float) -> int:
        """Give back claims ``owner`` took and did not try (a gateway shutting down).

        Each SUBMITTING message among ``message_ids`` leased by ``owner`` goes back
        to QUEUED (HELD / CANCELLED as its campaign says) with its lease cleared
        and the claim's attempt taken back, not flagged possible_duplicate (it was
        never sent), with a ``released`` event. Returns how many were released.
        """
        ...

    async def fail_over(
        self, smsc: str, *, now: float, reason: str, limit: int = 1000
    ) -> Mapping[str, int]:
        """Move up to ``limit`` QUEUED messages of route ``smsc`` to the next route of their plan.

        Only messages whose route plan names a route after ``smsc`` move (a plan of
        one route, or none, never does); each keeps its id, parts, not_before and
        place in the queue, gets a "rerouted" event naming both routes and
        ``reason``, and counts move with it. Safe with several processes at once
        (PostgreSQL: FOR UPDATE SKIP LOCKED). Returns how many went to each route.
        """
        ...

    async def expire_receipts(
        self,
        *,
        older_than: float,
        now: float,
        smsc: str | None = None,
        presume_delivered: bool = False,
    ) -> int:
        """SUBMITTED messages last updated before ``older_than`` with no final receipt: UNKNOWN,
        or PRESUMED_DELIVERED with ``presume_delivered`` (a route asking failure
        receipts only).

        Only ``smsc``'s messages when given (each route has its own receipt
        timeout). Returns how many were changed.
        """
        ...

    async def purge_held_receipts(self, *, older_than: float) -> int:
        """Forget held receipts that arrived before ``older_than``; returns how many.

        A receipt is held until its part's SMSC id is recorded; one whose submit
        answer never names that id (a resubmission got a new id, an SMSC quirk)
        would otherwise be held for ever.
        """
        ...

    async def cancel(self, message_ids: Sequence[int], *, now: float) -> int:
        """QUEUED and HELD messages among ``message_ids`` become CANCELLED; returns how many."""
        ...

    async def get(self, message_id: int) -> MessageView | None:
        """The message with its parts and its event history, or None."""
        ...

    async def find_by_idempotency_key(self, key: str) -> int | None: ...

    async def count_by_state(
        self, *, smsc: str | None = None, tenant: str | None = None
    ) -> Mapping[MessageState, int]:
        """How many messages are in each state (states with none may be left out); only
        ``tenant``'s when given (counted from its messages, not the running counts)."""
        ...

    async def name_receipts(self, receipt_id: int, message_ids: Sequence[int]) -> None:
        """The receipts of ``message_ids`` name ``receipt_id`` (the id their client was
        given: a submit_multi's one id) instead of their own."""
        ...

    async def receipt_ids(self, message_ids: Sequence[int]) -> Mapping[int, int]:
        """The id each of ``message_ids`` is named by in receipts, for those named by
        another's (see :meth:`name_receipts`); the others are left out."""
        ...

    async def stats(self) -> Mapping[str, int]:
        """Store counters for metrics: "held_receipts", "orphan_updates", ..."""
        ...

    async def aclose(self) -> None:
        """Finish pending work and release the database. Idempotent."""
        ...
