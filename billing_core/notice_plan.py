"""Planning notices for one account: which are due, their texts, and when each may go.

Pure: the store loads a :class:`NoticeContext` (one query), :func:`plan_notices`
returns the :class:`~billing_core.notices.NoticeRecord` rows to store and send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from .model import Account, Language, Period, PhoneBinding, Service
from .notices import (
    Hold,
    NoticeKind,
    NoticeRecord,
    ServiceDebt,
    debt_notice_due,
    reading_reminder_due,
    schedule_notice,
    services_to_warn,
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
    latest accepted reading.
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


def plan_notices(
    context: NoticeContext, now: datetime, *, sizer: TextSizer
) -> tuple[NoticeRecord, ...]:
    """The debt notice, disconnection warnings and reading reminder due now, one per phone.

    Each carries its ``send_at`` (quiet hours and caps applied); phones that
    said STOP get only the legally required disconnection warnings. ``sizer``
    says how many SMS a text takes (each is the longest variant that fits one).
    """
    settings = context.settings
    rules = settings.notices
    language = context.language
    number = context.account.number
    money = settings.money_format
    planned: list[NoticeRecord] = []
    if context.account.closed:
        return ()
    if debt_notice_due(context.balance, context.monthly_charge, rules):
        # A debt without a dated open item (an opening balance) is due with this month's bills.
        due = context.due_date or Period.of(now.astimezone(settings.zone).date()).due_date(
            settings.due_day
        )
        text = render(
            ReplyKind.DEBT_NOTICE,
            language,
            {
                "account": number,
                "money": money(context.balance, settings.rounding),
                "due": day_text(due, language),
            },
            sizer,
        ).text
        planned += _records(context, NoticeKind.DEBT, text, now, amount=context.balance)
    for service in services_to_warn(context.service_debts, rules.disconnection):
        if service in context.warned_services:
            continue
        debt = context.service_debts[service].debt
        text = render(
            ReplyKind.DISCONNECTION_WARNING,
            language,
            {
                "account": number,
                "money": money(debt, settings.rounding),
                "days": str(rules.disconnection.days_to_pay),
                "service": SERVICE_NAMES[language][service],
            },
            sizer,
        ).text
        planned += _records(
            context, NoticeKind.DISCONNECTION_WARNING, text, now, service=service, amount=debt
        )
    today = now.astimezone(settings.zone).date()
    if reading_reminder_due(today, context.last_reading_period, rules):
        text = render(
            ReplyKind.READING_REMINDER,
            language,
            {
                "account": number,
                "last": str(settings.reading_window.last_day),
                "example": example_text(language, (), None),
            },
            sizer,
        ).text
        planned += _records(context, NoticeKind.READING_REMINDER, text, now)
    return tuple(planned)


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
