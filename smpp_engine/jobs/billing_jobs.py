"""The utility's jobs: closing each month's billing period once it is over, and the
day's notices (debt notices, disconnection warnings, reading and payment reminders, meter
verification invitations).

Closing is idempotent per account and period (the store's unique keys), so a run
that catches up closes every month it missed, and a run repeated after a crash
bills nothing twice. A notices run is idempotent per notice key (kind, account,
service, period, phone): a run repeated after a crash queues only what the first
did not, and a missed day is caught up by one run for now, not one per day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from billing_core import Period, ProofStatus, UtilitySettings
from metrics.catalogue import BILLING_WARNINGS as WARNINGS

from ..billing import ReplyQueue, count_notice_states, follow_up_warnings, run_notices
from ..routing import RoutingTable
from ..store import BillingStore, Store
from .runner import Job
from .schedule import Daily, Monthly, ticks_between

__all__ = ["CLOSE_PERIOD", "NOTICES", "close_period_job", "notices_job"]

CLOSE_PERIOD = "close-period"
NOTICES = "notices"


def close_period_job(billing: BillingStore, schedule: Monthly, *, utility_id: str | None) -> Job:
    """Close the month before each due moment of ``schedule`` (the day it runs is in the
    next month, so the month is over in the utility's zone)."""

    async def work(due_at: float, now: float) -> str:
        said = []
        failed: list[str] = []
        at = datetime.fromtimestamp(now, UTC)
        for tick in ticks_between(schedule, due_at, now):
            period = Period.of(datetime.fromtimestamp(tick, schedule.zone).date()).previous()
            summary = await billing.close_period(period, now=at, utility_id=utility_id)
            said.append(
                f"{period}: {summary.accounts} account(s), {summary.estimated_accounts} "
                f"estimated, {len(summary.no_basis)} without a basis to estimate, "
                f"{summary.fixed_charges} fixed charge(s), {summary.penalties} "
                f"penalty(ies), {len(summary.failed)} failed"
            )
            failed += [f"{number} ({period})" for number, _ in summary.failed]
        if failed:
            # Every other account is closed; the run is reported failed so these are
            # looked at (the next run closes them once they can be).
            raise RuntimeError(f"{'; '.join(said)}; could not close {', '.join(failed)}")
        return "; ".join(said) or "nothing due"

    return Job(CLOSE_PERIOD, schedule, work)


def notices_job(
    billing: BillingStore,
    queue: ReplyQueue,
    schedule: Daily,
    *,
    route: str,
    utility_id: str | None,
    adjust: Callable[[UtilitySettings], UtilitySettings],
    warning_wait: timedelta,
    warning_retries: int,
    routing: Callable[[], RoutingTable | None] = lambda: None,
) -> Job:
    """Decide and queue the notices due now on ``route`` (quiet hours and caps applied,
    ``adjust`` putting the engine's ``[notices]`` on the utility's rules), then send
    again the disconnection warnings not delivered within ``warning_wait``.
    ``routing`` gives the routing table in force at each run (a reload may change it)."""

    async def work(due_at: float, now: float) -> str:
        table = routing()
        summary = await run_notices(
            billing,
            queue,
            now=datetime.fromtimestamp(now, UTC),
            route=route,
            utility_id=utility_id,
            adjust=adjust,
            routing=table,
        )
        queued = ", ".join(
            f"{kind} {n}" for kind, n in sorted((k.value, n) for k, n in summary.queued.items())
        )
        warnings = await follow_up_warnings(
            billing,
            cast(Store, billing),
            queue,
            now=datetime.fromtimestamp(now, UTC),
            route=route,
            wait=warning_wait,
            retries=warning_retries,
            utility_id=utility_id,
            routing=table,
        )
        for status in ProofStatus:
            WARNINGS.labels(status.value).set(warnings.count(status))
        # What the run queued shows at once, not at the next sample.
        await count_notice_states(billing, now=datetime.fromtimestamp(now, UTC))
        return (
            f"{summary.accounts} account(s); queued {queued or 'none'}; "
            f"{summary.resumed} left by an earlier run; warnings sent again "
            f"{len(warnings.retried)}, unreached {warnings.count(ProofStatus.UNREACHED)}"
        )

    return Job(NOTICES, schedule, work)
