"""Planning notices for one account: which are due, their texts, and when each may go.

Pure: the store loads a :class:`NoticeContext` (one query), :func:`plan_notices`
returns the :class:`~billing_core.notices.NoticeRecord` rows to store and send.
:func:`decide_notices` says the same for a notices run, with the reason for
every notice that does not go (and each going notice's idempotency key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from .model import Account, FastEnum, Language, Period, PhoneBinding, Service
from .notices import (
    CAP_COUNTED,
    CAPPED,
    Hold,
    MeterVerification,
    NoticeKind,
    NoticeRecord,
    NoticeRules,
    ServiceDebt,
    debt_notice_due,
    notice_key,
    notice_period,
    payment_reminder_due,
    reading_reminder_due,
    schedule_notice,
    services_to_warn,
    verification_due,
    verification_period,
)
from .payments import PaymentPosting
from .replies import (
    SERVICE_NAMES,
    ReplyKind,
    TextSizer,
    balance_text,
    day_text,
    example_text,
    render,
)
from .settings import UtilitySettings


@dataclass(frozen=True, slots=True)
class NoticeContext:
    """What :func:`plan_notices` needs about one account, loaded in one query.

    ``service_debts`` are each service's debt and usual monthly charge;
    ``monthly_charge`` the account's usual monthly total. ``warned_services``
    have a disconnection warning under way (not to be sent again).
    ``recent_capped`` holds, per MSISDN, the send times of its capped notices in
    the last 30 days. ``last_reading_period`` is the period of the account's
    latest accepted reading. ``stored_keys`` are the keys of the account's notices
    stored by notices runs lately (see :func:`~billing_core.notices.notice_key`).
    ``verifications`` are the next verification dates of the account's meters that
    have one (removed meters left out), in meter order.
    """

    settings: UtilitySettings
    account: Account
    bindings: tuple[PhoneBinding, ...]
    balance: Decimal
    due_date: date | None = None
    monthly_charge: Decimal = Decimal(0)
    service_debts: Mapping[Service, ServiceDebt] = field(default_factory=dict)
    warned_services: frozenset[Service] = frozenset()
    recent_capped: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)
    last_reading_period: Period | None = None
    stored_keys: frozenset[str] = frozenset()
    verifications: tuple[MeterVerification, ...] = ()

    @property
    def language(self) -> Language:
        return self.account.language or self.settings.language

    @property
    def zone(self) -> tzinfo:
        """The consumer's clock (quiet hours are theirs): the account's zone, else the utility's."""
        if self.account.time_zone:
            return ZoneInfo(self.account.time_zone)  # ZoneInfo caches its instances
        return self.settings.zone


def _records(
    context: NoticeContext,
    kind: NoticeKind,
    text: str,
    now: datetime,
    *,
    service: Service | None = None,
    amount: Decimal = Decimal(0),
) -> list[NoticeRecord]:
    settings = context.settings
    records = []
    for binding in context.bindings:
        decision = schedule_notice(
            kind,
            now=now,
            tz=context.zone,
            opted_out=binding.opted_out,
            recent=context.recent_capped.get(binding.msisdn, ()),
            rules=settings.notices,
        )
        if decision.hold is Hold.OPTED_OUT:
            continue
        records.append(
            NoticeRecord(
                kind,
                context.account.number,
                binding.msisdn,
                text,
                now,
                decision.send_at,
                service,
                amount=amount,
            )
        )
    return records


def _text(context: NoticeContext, kind: ReplyKind, sizer: TextSizer, **fields: str) -> str:
    """The notice's text in the account's language, its number filled in."""
    return render(kind, context.language, {"account": context.account.number, **fields}, sizer).text


def _money(context: NoticeContext, amount: Decimal) -> str:
    settings = context.settings
    return settings.money_format(amount, settings.rounding)


def _debt_text(context: NoticeContext, now: datetime, sizer: TextSizer) -> str:
    settings = context.settings
    # A debt without a dated open item (an opening balance) is due with this month's bills.
    due = context.due_date or Period.of(now.astimezone(settings.zone).date()).due_date(
        settings.due_day
    )
    return _text(
        context,
        ReplyKind.DEBT_NOTICE,
        sizer,
        money=_money(context, context.balance),
        due=day_text(due, context.language),
    )


def _warning_text(context: NoticeContext, service: Service, sizer: TextSizer) -> str:
    return _text(
        context,
        ReplyKind.DISCONNECTION_WARNING,
        sizer,
        money=_money(context, context.service_debts[service].debt),
        days=str(context.settings.notices.disconnection.days_to_pay),
        service=SERVICE_NAMES[context.language][service],
    )


def _reminder_text(context: NoticeContext, sizer: TextSizer) -> str:
    return _text(
        context,
        ReplyKind.READING_REMINDER,
        sizer,
        last=str(context.settings.reading_window.last_day),
        example=example_text(context.language, (), None),
    )


