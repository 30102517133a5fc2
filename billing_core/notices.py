"""Notice rules: when a debt notice, a disconnection warning, a payment confirmation,
a reading reminder, a payment reminder or a meter verification invitation is due,
and when it may go out.

Quiet hours are read off the consumer's clock (:mod:`.quiet_hours`, the rule
campaigns follow too): by default 22:00-08:00 on working days and 20:00-09:00
at weekends. A notice that falls in quiet hours waits for their end. Debt
notices, payment reminders and meter verification invitations are also capped
(by default 2 in any 24 hours, 4 in any 7 days, 16 in any 30 days, rolling: the
strictest reading of a per-day/week/month cap). STOP
silences everything but the legally required notices: the disconnection warning
and the restriction notice.

A disconnection warning gives the consumer ``days_to_pay`` days (20 by
default) counted from the day after its *delivery*, so the deadline exists only
once the delivery receipt (DLR) has arrived: its timestamp is the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Final, NamedTuple

from .errors import SettingsError
from .model import FastEnum, Period, Service
from .money import ZERO
from .quiet_hours import QuietHours


class NoticeKind(FastEnum):
    DEBT = "debt"
    DISCONNECTION_WARNING = "disconnection_warning"
    RESTRICTION = "restriction"
    PAYMENT_CONFIRMATION = "payment_confirmation"
    READING_REMINDER = "reading_reminder"
    PAYMENT_REMINDER = "payment_reminder"
    METER_VERIFICATION = "meter_verification"


#: Notices the law requires: STOP does not silence them, caps do not hold them.
LEGALLY_REQUIRED: Final = frozenset({NoticeKind.DISCONNECTION_WARNING, NoticeKind.RESTRICTION})
#: Notices the frequency caps hold.
CAPPED: Final = frozenset(
    {NoticeKind.DEBT, NoticeKind.PAYMENT_REMINDER, NoticeKind.METER_VERIFICATION}
)
#: Notices that count against a phone's caps (with the campaign messages it was sent):
#: every kind but the payment confirmation, which answers the consumer's own act.
CAP_COUNTED: Final = frozenset(NoticeKind) - {NoticeKind.PAYMENT_CONFIRMATION}

_DAY: Final = timedelta(days=1)
#: The most days ahead a meter verification invitation may go: a notices run finds the
#: keys of the notices it stored in the last 62 days, and the invitation's key must
#: still be found on the verification date, or it would go again.
MAX_VERIFICATION_DAYS: Final = 60


def _aware(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {instant!r}")
    return instant


@dataclass(frozen=True, slots=True)
class FrequencyCaps:
    """At most ``per_day`` notices in any 24 hours, ``per_week`` in 7 days, ``per_month`` in 30."""

    per_day: int = 2
    per_week: int = 4
    per_month: int = 16

    def __post_init__(self) -> None:
        if min(self.per_day, self.per_week, self.per_month) < 1:
            raise SettingsError("caps are at least 1", field="caps", value=self)

    def next_allowed(self, now: datetime, sent: Sequence[datetime]) -> datetime:
        """The first instant at or after ``now`` when one more notice stays within the caps."""
        limits = (
            (timedelta(days=1), self.per_day),
            (timedelta(days=7), self.per_week),
            (timedelta(days=30), self.per_month),
        )
        times = sorted(sent)
        instant = now
        changed = True
        while changed:
            changed = False
            for span, cap in limits:
                inside = [t for t in times if instant - span < t <= instant]
                if len(inside) >= cap:
                    # The oldest sends must leave the window until only cap-1 remain.
                    instant = inside[len(inside) - cap] + span
                    changed = True
        return instant


@dataclass(frozen=True, slots=True)
class DisconnectionRules:
    """Russian rules by default: debt above two months of charges of one service → warning."""

    months_of_debt: Decimal = Decimal(2)
    days_to_pay: int = 20
    days_to_suspension: int = 10
    never_cut: AbstractSet[Service] = frozenset({Service.HEATING})


@dataclass(frozen=True, slots=True)
class NoticeRules:
    """When notices are due and how often they may go.

    ``payment_reminder_days``: a debtor is reminded this many days before the due
    date of their open items (0: never). ``verification_days``: a meter's holder is
    invited to have it verified from this many days before its verification date
    until that date (0: never; at most :data:`MAX_VERIFICATION_DAYS`).
    """

    debt_threshold: Decimal | None = Decimal(1000)
    debt_months: Decimal | None = Decimal(1)
    disconnection: DisconnectionRules = field(default_factory=DisconnectionRules)
    reminder_days: AbstractSet[int] = frozenset({20})
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    caps: FrequencyCaps = field(default_factory=FrequencyCaps)
    payment_reminder_days: int = 3
    verification_days: int = 30

    def __post_init__(self) -> None:
        if self.payment_reminder_days < 0:
            raise SettingsError(
                "payment reminders go 0 (never) or more days before the due date",
                field="notices.payment_reminder_days",
                value=self.payment_reminder_days,
            )
        if not 0 <= self.verification_days <= MAX_VERIFICATION_DAYS:
            raise SettingsError(
                f"verification invitations go 0 (never) to {MAX_VERIFICATION_DAYS} days "
                "before the verification date",
                field="notices.verification_days",
                value=self.verification_days,
            )


def debt_notice_due(debt: Decimal, monthly_charge: Decimal, rules: NoticeRules) -> bool:
    """Whether ``debt`` calls for a notice: above the threshold, or above N months of charges."""
    if debt <= 0:
        return False
    if rules.debt_threshold is not None and debt > rules.debt_threshold:
        return True
    return (
        rules.debt_months is not None
        and monthly_charge > 0
        and debt > rules.debt_months * monthly_charge
    )


@dataclass(frozen=True, slots=True)
class ServiceDebt:
    """One service's debt and its usual monthly charge (the average of recent months)."""

    debt: Decimal
    monthly_charge: Decimal


