"""The entities of the billing domain: accounts, phones, meters, readings, charges, payments.

All are immutable values. Identifiers of stored rows (``id``) are the store's; a
value the core creates and the store has not saved yet has ``id=None``.

Records built by the dozen per SMS (readings, charge lines, periods; the store
builds a dozen readings per register for each load) are NamedTuples: a frozen
dataclass costs about two and a half times as much to construct, which shows in a round
trip that must stay within tens of microseconds. Settings-like entities that
are validated when built (meters, accounts, payments) are frozen dataclasses.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from .errors import SettingsError
from .money import CALC, ZERO, money_sum


class FastEnum(enum.Enum):
    """An Enum hashed by identity.

    Python 3.11's ``Enum.__hash__`` is Python code (``hash(self._name_)``); enum
    members key the hot dictionaries (prices per zone, texts per language), and
    members are singletons compared by identity, so the C identity hash is the
    same contract at a fraction of the cost.
    """

    __hash__ = object.__hash__


class Language(FastEnum):
    """The languages replies and keywords exist in."""

    RU = "ru"
    ES = "es"
    EN = "en"
    BG = "bg"


class Service(FastEnum):
    """A metered (or unmetered) utility service."""

    ELECTRICITY = "electricity"
    COLD_WATER = "cold_water"
    HOT_WATER = "hot_water"
    GAS = "gas"
    HEATING = "heating"


class Zone(FastEnum):
    """A register's time zone: T0 single (or the total), T1/T2 day/night, T3 half-peak."""

    T0 = "T0"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"


class MeterStatus(FastEnum):
    ACTIVE = "active"
    FAULTY = "faulty"
    REMOVED = "removed"


class ReadingSource(FastEnum):
    SMS = "sms"
    ESTIMATE = "estimate"
    INSPECTOR = "inspector"


class ReadingStatus(FastEnum):
    ACCEPTED = "accepted"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    REJECTED = "rejected"


class ChargeKind(FastEnum):
    """What a charge bills: the use between readings, a period's fixed charge, or an
    estimate of a period's use (a period closed without a reading)."""

    USAGE = "usage"
    FIXED = "fixed"
    ESTIMATE = "estimate"