def _payment_reminder_text(context: NoticeContext, due: date, sizer: TextSizer) -> str:
    return _text(
        context,
        ReplyKind.PAYMENT_REMINDER,
        sizer,
        money=_money(context, context.balance),
        due=day_text(due, context.language),
    )


def _verification_text(
    context: NoticeContext, verification: MeterVerification, sizer: TextSizer
) -> str:
    return _text(
        context,
        ReplyKind.METER_VERIFICATION,
        sizer,
        meter=verification.serial,
        due=day_text(verification.due, context.language),
    )


def _verifications_due(context: NoticeContext, now: datetime) -> list[MeterVerification]:
    """The meters whose verification date is near in the consumer's local date."""
    today = now.astimezone(context.zone).date()
    rules = context.settings.notices
    return [v for v in context.verifications if verification_due(today, v.due, rules)]


def _payment_reminder_due(context: NoticeContext, now: datetime) -> date | None:
    """The due date a payment reminder is due for now, if one is: the consumer's local day
    ``payment_reminder_days`` before the due date of their debt's open items. An undated
    debt (an opening balance) has no day to remind of: its fallback moves with the month."""
    today = now.astimezone(context.zone).date()
    due = context.due_date
    if payment_reminder_due(today, context.balance, due, context.settings.notices):
        return due
    return None


def plan_notices(
    context: NoticeContext, now: datetime, *, sizer: TextSizer
) -> tuple[NoticeRecord, ...]:
    """The debt notice, disconnection warnings, reading and payment reminders and meter
    verification invitations due now, one per phone.

    Each carries its ``send_at`` (quiet hours and caps applied); phones that
    said STOP get only the legally required disconnection warnings. ``sizer``
    says how many SMS a text takes (each is the longest variant that fits one).
    """
    settings = context.settings
    rules = settings.notices
    planned: list[NoticeRecord] = []
    if context.account.closed:
        return ()
    if debt_notice_due(context.balance, context.monthly_charge, rules):
        text = _debt_text(context, now, sizer)
        planned += _records(context, NoticeKind.DEBT, text, now, amount=context.balance)
    for service in services_to_warn(context.service_debts, rules.disconnection):
        if service in context.warned_services:
            continue
        debt = context.service_debts[service].debt
        text = _warning_text(context, service, sizer)
        planned += _records(
            context, NoticeKind.DISCONNECTION_WARNING, text, now, service=service, amount=debt
        )
    today = now.astimezone(settings.zone).date()
    if reading_reminder_due(today, context.last_reading_period, rules):
        text = _reminder_text(context, sizer)
        planned += _records(context, NoticeKind.READING_REMINDER, text, now)
    due = _payment_reminder_due(context, now)
    if due is not None:
        text = _payment_reminder_text(context, due, sizer)
        sent = [(n.msisdn, n.send_at) for n in planned if n.kind in CAP_COUNTED]
        planned += _records(
            _with_sends(context, sent),
            NoticeKind.PAYMENT_REMINDER,
            text,
            now,
            amount=context.balance,
        )
    for verification in _verifications_due(context, now):
        text = _verification_text(context, verification, sizer)
        sent = [(n.msisdn, n.send_at) for n in planned if n.kind in CAP_COUNTED]
        planned += _records(
            _with_sends(context, sent),
            NoticeKind.METER_VERIFICATION,
            text,
            now,
            service=verification.service,
        )
    return tuple(planned)


def _with_sends(
    context: NoticeContext, sends: Sequence[tuple[str, datetime | None]]
) -> NoticeContext:
    """``context`` with ``sends`` (phone, send time) counted against the phones' caps:
    the notices decided for the account before a capped one."""
    recent = {msisdn: list(times) for msisdn, times in context.recent_capped.items()}
    for msisdn, at in sends:
        if at is not None:
            recent.setdefault(msisdn, []).append(at)
    return replace(context, recent_capped={m: tuple(t) for m, t in recent.items()})


#: The kinds a notices run plans for every account.
RUN_KINDS = (
    NoticeKind.DEBT,
    NoticeKind.DISCONNECTION_WARNING,
    NoticeKind.READING_REMINDER,
    NoticeKind.PAYMENT_REMINDER,
    NoticeKind.METER_VERIFICATION,
)


