"""A notices run: every account of a utility, in pages, planned and queued once per period.

The decision is billing_core's (:func:`~billing_core.decide_notices`): for each
account and kind, whether the notice goes (now, or when the consumer's quiet
hours end) or why not. A run stores the notices that go under their keys (kind,
account, service, period, phone) and queues each as a gateway message with that
key as its idempotency key, then links them. So a second run of the period
finds the keys and queues nothing, and a run after a crash queues what the
crashed one stored but did not queue, and plans the accounts it did not reach.

A preview (``queue`` None, or ``dry_run``) decides the same and stores nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from billing_core import (
    CAP_COUNTED,
    LEGALLY_REQUIRED,
    NoticeContext,
    NoticeKind,
    NoticeRecord,
    NoticeVerdict,
    TextSizer,
    UtilitySettings,
    decide_notices,
)
from metrics import catalogue
from throttling import Priority

from ..routing import RoutingTable
from ..store import BillingStore
from .notices import queue_notices
from .service import ReplyQueue, route_sizer

__all__ = ["NOTICE_PAGE", "RUN_YEARS", "NoticeRunSummary", "run_notices"]

#: Accounts loaded, decided and stored per round trip.
NOTICE_PAGE = 500
#: The years a run may be decided as of: the store looks back up to 400 days from
#: ``now``, and a time near the ends of the calendar cannot be.
RUN_YEARS = range(1971, 9000)


@dataclass
class NoticeRunSummary:
    """What a run (or its preview) decided, counted.

    ``verdicts`` counts every notice by kind and reason; ``queued`` the messages
    this run queued, by kind; ``resumed`` those of them an earlier run had stored
    and not queued (it stopped before).
    """

    now: datetime
    dry_run: bool
    accounts: int = 0
    verdicts: Counter[tuple[NoticeKind, str]] = field(default_factory=Counter)
    queued: Counter[NoticeKind] = field(default_factory=Counter)
    resumed: int = 0

    def going(self) -> dict[str, int]:
        """Notices that go (now, or after quiet hours), by kind."""
        return _by_kind(
            (kind, n) for (kind, reason), n in self.verdicts.items() if reason in _GOING
        )

    def held(self) -> dict[str, int]:
        """Of those, the ones waiting for the end of quiet hours, by kind."""
        return _by_kind(
            (kind, n) for (kind, reason), n in self.verdicts.items() if reason == "quiet_hours"
        )

    def skipped(self) -> dict[str, dict[str, int]]:
        """Notices that do not go, by kind and reason."""
        result: dict[str, dict[str, int]] = {}
        for (kind, reason), n in sorted(
            self.verdicts.items(), key=lambda i: (i[0][0].value, i[0][1])
        ):
            if reason not in _GOING:
                result.setdefault(kind.value, {})[reason] = n
        return result

    def to_json(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "accounts": self.accounts,
            "going": self.going(),
            "held_for_quiet_hours": self.held(),
            "skipped": self.skipped(),
            "queued": _by_kind(self.queued.items()),
            "resumed": self.resumed,
        }


_GOING = frozenset({"queued", "quiet_hours"})


def _by_kind(pairs: Iterable[tuple[NoticeKind, int]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for kind, n in pairs:
        totals[kind.value] += n
    return dict(sorted(totals.items()))


def _priority(kind: NoticeKind) -> Priority:
    # The law's notices before the reminders, as payment confirmations are.
    return Priority.TRANSACTIONAL if kind in LEGALLY_REQUIRED else Priority.BULK


async def run_notices(
    billing: BillingStore,
    queue: ReplyQueue | None,
    *,
    now: datetime,
    route: str,
    dry_run: bool = False,
    utility_id: str | None = None,
    adjust: Callable[[UtilitySettings], UtilitySettings] = lambda s: s,
    page: int = NOTICE_PAGE,
    on_verdicts: Callable[[Sequence[NoticeVerdict]], None] | None = None,
    sizer: TextSizer | None = None,
    routing: RoutingTable | None = None,
) -> NoticeRunSummary:
    """Decide the notices of every account of the utility at ``now``; unless previewing
    (``queue`` None or ``dry_run``), store those that go and queue them on ``route``.

    ``adjust`` applies the engine's ``[notices]`` settings (quiet hours, caps) to the
    utility's; ``on_verdicts`` sees each page's verdicts (a preview lists them).
    ``sizer`` sizes the texts as ``route`` sends them (its SMSC's text profile and
    concatenation); without it, the pipeline ``queue`` says, else the defaults.
    With ``routing`` the notices go where the routing table sends them, not on ``route``.
    Raises the store's ``NoBillingUtilityError`` when it holds no such utility.
    """
    if now.utcoffset() is None or now.year not in RUN_YEARS:
        raise ValueError(f"now: an aware time in {RUN_YEARS.start}-{RUN_YEARS.stop - 1}")
    previewing = dry_run or queue is None
    settings = adjust(await billing.load_settings(utility_id))
    if sizer is None:
        sizer = route_sizer(queue, route)
    summary = NoticeRunSummary(now, previewing)
    # Sends decided in this run, per phone: a phone bound to several accounts must not
    # get, over the caps, one notice per account decided from the same snapshot.
    sent_in_run: dict[str, list[datetime]] = {}
    after = ""
    while True:
        contexts = await billing.load_notice_contexts(settings, now=now, after=after, limit=page)
        if not contexts:
            break
        after = contexts[-1].account.number
        summary.accounts += len(contexts)
        verdicts: list[NoticeVerdict] = []
        for context in contexts:
            verdicts += _decide(context, now, sizer, sent_in_run)
        for verdict in verdicts:
            summary.verdicts[(verdict.kind, verdict.reason.value)] += 1
        if on_verdicts is not None:
            on_verdicts(verdicts)
        if previewing:
            continue
        _count_decided(verdicts)
        going = [v.notice for v in verdicts if v.notice is not None]
        assert queue is not None
        pending = await billing.save_run_notices(going, [c.account.number for c in contexts])
        planned_now = {n.key for n in going}
        summary.resumed += sum(1 for n in pending if n.key not in planned_now)
        await _queue(billing, queue, pending, route, routing)
        for notice in pending:
            summary.queued[notice.kind] += 1
            catalogue.BILLING_NOTICES_QUEUED.labels(notice.kind.value).inc()
    return summary


def _decide(
    context: NoticeContext,
    now: datetime,
    sizer: TextSizer,
    sent_in_run: dict[str, list[datetime]],
) -> tuple[NoticeVerdict, ...]:
    phones = [b.msisdn for b in context.bindings if b.msisdn in sent_in_run]
    if phones:
        recent = dict(context.recent_capped)
        for msisdn in phones:
            recent[msisdn] = (*recent.get(msisdn, ()), *sent_in_run[msisdn])
        context = replace(context, recent_capped=recent)
    verdicts = decide_notices(context, now, sizer=sizer)
    for verdict in verdicts:
        notice = verdict.notice
        if notice is not None and notice.kind in CAP_COUNTED and notice.send_at is not None:
            sent_in_run.setdefault(notice.msisdn, []).append(notice.send_at)
    return verdicts


def _count_decided(verdicts: Sequence[NoticeVerdict]) -> None:
    for verdict in verdicts:
        if verdict.goes:
            catalogue.BILLING_NOTICES_PLANNED.labels(verdict.kind.value, verdict.reason.value).inc()
        else:
            catalogue.BILLING_NOTICES_SKIPPED.labels(verdict.kind.value, verdict.reason.value).inc()


async def _queue(
    billing: BillingStore,
    queue: ReplyQueue,
    notices: Sequence[NoticeRecord],
    route: str,
    routing: RoutingTable | None,
) -> None:
    for priority in (Priority.TRANSACTIONAL, Priority.BULK):
        chosen = [n for n in notices if _priority(n.kind) is priority]
        if chosen:
            await queue_notices(
                billing, queue, chosen, route=route, priority=priority, routing=routing
            )
