"""Closing a billing period: estimates, fixed charges and penalties, once per period.

For each open account of the utility, closing period P:

1. each active meter with no accepted reading counting for P is estimated: per
   billing register, the average daily use of its real readings
   (:func:`~.readings.average_daily`) times P's days, or, without such history,
   the utility's expected daily use of the service
   (:attr:`~.settings.Plausibility.default_daily`, for single-register meters:
   it is not split by zone). The estimate is an accepted ESTIMATE reading at the
   end of P, and an ESTIMATE charge priced over P. A meter with no basis (no
   previous reading, or neither history nor expected use) is reported, not
   billed;
2. each service of the account not yet billed its fixed charge for P is billed it;
3. each overdue open item accrues its penalty up to P's last day: the penalty on
   the item's whole overdue time (its principal stepping down with the payments
   made to it, each stretch rounded once, as :func:`~.penalties.accrue_penalty`
   says) less what earlier closes accrued on it.

Running it again changes nothing: an estimate is an accepted reading of P (the
meter is then read), a fixed charge is in ``fixed_billed``, a penalty accrued for
P is in ``accrued``. The stores keep all three unique too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import NamedTuple

from .context import RegisterHistory
from .errors import BillingError, TariffError
from .model import (
    Account,
    Charge,
    ChargeKind,
    Meter,
    MeterStatus,
    Period,
    Reading,
    ReadingSource,
    ReadingStatus,
    Service,
    Zone,
)
from .money import CALC, ZERO, Rounding, money_sum
from .payments import Ledger
from .penalties import DebtChange, accrue_penalty
from .readings import average_daily
from .settings import UtilitySettings
from .tariffs import TariffVersion, fixed_charge, usage_lines


class PrincipalPaid(NamedTuple):
    """Principal of an open item's period paid on ``paid_on``; ``due_date`` is the item's
    (None: not known, a payment stored before it was kept)."""

    paid_on: date
    amount: Decimal
    due_date: date | None = None


class LateCharge(NamedTuple):
    """A charge billed at ``billed_at`` to a period whose due date had come: it is owed,
    and accrues its penalty, from the day after it was billed (never before)."""

    billed_at: datetime
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AccountToClose:
    """One account as the store loads it to close ``period``.

    ``history`` holds each register's last accepted readings, oldest first.
    ``read_meters`` are the meters with an accepted reading counting for the period
    (an estimate of an earlier close included); ``fixed_billed`` the services billed
    their fixed charge for it. ``accrued`` is, per open item's period, the penalty
    earlier closes accrued on it; ``paid`` the principal payments made to it (to an
    item paid off too); ``late`` the charges billed to it on or after its due date.
    """

    account: Account
    services: frozenset[Service]
    meters: tuple[Meter, ...]
    history: Mapping[int, RegisterHistory]
    tariffs: tuple[TariffVersion, ...]
    ledger: Ledger
    read_meters: frozenset[int] = frozenset()
    fixed_billed: frozenset[Service] = frozenset()
    accrued: Mapping[Period, Decimal] = field(default_factory=dict)
    paid: Mapping[Period, tuple[PrincipalPaid, ...]] = field(default_factory=dict)
    late: Mapping[Period, tuple[LateCharge, ...]] = field(default_factory=dict)


class PenaltyAccrual(NamedTuple):
    """A penalty accrued by the close of ``closed`` on the open item of ``period``,
    counted up to ``through`` (inclusive)."""

    account_number: str
    period: Period
    closed: Period
    through: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AccountClosed:
    """What closing the period does to one account: the meters it estimated (ids) and
    their readings, charges and penalties, its ledger after them, and the meters
    (serials) it had no basis to estimate. ``error``: a configuration problem (a
    missing tariff); nothing is written for the account."""

    account_number: str
    estimated: tuple[int, ...] = ()
    readings: tuple[Reading, ...] = ()
    charges: tuple[Charge, ...] = ()
    penalties: tuple[PenaltyAccrual, ...] = ()
    ledger: Ledger | None = None
    no_basis: tuple[str, ...] = ()
    error: BillingError | None = None

    @property
    def changes(self) -> bool:
        return bool(self.readings or self.charges or self.penalties)


def estimate_taken_at(period: Period, settings: UtilitySettings) -> datetime:
    """An estimate's reading time: the end of the period's last day, local."""
    last_day = period.end - timedelta(days=1)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=settings.zone)


def _daily(meter: Meter, history: RegisterHistory, settings: UtilitySettings) -> Decimal | None:
    plausibility = settings.plausibility
    daily = average_daily(history.accepted, meter, plausibility.min_history_days)
    if daily is None and len(meter.billing_registers) == 1:
        daily = plausibility.default_daily.get(meter.service)
    return daily


def _read_for_later(meter: Meter, snapshot: AccountToClose, period: Period) -> bool:
    """Whether the meter's last reading counts for a period after ``period``: taken late
    in it, outside the reading window, or closed again after the next one was read. That
    reading billed the use up to when it was taken; an estimate on top of it would bill
    the same use twice."""
    for register in meter.billing_registers:
        history = snapshot.history.get(register.id)
        last = None if history is None else history.last
        if last is not None and last.period > period:
            return True
    return False


def _estimate(
    meter: Meter,
    snapshot: AccountToClose,
    period: Period,
    settings: UtilitySettings,
    now: datetime,
) -> tuple[tuple[Reading, ...], Charge | None] | None:
    """The meter's estimated readings and charge; None when there is no basis."""
    quantum = Decimal(1).scaleb(-meter.decimals)
    taken_at = estimate_taken_at(period, settings)
    readings: list[Reading] = []
    usage: dict[Zone, Decimal] = {}
    for register in meter.billing_registers:
        history = snapshot.history.get(register.id) or RegisterHistory(register.id)
        last = history.last
        daily = _daily(meter, history, settings)
        if last is None or daily is None:
            return None
        used = Rounding(settings.rounding.mode, quantum)(daily * period.days)
        value = (last.value + used) % meter.range
        readings.append(
            Reading(
                register.id,
                value,
                taken_at,
                now,
                ReadingSource.ESTIMATE,
                ReadingStatus.ACCEPTED,
                period,
            )
        )
        usage[register.zone] = used * meter.multiplier
    if not any(usage.values()):
        return tuple(readings), None
    lines = usage_lines(
        snapshot.tariffs,
        meter.service,
        usage,
        period.start,
        period.end,
        rounding=settings.rounding,
    )
    charge = Charge(
        snapshot.account.number,
        period,
        meter.service,
        lines,
        period.start,
        period.end,
        meter.id,
        None,
        period.due_date(settings.due_day),
        ChargeKind.ESTIMATE,
    )
    return tuple(readings), charge


