"""The utility's jobs: closing each month's billing period once it is over.

Closing is idempotent per account and period (the store's unique keys), so a run
that catches up closes every month it missed, and a run repeated after a crash
bills nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from billing_core import Period

from ..store import BillingStore
from .runner import Job
from .schedule import Monthly, ticks_between

__all__ = ["CLOSE_PERIOD", "close_period_job"]

CLOSE_PERIOD = "close-period"


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
                f"estimated, {summary.fixed_charges} fixed charge(s), {summary.penalties} "
                f"penalty(ies), {len(summary.failed)} failed"
            )
            failed += [f"{number} ({period})" for number, _ in summary.failed]
        if failed:
            # Every other account is closed; the run is reported failed so these are
            # looked at (the next run closes them once they can be).
            raise RuntimeError(f"{'; '.join(said)}; could not close {', '.join(failed)}")
        return "; ".join(said) or "nothing due"

    return Job(CLOSE_PERIOD, schedule, work)