def services_to_warn(
    debts: Mapping[Service, ServiceDebt], rules: DisconnectionRules
) -> tuple[Service, ...]:
    """The services that may be cut whose debt is above ``months_of_debt`` months of charges."""
    due = []
    for service, owed in debts.items():
        if service in rules.never_cut or owed.monthly_charge <= 0:
            continue
        if owed.debt > rules.months_of_debt * owed.monthly_charge:
            due.append(service)
    return tuple(sorted(due, key=lambda s: s.value))


def last_day_to_pay(delivered_at: datetime, tz: tzinfo, rules: DisconnectionRules) -> date:
    """The last local day the consumer may pay: ``days_to_pay`` days after the delivery day."""
    return _aware(delivered_at, "delivered_at").astimezone(tz).date() + timedelta(
        days=rules.days_to_pay
    )


def payment_deadline(delivered_at: datetime, tz: tzinfo, rules: DisconnectionRules) -> datetime:
    """The instant (UTC) the time to pay runs out: the end of :func:`last_day_to_pay`, local."""
    following = last_day_to_pay(delivered_at, tz, rules) + _DAY
    return datetime.combine(following, time(), tzinfo=tz).astimezone(UTC)


class DisconnectionStage(FastEnum):
    NONE = "none"  # nothing to do (no debt, or the service is never cut)
    AWAITING_DELIVERY = "awaiting_delivery"  # warned, no delivery receipt yet: no deadline
    WAITING_PAYMENT = "waiting_payment"  # the deadline has not passed
    RESTRICTION_DUE = "restriction_due"
    SUSPENSION_DUE = "suspension_due"


def disconnection_stage(
    service: Service,
    *,
    in_debt: bool,
    warning_delivered_at: datetime | None,
    warned: bool,
    restricted_at: datetime | None,
    now: datetime,
    tz: tzinfo,
    rules: DisconnectionRules,
) -> DisconnectionStage:
    """Where one service's disconnection procedure stands at ``now``.

    Restriction is due once the deadline counted from delivery has passed with
    the debt unpaid; suspension ``days_to_suspension`` days after restriction.
    """
    if service in rules.never_cut or not in_debt or not warned:
        return DisconnectionStage.NONE
    if warning_delivered_at is None:
        return DisconnectionStage.AWAITING_DELIVERY
    if now < payment_deadline(warning_delivered_at, tz, rules):
        return DisconnectionStage.WAITING_PAYMENT
    if restricted_at is not None and now >= restricted_at + timedelta(
        days=rules.days_to_suspension
    ):
        return DisconnectionStage.SUSPENSION_DUE
    return DisconnectionStage.RESTRICTION_DUE


def reading_reminder_due(
    today: date, last_reading_period: Period | None, rules: NoticeRules
) -> bool:
    """Whether ``today`` (local) is a reminder day and no reading has come for this month yet."""
    return today.day in rules.reminder_days and last_reading_period != Period.of(today)