def _debt_changes(
    principal: Decimal,
    paid: Sequence[PrincipalPaid],
    late: Sequence[tuple[date, Decimal]],
    due_date: date,
) -> tuple[Decimal, list[DebtChange]]:
    """The principal as it was due on ``due_date``, and how it changed after: each
    payment lowers it from the day after it was made, each charge billed late (local
    day, amount) raises it from the day after it was billed. What is owed now is
    ``principal``: the first amount is found backwards from it."""
    billed_late = [(day, amount) for day, amount in late if day >= due_date]
    events = sorted([(p.paid_on, -p.amount) for p in paid] + billed_late, key=lambda e: e[0])
    first = principal - money_sum(amount for _, amount in events)
    outstanding = first
    changes = []
    for day, amount in events:
        outstanding += amount
        changes.append(DebtChange(day, outstanding))
    return first, changes


def _penalties(
    snapshot: AccountToClose, period: Period, settings: UtilitySettings
) -> list[PenaltyAccrual]:
    """Each item's penalty up to the period's last day (or its payment in full, when it
    was paid off since), less what earlier closes accrued on it.

    Worked: 10,000.00 due 15 January at the spec's rates; February's close accrues
    days 31-45 (47.50). Paid in full on 10 March (day 55), the item is gone by March's
    close, which still accrues days 46-55: 79.17 for days 31-55, less 47.50, is 31.67.
    """
    through = period.end - timedelta(days=1)
    due_dates = {item.period: item.due_date for item in snapshot.ledger.open_items}
    owing = {item.period: item.principal for item in snapshot.ledger.open_items}
    for paid_period, payments in snapshot.paid.items():
        # An item paid off (or whose principal is, its penalty left without a date).
        if due_dates.get(paid_period) is None:
            known = [p.due_date for p in payments if p.due_date is not None]
            if known:
                due_dates[paid_period] = known[0]
                owing.setdefault(paid_period, ZERO)
    accruals = []
    zone = settings.zone
    for item_period, due_date in sorted(due_dates.items()):
        if due_date is None or due_date >= through:
            continue
        paid = snapshot.paid.get(item_period, ())
        late = [
            (c.billed_at.astimezone(zone).date(), c.amount)
            for c in snapshot.late.get(item_period, ())
        ]
        due, changes = _debt_changes(owing[item_period], paid, late, due_date)
        if due <= 0 and not any(c.outstanding > 0 for c in changes):
            continue
        total = accrue_penalty(
            due,
            due_date,
            through,
            key_rate=settings.key_rate,
            schedule=settings.penalty_schedule,
            rounding=settings.rounding,
            changes=changes,
        ).total
        owed = total - snapshot.accrued.get(item_period, ZERO)
        if owed > 0:
            accruals.append(
                PenaltyAccrual(snapshot.account.number, item_period, period, through, owed)
            )
    return accruals