class NoticeReason(FastEnum):
    """Why a notice goes, waits or does not go (a notices run reports one per notice)."""

    QUEUED = "queued"  # goes now
    QUIET_HOURS = "quiet_hours"  # goes when the consumer's quiet hours end (``until``)
    BELOW_THRESHOLD = "below_threshold"  # no debt, or not enough of it
    # not a reminder day (or the due date or the meter verification date is not near)
    NOT_REMINDER_DAY = "not_reminder_day"
    READING_RECEIVED = "reading_received"  # this month's reading is in: no reminder
    OPTED_OUT = "opted_out"
    CAP_REACHED = "cap_reached"  # a later run sends it once the caps allow (``until``)
    ALREADY_WARNED = "already_warned"  # a disconnection procedure is under way
    ALREADY_SENT = "already_sent"  # stored before for this period (its key)
    CLOSED_ACCOUNT = "closed_account"
    NO_PHONE = "no_phone"  # due, but no phone is bound to the account


#: The reasons whose notice is stored and queued.
GOING: frozenset[NoticeReason] = frozenset({NoticeReason.QUEUED, NoticeReason.QUIET_HOURS})


@dataclass(frozen=True, slots=True)
class NoticeVerdict:
    """One notice of a run: ``kind`` to one phone of one account (``msisdn`` None when
    the reason concerns the account as a whole), and why it goes or not.

    ``notice`` is the record to store and queue (with its ``key``) when it goes;
    ``until`` is when it may go: the end of the quiet hours, or when the caps
    allow one more.
    """

    kind: NoticeKind
    account_number: str
    reason: NoticeReason
    msisdn: str | None = None
    service: Service | None = None
    notice: NoticeRecord | None = None
    until: datetime | None = None

    @property
    def goes(self) -> bool:
        return self.notice is not None


def _cap_free(rules: NoticeRules, at: datetime, recent: Sequence[datetime]) -> bool:
    """Whether one more capped notice at ``at`` keeps every window holding it within the
    caps, counting sends on both sides of it: a notice held by quiet hours is stored with
    a later send time, and one planned now must not join it over the caps."""
    caps = rules.caps
    for span, cap in (
        (timedelta(days=1), caps.per_day),
        (timedelta(days=7), caps.per_week),
        (timedelta(days=30), caps.per_month),
    ):
        if sum(1 for t in recent if abs(t - at) < span) >= cap:
            return False
    return True


def _verdicts_to_phones(  # noqa: PLR0917 - one notice's facts
    context: NoticeContext,
    kind: NoticeKind,
    text: str,
    now: datetime,
    period: str,
    service: Service | None = None,
    amount: Decimal = Decimal(0),
) -> list[NoticeVerdict]:
    number = context.account.number
    if not context.bindings:
        return [NoticeVerdict(kind, number, NoticeReason.NO_PHONE, service=service)]
    verdicts = []
    for binding in context.bindings:
        key = notice_key(kind, number, service, period, binding.msisdn)
        if key in context.stored_keys:
            verdicts.append(
                NoticeVerdict(kind, number, NoticeReason.ALREADY_SENT, binding.msisdn, service)
            )
            continue
        recent = context.recent_capped.get(binding.msisdn, ())
        decision = schedule_notice(
            kind,
            now=now,
            tz=context.zone,
            opted_out=binding.opted_out,
            recent=recent,
            rules=context.settings.notices,
        )
        verdict = NoticeVerdict(kind, number, NoticeReason.QUEUED, binding.msisdn, service)
        if decision.hold is Hold.OPTED_OUT:
            verdicts.append(replace(verdict, reason=NoticeReason.OPTED_OUT))
            continue
        if decision.hold is Hold.FREQUENCY_CAP or (
            kind in CAPPED
            and decision.send_at is not None
            and not _cap_free(context.settings.notices, decision.send_at, recent)
        ):
            # Not held in the queue for days: the debt may be paid by then. A later
            # run plans it again once the caps allow.
            verdicts.append(
                replace(verdict, reason=NoticeReason.CAP_REACHED, until=decision.send_at)
            )
            continue
        held = decision.hold is Hold.QUIET_HOURS
        record = NoticeRecord(
            kind,
            number,
            binding.msisdn,
            text,
            now,
            decision.send_at,
            service,
            amount=amount,
            key=key,
        )
        verdicts.append(
            replace(
                verdict,
                reason=NoticeReason.QUIET_HOURS if held else NoticeReason.QUEUED,
                notice=record,
                until=decision.send_at if held else None,
            )
        )
    return verdicts