def payment_reminder_due(
    today: date, debt: Decimal, due_date: date | None, rules: NoticeRules
) -> bool:
    """Whether ``today`` (local) is ``payment_reminder_days`` days before the due date
    of a positive debt."""
    days = rules.payment_reminder_days
    return (
        days > 0 and debt > 0 and due_date is not None and due_date - today == timedelta(days=days)
    )


class MeterVerification(NamedTuple):
    """A meter's next verification (поверка): the date by which it must be verified,
    or its readings stop counting."""

    serial: str
    service: Service
    due: date


def verification_due(today: date, due: date, rules: NoticeRules) -> bool:
    """Whether ``today`` (local) is within ``verification_days`` days before the
    verification date ``due``, that day included. A window, not one day: an invitation
    the caps or a missed run held goes on a later day of it (its key sends it once)."""
    days = rules.verification_days
    return days > 0 and timedelta(0) <= due - today <= timedelta(days=days)


def verification_period(verification: MeterVerification) -> str:
    """What an invitation is sent once per (its key's period): the meter and the date."""
    return f"{verification.serial}@{verification.due.isoformat()}"


class Hold(FastEnum):
    """Why a notice does not go at once."""

    NONE = "none"
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class NoticeDecision:
    """``send_at`` (UTC) is when the notice may go; None with ``hold=OPTED_OUT``: never."""

    send_at: datetime | None
    hold: Hold


def schedule_notice(
    kind: NoticeKind,
    *,
    now: datetime,
    tz: tzinfo,
    opted_out: bool,
    recent: Sequence[datetime] = (),
    rules: NoticeRules,
) -> NoticeDecision:
    """When a notice of ``kind`` may go to one phone.

    ``recent`` are the send times of that phone's capped notices (the last 30
    days are enough). STOP holds every notice but the legally required ones.
    """
    now = _aware(now, "now").astimezone(UTC)
    if opted_out and kind not in LEGALLY_REQUIRED:
        return NoticeDecision(None, Hold.OPTED_OUT)
    instant = now
    hold = Hold.NONE
    if kind in CAPPED:
        instant = rules.caps.next_allowed(now, recent)
        if instant > now:
            hold = Hold.FREQUENCY_CAP
    # Later instants only let capped sends age out, so one pass through the
    # quiet hours after the caps is enough.
    quiet_end = rules.quiet_hours.next_allowed(instant, tz)
    if quiet_end > instant and hold is Hold.NONE:
        hold = Hold.QUIET_HOURS
    return NoticeDecision(quiet_end, hold)


class DeliveryState(FastEnum):
    """A notice's fate as its delivery receipts tell it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """A notice as stored: its text, its SMPP message ids, the DLR state and delivery time.

    ``delivered_at`` (the DLR's done date) is the legal evidence a disconnection
    warning's deadline is counted from. ``key`` (see :func:`notice_key`) makes a
    notice planned by a notices run unique: planned again, it is the same notice.
    """

    kind: NoticeKind
    account_number: str
    msisdn: str
    text: str
    created_at: datetime
    send_at: datetime | None
    service: Service | None = None
    message_ids: tuple[str, ...] = ()
    state: DeliveryState = DeliveryState.PENDING
    delivered_at: datetime | None = None
    amount: Decimal = ZERO
    id: int | None = None
    key: str | None = None


def notice_period(kind: NoticeKind, local_day: date, due_date: date | None = None) -> str:
    """What a notice of ``kind`` is sent once per: the month (``YYYY-MM``), but a reading
    reminder is sent once per reminder day (``YYYY-MM-DD``): each day it is due is its own,
    and a payment reminder once per ``due_date`` (``YYYY-MM-DD``) it reminds of."""
    if kind is NoticeKind.PAYMENT_REMINDER:
        if due_date is None:
            raise ValueError("a payment reminder's period is its due date: none given")
        return due_date.isoformat()
    if kind is NoticeKind.READING_REMINDER:
        return local_day.isoformat()
    return str(Period.of(local_day))


def notice_key(
    kind: NoticeKind, account_number: str, service: Service | None, period: str, msisdn: str
) -> str:
    """The idempotency key of one notice to one phone: stored once, queued once."""
    return (
        f"notice:{kind.value}:{account_number}:{'-' if service is None else service.value}"
        f":{period}:{msisdn}"
    )