def _close_account(
    snapshot: AccountToClose, period: Period, settings: UtilitySettings, now: datetime
) -> AccountClosed:
    number = snapshot.account.number
    estimated: list[int] = []
    readings: list[Reading] = []
    charges: list[Charge] = []
    no_basis: list[str] = []
    for meter in snapshot.meters:
        if meter.status is not MeterStatus.ACTIVE or meter.id in snapshot.read_meters:
            continue
        if _read_for_later(meter, snapshot, period):
            continue
        estimate = _estimate(meter, snapshot, period, settings, now)
        if estimate is None:
            no_basis.append(meter.serial)
            continue
        estimated.append(meter.id)
        readings.extend(estimate[0])
        if estimate[1] is not None:
            charges.append(estimate[1])
    for service in sorted(snapshot.services - snapshot.fixed_billed, key=lambda s: s.value):
        charge = fixed_charge(snapshot.tariffs, number, service, period, settings)
        if charge is not None:
            charges.append(charge)
    penalties = _penalties(snapshot, period, settings)
    ledger = snapshot.ledger
    for charge in charges:
        ledger = ledger.charge(charge.period, charge.amount, charge.due_date)
    for penalty in penalties:
        ledger = ledger.penalise(penalty.period, penalty.amount)
    return AccountClosed(
        number,
        tuple(estimated),
        tuple(readings),
        tuple(charges),
        tuple(penalties),
        ledger,
        tuple(no_basis),
    )


def period_over(period: Period, now: datetime, settings: UtilitySettings) -> bool:
    """Whether ``period`` has ended at ``now`` in the utility's time zone: its meters may
    be read until its last local day ends (an estimate before would bill a guess)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(settings.zone).date() >= period.end


def close_accounts(
    accounts: Iterable[AccountToClose],
    period: Period,
    settings: UtilitySettings,
    *,
    now: datetime,
) -> list[AccountClosed]:
    """Close ``period`` for ``accounts`` (closed accounts are left alone), as the module
    says. ``now`` (aware) is when the estimates are received. Pure; an account whose
    tariffs cannot price it fails alone (its ``error``)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    closed = []
    with localcontext(CALC):
        for snapshot in accounts:
            if snapshot.account.closed:
                continue
            try:
                closed.append(_close_account(snapshot, period, settings, now))
            except TariffError as error:
                closed.append(AccountClosed(snapshot.account.number, error=error))
    return closed


@dataclass(frozen=True, slots=True)
class PeriodCloseSummary:
    """What a close did, counted: accounts closed, accounts and meters estimated,
    fixed charges billed, penalties accrued (count and sum), the accounts with a
    meter it had no basis to estimate, and the accounts that failed (with why)."""

    period: Period
    accounts: int = 0
    estimated_accounts: int = 0
    estimated_meters: int = 0
    fixed_charges: int = 0
    penalties: int = 0
    penalty_amount: Decimal = ZERO
    charged: Decimal = ZERO
    no_basis: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    def add(self, closed: Sequence[AccountClosed]) -> PeriodCloseSummary:
        """This summary with ``closed`` counted in."""
        return PeriodCloseSummary(
            self.period,
            self.accounts + sum(1 for c in closed if c.error is None),
            self.estimated_accounts + sum(1 for c in closed if c.estimated),
            self.estimated_meters + sum(len(c.estimated) for c in closed),
            self.fixed_charges
            + sum(1 for c in closed for x in c.charges if x.kind is ChargeKind.FIXED),
            self.penalties + sum(len(c.penalties) for c in closed),
            money_sum((p.amount for c in closed for p in c.penalties), self.penalty_amount),
            money_sum((x.amount for c in closed for x in c.charges), self.charged),
            self.no_basis + tuple(c.account_number for c in closed if c.no_basis),
            self.failed
            + tuple((c.account_number, str(c.error)) for c in closed if c.error is not None),
        )
