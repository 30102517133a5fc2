"""Following up disconnection warnings: proven by their receipt, sent again when no
DELIVRD came in time, listed for paper mail when every attempt went undelivered.

The decision is :func:`billing_core.judge_warnings`; this module reads each
warning's attempts and their messages' fates from the store and queues the
retries as notices of their own (key ``…:retry{n}``), so the account view shows
each attempt and its delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from billing_core import (
    DeliveryState,
    NoticeRecord,
    ProofStatus,
    WarningAttempt,
    WarningProof,
    attempt_of,
    judge_warnings,
)
from throttling import Priority

from ..routing import RoutingTable
from ..store import BillingStore, Store, StoredNotice
from .notices import message_fate, queue_notices
from .service import ReplyQueue

__all__ = ["LOOKBACK", "WarningFollowUp", "account_warnings", "follow_up_warnings"]

#: How far back warnings are followed: beyond every attempt's wait.
LOOKBACK = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class WarningFollowUp:
    """Where every warning stands, and the retries queued (none in a preview)."""

    proofs: Sequence[WarningProof] = ()
    retried: Sequence[str] = field(default_factory=tuple)

    def count(self, status: ProofStatus) -> int:
        return sum(1 for proof in self.proofs if proof.status is status)

    @property
    def unreached(self) -> list[WarningProof]:
        return [p for p in self.proofs if p.status is ProofStatus.UNREACHED]

    def to_json(self) -> dict[str, object]:
        return {
            "counts": {status.value: self.count(status) for status in ProofStatus},
            "retried": list(self.retried),
            "warnings": [
                {
                    "key": p.key,
                    "account": p.account_number,
                    "msisdn": p.msisdn,
                    "status": p.status.value,
                    "attempts": p.attempts,
                    "first_sent_at": p.first_sent_at.isoformat(),
                    "delivered_at": None if p.delivered_at is None else p.delivered_at.isoformat(),
                }
                for p in self.proofs
            ],
        }


async def follow_up_warnings(
    billing: BillingStore,
    store: Store,
    queue: ReplyQueue | None,
    *,
    now: datetime,
    route: str,
    wait: timedelta,
    retries: int,
    utility_id: str | None = None,
    routing: RoutingTable | None = None,
) -> WarningFollowUp:
    """Judge the warnings of the last :data:`LOOKBACK` at ``now``; unless previewing
    (``queue`` None), queue the retries due on ``route``, ahead of bulk.

    With ``routing`` a retry goes on the next route of its rule's plan after the
    one the attempt before it took (see :func:`.notices.notice_route`)."""
    stored = await billing.sent_warnings(since=now - LOOKBACK, utility_id=utility_id)
    proofs, first = await _judged(store, stored, now, wait, retries)
    due = [p for p in proofs if p.status is ProofStatus.RETRY and p.next_key is not None]
    if queue is None or not due:
        return WarningFollowUp(proofs)
    again = [
        replace(
            first[p.key],
            id=None,
            key=p.next_key,
            created_at=now,
            send_at=None,
            message_ids=(),
            state=DeliveryState.PENDING,
            delivered_at=None,
        )
        for p in due
    ]
    saved = await billing.save_run_notices(again, sorted({n.account_number for n in again}))
    wanted = {n.key for n in again}
    retried = [n for n in saved if n.key in wanted]
    await queue_notices(
        billing, queue, retried, route=route, priority=Priority.TRANSACTIONAL, routing=routing
    )
    return WarningFollowUp(proofs, tuple(n.key for n in retried if n.key is not None))


async def account_warnings(
    billing: BillingStore,
    store: Store,
    account_number: str,
    *,
    now: datetime,
    wait: timedelta,
    retries: int,
) -> list[tuple[WarningProof, NoticeRecord]]:
    """The account's warnings of the last :data:`LOOKBACK` judged at ``now`` as
    :func:`follow_up_warnings` judges them, each with its first attempt's notice
    (which names the service warned about)."""
    stored = await billing.sent_warnings(since=now - LOOKBACK, account_number=account_number)
    proofs, first = await _judged(store, stored, now, wait, retries)
    return [(proof, first[proof.key]) for proof in proofs]


async def _judged(
    store: Store, stored: Sequence[StoredNotice], now: datetime, wait: timedelta, retries: int
) -> tuple[list[WarningProof], dict[str, NoticeRecord]]:
    """The warnings' proofs, and each warning's first attempt by the warning's key."""
    attempts: list[WarningAttempt] = []
    first: dict[str, NoticeRecord] = {}
    for kept in stored:
        notice = kept.notice
        key = notice.key or f"notice:{notice.id}"
        fate = None if kept.message_id is None else await message_fate(store, kept.message_id)
        attempts.append(
            WarningAttempt(
                key,
                notice.account_number,
                notice.msisdn,
                notice.created_at,
                None if fate is None else fate.delivered_at,
                fate is not None and fate.delivery is DeliveryState.FAILED,
            )
        )
        first.setdefault(attempt_of(key)[0], notice)
    return judge_warnings(attempts, now, wait=wait, retries=retries), first
