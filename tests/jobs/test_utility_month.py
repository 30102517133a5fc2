"""A month of the demo utility on each store: the gateway's jobs and the consumers' SMS.

A fake clock goes hour by hour through March 2024 (the utility's zone is UTC).
Each hour the job runner runs what is due (the period close on the 1st at 02:00,
the notices every day at 10:00 with the warnings' follow-up), a stand-in SMSC
takes the queued messages and gives a delivery receipt to the phones that are
reachable, and at 12:00 on their day some consumers text a reading.

Every expectation is counted from the generator (:func:`consumer`) and the
tariff put in the document here, not from the code under test: the balances,
the debt notices (above the threshold, once in the month), the disconnection
warnings (the readers, whose electricity debt is then above 1.5 months of
charges), their retries and proofs, the reading reminders (on the 20th, to whoever
has not read by then), the meter verification invitations (30 days before the
verification date of the meters that have one: early in the month). The utility
charges no penalties (key rate 0) so every balance is known to the cent.
"""

from __future__ import annotations

import time as timer
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from billing_core import OutcomeStatus, Period, PeriodCloseSummary, ProofStatus
from smpp_engine.billing import NoticeRunSummary, SmsSelfService, WarningFollowUp
from smpp_engine.billing import follow_up_warnings as real_follow_up_warnings
from smpp_engine.billing import run_notices as real_run_notices
from smpp_engine.demo.utility import SHORT_CODE, UTILITY, consumer, utility_document
from smpp_engine.jobs import (
    CLOSE_PERIOD,
    NOTICES,
    Daily,
    Job,
    JobRunner,
    Monthly,
    billing_jobs,
    close_period_job,
    notices_job,
)
from smpp_engine.pipeline import MoMessage
from smpp_engine.store import (
    Accepted,
    BillingStore,
    JobStore,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    Store,
    import_billing_data,
    open_store,
)

from ..store.conftest import store_url_of

D = Decimal
ZONE = UTC
CONSUMERS = 300
START = datetime(2024, 3, 1, tzinfo=ZONE)
DAYS = 31
ROUTE = "sim"
THRESHOLD = D(100)
FIXED = D("2.50")  # the electricity fixed charge added to the demo's tariffs
DAY_PRICE, NIGHT_PRICE = D("0.31"), D("0.12")  # the demo's T1 and T2 prices
CLOSE_AT, NOTICES_AT, READINGS_AT = time(2), time(10), 12
WAIT, RETRIES = timedelta(hours=36), 1
REMINDER_DAY = 20
VERIFICATION_DAYS = 30  # the default, left to the utility's settings


def month_document() -> dict[str, Any]:
    document = utility_document(CONSUMERS, today=START.date())
    utility = document["utilities"][0]
    utility["reading_window"] = {"first_day": 15, "last_day": 25, "outside": "next_period"}
    utility["key_rate"] = "0"
    utility["notices"] = {
        "debt_threshold": str(THRESHOLD),
        "debt_months": None,
        "disconnection": {"months_of_debt": "1.5"},
        "reminder_days": [REMINDER_DAY],
        # Payment reminders are counted by tests/store/test_billing_notice_run.py; this
        # month counts debt notices, warnings and reading reminders.
        "payment_reminder_days": 0,
    }
    document["tariffs"].append(
        {
            "id": 2,
            "utility": UTILITY,
            "service": "electricity",
            "valid_from": "2020-01-01",
            "pricing": {"kind": "fixed", "amount": str(FIXED)},
        }
    )
    return document


# --- the month, counted from the generator ---------------------------------------


def reading_day(index: int) -> int | None:
    """Half the consumers text a reading, on a day of the window (15th-25th)."""
    return 15 + index % 11 if index % 4 in {0, 1} else None


def reachable(index: int) -> bool:
    """The stand-in SMSC delivers to even-numbered consumers only."""
    return index % 2 == 0


def reading_charge(index: int) -> D:
    """The reading's usage at the demo's prices, and March's fixed charge it brings."""
    c = consumer(index)
    day, night = (int(v) for v in c.reading_text().split())
    return (day - c.day_register) * DAY_PRICE + (night - c.night_register) * NIGHT_PRICE + FIXED


def balance(index: int, day: int) -> D:
    """The balance at the notices run of ``day``: the debt, February's fixed charge
    (the close on the 1st), and the reading once it has come in (12:00 the day before
    or earlier)."""
    read = reading_day(index)
    owed = consumer(index).debt + FIXED
    return owed + reading_charge(index) if read is not None and read < day else owed


def invitation_day(index: int) -> int | None:
    """The day of March the consumer's meter verification invitation goes (the utility's
    default: 30 days before the date), if their meter has a date."""
    ahead = consumer(index).verification_in
    if ahead is None:
        return None
    first = START.date() + timedelta(days=max(0, ahead - VERIFICATION_DAYS))
    return first.day if first.month == START.month else None


