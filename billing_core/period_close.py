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
    """Principal of an open item's period paid on ``paid_on``."""

    paid_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AccountToClose:
    """One account as the store loads it to close ``period``.

    ``history`` holds each register's last accepted readings, oldest first.
    ``read_meters`` are the meters with an accepted reading counting for the period
    (an estimate of an earlier close included); ``fixed_billed`` the services billed
    their fixed charge for it. ``accrued`` is, per open item's period, the penalty
    earlier closes accrued on it; ``paid`` the principal payments made to it.
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


def _penalties(
    snapshot: AccountToClose, period: Period, settings: UtilitySettings
) -> list[PenaltyAccrual]:
    through = period.end - timedelta(days=1)
    accruals = []
    for item in snapshot.ledger.open_items:
        if item.due_date is None or item.due_date >= through:
            continue
        paid = sorted(snapshot.paid.get(item.period, ()))
        # The principal as it was due: what is owed now and what was paid of it since.
        due = money_sum((p.amount for p in paid), item.principal)
        outstanding = due
        changes = []
        for payment in paid:
            outstanding -= payment.amount
            changes.append(DebtChange(payment.paid_on, outstanding))
        if due <= 0:
            continue
        total = accrue_penalty(
            due,
            item.due_date,
            through,
            key_rate=settings.key_rate,
            schedule=settings.penalty_schedule,
            rounding=settings.rounding,
            changes=changes,
        ).total
        owed = total - snapshot.accrued.get(item.period, ZERO)
        if owed > 0:
            accruals.append(
                PenaltyAccrual(snapshot.account.number, item.period, period, through, owed)
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