def decide_notices(
    context: NoticeContext, now: datetime, *, sizer: TextSizer
) -> tuple[NoticeVerdict, ...]:
    """What a notices run does for one account: one verdict per kind of :data:`RUN_KINDS`
    and phone (per service for disconnection warnings), each with its reason.

    The notices that go are those :func:`plan_notices` plans, but a capped notice
    the caps hold is not planned for later (:attr:`NoticeReason.CAP_REACHED`), and
    a notice whose key is stored (``context.stored_keys``) is not planned again.
    """
    number = context.account.number
    if context.account.closed:
        return tuple(NoticeVerdict(k, number, NoticeReason.CLOSED_ACCOUNT) for k in RUN_KINDS)
    settings = context.settings
    rules = settings.notices
    today = now.astimezone(settings.zone).date()
    verdicts: list[NoticeVerdict] = []
    month = notice_period(NoticeKind.DEBT, today)
    if debt_notice_due(context.balance, context.monthly_charge, rules):
        verdicts += _verdicts_to_phones(
            context,
            NoticeKind.DEBT,
            _debt_text(context, now, sizer),
            now,
            month,
            amount=context.balance,
        )
    else:
        verdicts.append(NoticeVerdict(NoticeKind.DEBT, number, NoticeReason.BELOW_THRESHOLD))
    warn = NoticeKind.DISCONNECTION_WARNING
    due = services_to_warn(context.service_debts, rules.disconnection)
    if not due:
        verdicts.append(NoticeVerdict(warn, number, NoticeReason.BELOW_THRESHOLD))
    for service in due:
        if service in context.warned_services:
            verdicts.append(
                NoticeVerdict(warn, number, NoticeReason.ALREADY_WARNED, service=service)
            )
            continue
        verdicts += _verdicts_to_phones(
            context,
            warn,
            _warning_text(context, service, sizer),
            now,
            month,
            service,
            context.service_debts[service].debt,
        )
    remind = NoticeKind.READING_REMINDER
    if today.day not in rules.reminder_days:
        verdicts.append(NoticeVerdict(remind, number, NoticeReason.NOT_REMINDER_DAY))
    elif not reading_reminder_due(today, context.last_reading_period, rules):
        verdicts.append(NoticeVerdict(remind, number, NoticeReason.READING_RECEIVED))
    else:
        verdicts += _verdicts_to_phones(
            context, remind, _reminder_text(context, sizer), now, notice_period(remind, today)
        )
    verdicts += _payment_reminder_verdicts(context, now, sizer, verdicts)
    verdicts += _verification_verdicts(context, now, sizer, verdicts)
    return tuple(verdicts)


def _verification_verdicts(
    context: NoticeContext, now: datetime, sizer: TextSizer, decided: Sequence[NoticeVerdict]
) -> list[NoticeVerdict]:
    """One invitation per meter whose verification date is near, to each phone; capped,
    the account's notices going in this run counted against the phone's caps."""
    kind = NoticeKind.METER_VERIFICATION
    due = _verifications_due(context, now)
    if not due:
        return [NoticeVerdict(kind, context.account.number, NoticeReason.NOT_REMINDER_DAY)]
    verdicts: list[NoticeVerdict] = []
    for verification in due:
        sends = [
            (v.notice.msisdn, v.notice.send_at)
            for v in (*decided, *verdicts)
            if v.notice is not None and v.kind in CAP_COUNTED
        ]
        verdicts += _verdicts_to_phones(
            _with_sends(context, sends),
            kind,
            _verification_text(context, verification, sizer),
            now,
            verification_period(verification),
            verification.service,
        )
    return verdicts


def _payment_reminder_verdicts(
    context: NoticeContext, now: datetime, sizer: TextSizer, decided: Sequence[NoticeVerdict]
) -> list[NoticeVerdict]:
    kind = NoticeKind.PAYMENT_REMINDER
    number = context.account.number
    if context.balance <= 0:
        return [NoticeVerdict(kind, number, NoticeReason.BELOW_THRESHOLD)]
    due = _payment_reminder_due(context, now)
    if due is None:
        return [NoticeVerdict(kind, number, NoticeReason.NOT_REMINDER_DAY)]
    # Capped: the account's notices going in this run count against the phone's caps.
    sends = [
        (v.notice.msisdn, v.notice.send_at)
        for v in decided
        if v.notice is not None and v.kind in CAP_COUNTED
    ]
    return _verdicts_to_phones(
        _with_sends(context, sends),
        kind,
        _payment_reminder_text(context, due, sizer),
        now,
        notice_period(kind, now.astimezone(context.zone).date(), due),
        amount=context.balance,
    )


def payment_confirmations(
    context: NoticeContext, posting: PaymentPosting, now: datetime, *, sizer: TextSizer
) -> tuple[NoticeRecord, ...]:
    """The payment confirmation, with the new balance, for each phone of the account."""
    settings = context.settings
    language = context.language
    due = posting.ledger.oldest_due_date()
    text = render(
        ReplyKind.PAYMENT_CONFIRMATION,
        language,
        {
            "account": context.account.number,
            "paid": settings.money_format(posting.payment.amount, settings.rounding),
            "balance": balance_text(
                language,
                posting.balance_after,
                due,
                settings.money_format,
                settings.rounding,
            ),
        },
        sizer,
    ).text
    return tuple(
        _records(
            context,
            NoticeKind.PAYMENT_CONFIRMATION,
            text,
            now,
            amount=posting.payment.amount,
        )
    )