@dataclass
class Expected:
    """The notices each day's run queues, by kind (a retry as ``…:retry``)."""

    by_day: dict[int, Counter[str]] = field(default_factory=dict)
    proven: int = 0
    unreached: int = 0

    @property
    def totals(self) -> Counter[str]:
        return sum(self.by_day.values(), Counter())


def expected_month() -> Expected:
    expected = Expected()
    debt_sent: set[int] = set()
    warned: dict[int, int] = {}
    retried: set[int] = set()
    for day in range(1, DAYS + 1):
        queued: Counter[str] = Counter()
        for i in range(CONSUMERS):
            read = reading_day(i)
            if i not in debt_sent and balance(i, day) > THRESHOLD:
                debt_sent.add(i)
                queued["debt"] += 1
            if read is not None and read < day and i not in warned:
                warned[i] = day
                queued["disconnection_warning"] += 1
            # Not delivered: sent again once the wait is over (48 hours later).
            if (
                i in warned
                and not reachable(i)
                and i not in retried
                and (day - warned[i]) * timedelta(days=1) >= WAIT
            ):
                retried.add(i)
                queued["disconnection_warning:retry"] += 1
            if day == REMINDER_DAY and (read is None or read >= REMINDER_DAY):
                queued["reading_reminder"] += 1
            if day == invitation_day(i):
                queued["meter_verification"] += 1
        expected.by_day[day] = queued
    expected.proven = sum(1 for i in warned if reachable(i))
    expected.unreached = len(retried)
    return expected


# --- the gateway's parts around the store -----------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    @property
    def day(self) -> int:
        return datetime.fromtimestamp(self.now, ZONE).day


class StoreQueue:
    """The store's accept at the clock's time; records the idempotency keys by day."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.keys: dict[int, list[str]] = {}

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        accepted = await self.store.accept(messages, now=self.clock())
        fresh = [m.idempotency_key or "" for m, a in zip(messages, accepted, strict=True)
                 if not a.duplicate]  # fmt: skip
        self.keys.setdefault(self.clock.day, []).extend(fresh)
        return accepted

    def kinds(self, day: int) -> Counter[str]:
        """``notice:{kind}:…`` keys counted by kind (a retry as ``{kind}:retry``)."""
        return Counter(
            key.split(":")[1] + (":retry" if ":retry" in key else "")
            for key in self.keys.get(day, ())
        )


async def smsc_takes(store: Store, clock: Clock) -> None:
    """The SMSC takes every queued message; the reachable phones' receipts come at once."""
    now = clock()
    for message in await store.claim(ROUTE, 10_000, owner="smsc", now=now, lease=60.0):
        updates: list[Any] = []
        for part in message.pending_parts:
            smsc_id = f"s-{message.message_id}-{part}"
            updates.append(PartSubmitted(message.message_id, part, "b", smsc_id, now, now))
            if reachable(int(message.destination[-5:])):
                updates.append(
                    ReceiptArrived(ROUTE, smsc_id, PartState.DELIVERED, now, done_at=now)
                )
        await store.record(updates)


class _Ack:
    def ack(self, ok: bool = True) -> None:
        assert ok


def reading_mo(index: int, at: float, mo_id: str) -> MoMessage:
    """Consumer ``index``'s reading as the pipeline hands it over."""
    c = consumer(index)
    return MoMessage(
        ROUTE, c.msisdn, SHORT_CODE, c.reading_text(), 0, 1, at, mo_id, cast(Any, _Ack())
    )


async def texts_readings(service: SmsSelfService, clock: Clock) -> list[OutcomeStatus]:
    """The readings of the consumers whose day it is, as the pipeline hands them over."""
    statuses = []
    today = datetime.fromtimestamp(clock(), ZONE).date()
    for i in range(CONSUMERS):
        if reading_day(i) != today.day:
            continue
        c = consumer(i)
        mo_id = f"mo:{c.msisdn}:{today}:{c.reading_text()}"  # the same all day, as the pipeline's
        statuses.append((await service.handle(reading_mo(i, clock(), mo_id))).status)
    return statuses


@dataclass
class Figures:
    """What the month's runs said, for the release note (from spies on the real code)."""

    close: list[PeriodCloseSummary] = field(default_factory=list)
    notices: list[NoticeRunSummary] = field(default_factory=list)
    warnings: list[WarningFollowUp] = field(default_factory=list)
    took: dict[str, list[float]] = field(default_factory=dict)


class _RecordingCloses:
    """The billing store, keeping what each period close says."""

    def __init__(self, billing: BillingStore, figures: Figures) -> None:
        self._billing = billing
        self._figures = figures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._billing, name)

    async def close_period(self, period: Period, **kwargs: Any) -> PeriodCloseSummary:
        summary = await self._billing.close_period(period, **kwargs)
        self._figures.close.append(summary)
        return summary