class Period(NamedTuple):
    """A calendar month of billing: ``Period(2024, 3)`` is March 2024 (ordered by time).

    Built unchecked (the store's rows and :meth:`of` are valid by construction);
    :meth:`checked` validates outside input.
    """

    year: int
    month: int

    @classmethod
    def checked(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12 or not 1 <= year <= 9998:
            raise SettingsError("not a billing month", field="period", value=(year, month))
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Period:
        """The month ``day`` falls in."""
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.next().start

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def next(self) -> Period:
        if self.month == 12:
            return Period(self.year + 1, 1)
        return Period(self.year, self.month + 1)

    def previous(self) -> Period:
        if self.month == 1:
            return Period(self.year - 1, 12)
        return Period(self.year, self.month - 1)

    def due_date(self, due_day: int) -> date:
        """The payment due date: ``due_day`` of the following month (its last day if shorter)."""
        following = self.next()
        if due_day > 28:  # only then can the month be too short
            due_day = min(due_day, following.days)
        return date(following.year, following.month, due_day)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class PhoneBinding(NamedTuple):
    """The contract's proof: only a bound MSISDN may act on the account.

    ``opted_out`` is the phone's STOP: only legally required notices reach it.
    """

    msisdn: str
    account_number: str
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """A consumer's personal account. ``language`` and ``time_zone`` default to the utility's."""

    number: str
    language: Language | None = None
    time_zone: str | None = None
    closed: bool = False


@dataclass(frozen=True, slots=True)
class ServicePoint:
    """Where one service is delivered to an account (one per service and premises)."""

    id: int
    account_number: str
    service: Service


class Register(NamedTuple):
    """One register of a meter, per time zone."""

    id: int
    zone: Zone


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter: ``digits`` integer digits (it rolls over at 10**digits), ``decimals``
    shown after the point, ``multiplier`` for transformer-connected meters.

    ``registers`` are in the order positional SMS values fill them (T1, T2, T3;
    a total T0 register of a multi-zone meter comes first or last, as stored).
    """

    id: int
    serial: str
    service_point_id: int
    service: Service
    registers: tuple[Register, ...]
    digits: int = 5
    decimals: int = 0
    multiplier: Decimal = Decimal(1)
    status: MeterStatus = MeterStatus.ACTIVE
    # Derived once: every reading asks for them.
    range: Decimal = field(init=False, repr=False, compare=False)
    billing_registers: tuple[Register, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.registers:
            raise SettingsError(
                "a meter has at least one register", field="registers", value=self.serial
            )
        zones = [r.zone for r in self.registers]
        if len(set(zones)) != len(zones):
            raise SettingsError(
                "a meter has one register per zone", field="registers", value=self.serial
            )
        if not 1 <= self.digits <= 12 or not 0 <= self.decimals <= 4:
            raise SettingsError(
                "digits 1-12 and decimals 0-4", field="digits", value=(self.digits, self.decimals)
            )
        # Where the counter rolls over: 10**digits.
        object.__setattr__(self, "range", Decimal(10) ** self.digits)
        # The zone registers when there are any (a T0 beside them is only a check), else T0.
        zoned = tuple(r for r in self.registers if r.zone is not Zone.T0)
        object.__setattr__(self, "billing_registers", zoned or self.registers)

    def register(self, zone: Zone) -> Register | None:
        for register in self.registers:
            if register.zone is zone:
                return register
        return None


class Reading(NamedTuple):
    """A meter reading of one register.

    ``period`` is the billing month it counts for (a reading sent after the
    window closes may count for the next one). ``mo_message_id`` is the SMPP
    message it came in, for SMS readings.
    """

    register_id: int
    value: Decimal
    taken_at: datetime
    received_at: datetime
    source: ReadingSource
    status: ReadingStatus
    period: Period
    mo_message_id: str | None = None
    id: int | None = None

    @property
    def is_real(self) -> bool:
        """Read off the meter (by the consumer or an inspector), not estimated."""
        return self.source is not ReadingSource.ESTIMATE


class ChargeLine(NamedTuple):
    """One line of a bill: ``quantity`` at ``price`` is ``amount`` (rounded once).

    ``label`` says what the line is (``"T1"``, ``"band 2"``, ``"fixed"``);
    ``tariff_id`` and ``days`` tell which tariff version priced it and over how
    many days of the interval.
    """

    service: Service
    label: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    tariff_id: int
    days: int


class Charge(NamedTuple):
    """What one account owes for one service in one period, line by line.

    ``start``..``end`` (exclusive) is the billed interval; ``due_date`` when it
    must be paid (the open item the store keeps for ``period`` takes it).
    ``kind`` says what it bills: a FIXED charge is billed once per account,
    service and period, an ESTIMATE once per meter and period (the stores keep
    both unique).
    """

    account_number: str
    period: Period
    service: Service
    lines: tuple[ChargeLine, ...]
    start: date
    end: date
    meter_id: int | None = None
    id: int | None = None
    due_date: date | None = None
    kind: ChargeKind = ChargeKind.USAGE

    @property
    def amount(self) -> Decimal:
        return money_sum(line.amount for line in self.lines)


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received. ``period`` is the month the payer named, if any.

    ``reference`` is the payment system's id: posting the same reference twice
    changes nothing.
    """

    account_number: str
    amount: Decimal
    paid_on: date
    reference: str
    period: Period | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """``opening + charges + penalties - payments``: positive is debt, negative an advance."""

    opening: Decimal = ZERO
    charges: Decimal = ZERO
    penalties: Decimal = ZERO
    payments: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return CALC.subtract(money_sum((self.charges, self.penalties), self.opening), self.payments)

    def charged(self, amount: Decimal) -> Balance:
        return Balance(self.opening, CALC.add(self.charges, amount), self.penalties, self.payments)

    def penalised(self, amount: Decimal) -> Balance:
        return Balance(self.opening, self.charges, CALC.add(self.penalties, amount), self.payments)

    def paid(self, amount: Decimal) -> Balance:
        return Balance(self.opening, self.charges, self.penalties, CALC.add(self.payments, amount))


class OpenItem(NamedTuple):
    """What is still owed for one period: principal and penalties, apart."""

    period: Period
    principal: Decimal = ZERO
    penalty: Decimal = ZERO
    due_date: date | None = None

    @property
    def total(self) -> Decimal:
        return CALC.add(self.principal, self.penalty)