def spy_on_runs(monkeypatch: pytest.MonkeyPatch, figures: Figures) -> None:

    async def run_notices(*args: Any, **kwargs: Any) -> NoticeRunSummary:
        summary = await real_run_notices(*args, **kwargs)
        figures.notices.append(summary)
        return summary

    async def follow_up_warnings(*args: Any, **kwargs: Any) -> WarningFollowUp:
        follow_up = await real_follow_up_warnings(*args, **kwargs)
        figures.warnings.append(follow_up)
        return follow_up

    monkeypatch.setattr(billing_jobs, "run_notices", run_notices)
    monkeypatch.setattr(billing_jobs, "follow_up_warnings", follow_up_warnings)


def timed(job: Job, figures: Figures) -> Job:
    async def work(due_at: float, now: float) -> str:
        started = timer.perf_counter()
        try:
            return await job.work(due_at, now)
        finally:
            figures.took.setdefault(job.name, []).append(timer.perf_counter() - started)

    return Job(job.name, job.schedule, work)


def gateway_jobs(billing: BillingStore, queue: StoreQueue, figures: Figures) -> list[Job]:
    """The jobs as the gateway makes them from its settings."""
    close = close_period_job(
        cast(BillingStore, _RecordingCloses(billing, figures)),
        Monthly(1, CLOSE_AT, ZONE),
        utility_id=None,
    )
    notices = notices_job(
        billing,
        queue,
        Daily(NOTICES_AT, ZONE),
        route=ROUTE,
        utility_id=None,
        adjust=lambda settings: settings,
        warning_wait=WAIT,
        warning_retries=RETRIES,
    )
    return [timed(close, figures), timed(notices, figures)]


async def live_the_month(
    store: Store, runner: JobRunner, service: SmsSelfService, clock: Clock
) -> list[OutcomeStatus]:
    statuses = []
    for hour in range(DAYS * 24):
        clock.now = (START + timedelta(hours=hour)).timestamp()
        await runner.run_due()
        if hour % 24 == READINGS_AT:
            statuses += await texts_readings(service, clock)
        await smsc_takes(store, clock)
    return statuses


def summarise(figures: Figures, queue: StoreQueue) -> str:
    """The month's figures in a few lines, for the release note."""
    queued: Counter[str] = sum((queue.kinds(day) for day in queue.keys), Counter())
    skipped: Counter[str] = Counter()
    for run in figures.notices:
        for kind, reasons in run.skipped().items():
            for reason, n in reasons.items():
                skipped[f"{kind}/{reason}"] += n
    last = figures.warnings[-1]
    close = figures.close[0]
    notices = figures.took[NOTICES]
    return "\n".join(
        [
            f"{CONSUMERS} accounts, {DAYS} days",
            f"notices queued by kind: {dict(sorted(queued.items()))}",
            f"skipped by reason (over {len(figures.notices)} runs): "
            f"{dict(sorted(skipped.items()))}",
            "warnings at the month's end: "
            + ", ".join(f"{s.value} {last.count(s)}" for s in ProofStatus),
            f"period close {close.period}: {close.accounts} accounts, {close.fixed_charges} "
            f"fixed charges, {close.estimated_accounts} estimated, {len(close.no_basis)} "
            f"with no basis to estimate; took {figures.took[CLOSE_PERIOD][0]:.3f} s",
            f"notices run: first {notices[0]:.3f} s, slowest {max(notices):.3f} s, "
            f"mean {sum(notices) / len(notices):.3f} s",
        ]
    )


def due_moments(at: time, days: Sequence[int]) -> list[float]:
    return [datetime.combine(date(2024, 3, d), at, ZONE).timestamp() for d in days]


@dataclass
class Month:
    """A store after the month, and what went through it."""

    store: Store
    billing: BillingStore
    jobs: JobStore
    clock: Clock
    queue: StoreQueue
    service: SmsSelfService
    statuses: list[OutcomeStatus]
    figures: Figures


@asynccontextmanager
async def a_month(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Month]:
    """The demo utility loaded into a store of ``kind``, then its month lived."""
    figures = Figures()
    spy_on_runs(monkeypatch, figures)
    async with store_url_of(kind, tmp_path) as url, open_store(url) as store:
        billing, jobs = cast(BillingStore, store), cast(JobStore, store)
        assert (await import_billing_data(billing, month_document())).ok
        clock = Clock(START.timestamp())
        queue = StoreQueue(store, clock)
        # Replies are saved with their answers (the queue only sizes them).
        settings = await billing.load_settings()
        service = SmsSelfService(billing, settings, queue, route=ROUTE, clock=clock)
        runner = JobRunner(jobs, gateway_jobs(billing, queue, figures), owner="a", clock=clock)
        statuses = await live_the_month(store, runner, service, clock)
        yield Month(store, billing, jobs, clock, queue, service, statuses, figures)


def readers() -> list[int]:
    return [i for i in range(CONSUMERS) if reading_day(i) is not None]


async def assert_balances(billing: BillingStore) -> None:
    """Each account owes what the generator, the tariff and its reading say, to the cent."""
    for i in range(CONSUMERS):
        ledger = await billing.load_ledger(consumer(i).account)
        assert ledger.balance.amount == balance(i, DAYS + 1), consumer(i).account


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_month_of_jobs_and_readings_sends_the_notices_counted(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = expected_month()
    assert expected.totals["debt"] and expected.proven and expected.unreached  # a real month
    assert expected.totals["meter_verification"]
    async with a_month(kind, tmp_path, monkeypatch) as month:
        jobs, figures = month.jobs, month.figures
        assert month.statuses == [OutcomeStatus.ACCEPTED] * len(readers())
        for day in range(1, DAYS + 1):
            assert month.queue.kinds(day) == expected.by_day[day], f"March {day}"
        await assert_balances(month.billing)
        last = figures.warnings[-1]
        assert last.count(ProofStatus.PROVEN) == expected.proven
        assert last.count(ProofStatus.UNREACHED) == expected.unreached
        assert last.count(ProofStatus.AWAITING) == last.count(ProofStatus.RETRY) == 0

        # The close ran once, on the 1st, and billed February's fixed charge to each.
        (close,) = figures.close
        assert close.period == Period(2024, 2)
        assert close.accounts == close.fixed_charges == CONSUMERS
        assert close.penalties == 0 and close.failed == ()
        # One recorded run per due moment, each ok, told the moment it was due.
        views = {view.name: view for view in await jobs.list_jobs()}
        assert {name: view.runs for name, view in views.items()} == {
            CLOSE_PERIOD: 1,
            NOTICES: DAYS,
        }
        for name, at, days in [(CLOSE_PERIOD, CLOSE_AT, [1]), (NOTICES, NOTICES_AT, range(1, 32))]:
            runs = await jobs.job_runs(name, limit=100)
            assert sorted(r.due_at for r in runs) == due_moments(at, days)
            assert {(r.outcome, r.owner) for r in runs} == {("ok", "a")}
        print(f"\n[{kind}] {summarise(figures, month.queue)}")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_second_pass_over_the_month_queues_and_bills_nothing_more(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock back to the 1st: another gateway runs every job again (the store's
    schedule takes the earlier due moments) and the SMSC delivers every MO again."""
    async with a_month(kind, tmp_path, monkeypatch) as month:
        store, jobs, clock = month.store, month.jobs, month.clock
        messages = await store.count_by_state()
        # Another gateway over the same days, the consumers' MO delivered again.
        again = StoreQueue(store, clock)
        second = JobRunner(
            jobs, gateway_jobs(month.billing, again, Figures()), owner="b", clock=clock
        )
        statuses = await live_the_month(store, second, month.service, clock)
        assert statuses == [OutcomeStatus.ALREADY_PROCESSED] * len(readers())
        await assert_balances(month.billing)
        assert [key for keys in again.keys.values() for key in keys] == []
        assert await store.count_by_state() == messages


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_reading_counted_for_the_next_period_is_not_billed_again_by_the_close(
    kind: str, tmp_path: Path
) -> None:
    """A reading taken on 27 February, outside the window (15th-25th), counts for March
    and bills the use since the last reading (31 January). Closing February must not
    estimate it again on top of that reading: its use is billed already."""
    async with store_url_of(kind, tmp_path) as url, open_store(url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, month_document())).ok
        at = datetime(2024, 2, 27, 12, tzinfo=ZONE).timestamp()
        settings = await billing.load_settings()
        queue = StoreQueue(store, Clock(at))
        service = SmsSelfService(billing, settings, queue, route=ROUTE, clock=lambda: at)
        read = await service.handle(reading_mo(13, at, "mo-1"))
        assert read.status is OutcomeStatus.ACCEPTED
        assert {ch.period for ch in read.charges} == {Period(2024, 3)}
        summary = await billing.close_period(
            Period(2024, 2), now=datetime(2024, 3, 1, 2, tzinfo=ZONE), utility_id=None
        )
        assert summary.fixed_charges == CONSUMERS
        ledger = await billing.load_ledger(consumer(13).account)
        # The reading's use and March's fixed charge, and February's fixed charge: no
        # estimate of February's use on top (that would be billed twice).
        assert ledger.balance.amount == reading_charge(13) + FIXED
        assert summary.estimated_meters == 0
