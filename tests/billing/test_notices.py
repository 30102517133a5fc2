"""Notice rules: quiet hours, caps, STOP and the law, disconnection deadlines, planning."""
# ruff: noqa: RUF001 - Russian notice texts are test data

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing_core import (
    CAP_COUNTED,
    CAPPED,
    LEGALLY_REQUIRED,
    MAX_VERIFICATION_DAYS,
    Account,
    DisconnectionRules,
    DisconnectionStage,
    FrequencyCaps,
    Hold,
    Ledger,
    MeterVerification,
    NoticeContext,
    NoticeKind,
    NoticeRules,
    Payment,
    Period,
    PhoneBinding,
    QuietHours,
    Service,
    ServiceDebt,
    SettingsError,
    debt_notice_due,
    disconnection_stage,
    last_day_to_pay,
    notice_period,
    payment_confirmations,
    payment_deadline,
    payment_reminder_due,
    plan_notices,
    post_payment,
    reading_reminder_due,
    schedule_notice,
    services_to_warn,
    verification_due,
    verification_period,
)
from smpp_engine.protocol.segmentation import plan_text

from .builders import SIZER
from .builders import settings as utility

D = Decimal
MOSCOW = ZoneInfo("Europe/Moscow")
RULES = NoticeRules()


def moscow(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MOSCOW)


WEDNESDAY, FRIDAY, SATURDAY, SUNDAY, MONDAY = (
    date(2024, 3, 20),
    date(2024, 3, 22),
    date(2024, 3, 23),
    date(2024, 3, 24),
    date(2024, 3, 25),
)


# -- quiet hours ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (moscow(WEDNESDAY, 12), moscow(WEDNESDAY, 12)),
        (moscow(WEDNESDAY, 21, 59), moscow(WEDNESDAY, 21, 59)),
        (moscow(WEDNESDAY, 22), moscow(WEDNESDAY + timedelta(days=1), 8)),  # 22:00 sharp is quiet
        (moscow(WEDNESDAY, 3), moscow(WEDNESDAY, 8)),
        (moscow(WEDNESDAY, 8), moscow(WEDNESDAY, 8)),  # 08:00 sharp is allowed
        (moscow(FRIDAY, 23), moscow(SATURDAY, 8)),  # Friday night is a working night
        (moscow(SATURDAY, 19, 30), moscow(SATURDAY, 19, 30)),
        (moscow(SATURDAY, 20), moscow(SUNDAY, 9)),  # weekend: 20:00-09:00
        (moscow(SUNDAY, 21), moscow(MONDAY, 9)),
        (moscow(MONDAY, 8, 30), moscow(MONDAY, 9)),  # still Sunday's night
    ],
)
def test_quiet_hours_on_the_consumers_clock(now: datetime, allowed: datetime) -> None:
    assert QuietHours().next_allowed(now, MOSCOW) == allowed.astimezone(UTC)


def test_quiet_hours_follow_the_consumers_zone() -> None:
    # 12:00 in Moscow is 19:00 in Vladivostok: fine; 16:00 Moscow is 23:00 there.
    vladivostok = ZoneInfo("Asia/Vladivostok")
    noon = moscow(WEDNESDAY, 12)
    assert QuietHours().next_allowed(noon, vladivostok) == noon
    late = moscow(WEDNESDAY, 16)
    expected = datetime.combine(WEDNESDAY + timedelta(days=1), time(8), tzinfo=vladivostok)
    assert QuietHours().next_allowed(late, vladivostok) == expected


def test_no_quiet_hours() -> None:
    night = moscow(WEDNESDAY, 3)
    assert QuietHours(None, None).next_allowed(night, MOSCOW) == night


# -- caps ------------------------------------------------------------------------


def test_at_most_two_debt_notices_a_day() -> None:
    now = moscow(WEDNESDAY, 12)
    sent = [now - timedelta(hours=5), now - timedelta(hours=1)]
    assert FrequencyCaps().next_allowed(now, sent) == sent[0] + timedelta(days=1)
    assert FrequencyCaps().next_allowed(now, sent[1:]) == now


def test_at_most_four_a_week_and_sixteen_a_month() -> None:
    now = moscow(WEDNESDAY, 12)
    week = [now - timedelta(days=d) for d in (6, 5, 3, 2)]
    assert FrequencyCaps().next_allowed(now, week) == week[0] + timedelta(days=7)
    month = [
        now - timedelta(days=d, hours=1) for d in range(29, 13, -1)
    ]  # 16, none in the last week
    assert FrequencyCaps(per_week=100).next_allowed(now, month) == month[0] + timedelta(days=30)


def test_a_capped_notice_also_waits_for_the_quiet_hours_to_end() -> None:
    now = moscow(WEDNESDAY, 12)
    sent = [
        moscow(WEDNESDAY - timedelta(days=1), 23, 30) - timedelta(hours=1),
        now - timedelta(hours=1),
    ]
    decision = schedule_notice(
        NoticeKind.DEBT, now=now, tz=MOSCOW, opted_out=False, recent=sent, rules=RULES
    )
    # The cap frees a slot at 22:30 tonight, which is quiet: the notice goes at 08:00.
    assert decision.hold is Hold.FREQUENCY_CAP
    assert decision.send_at == moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)


# -- STOP and the law --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (NoticeKind.DEBT, False),
        (NoticeKind.READING_REMINDER, False),
        (NoticeKind.PAYMENT_REMINDER, False),  # a reminder, not a notice the law requires
        (NoticeKind.PAYMENT_CONFIRMATION, False),
        (NoticeKind.DISCONNECTION_WARNING, True),
        (NoticeKind.RESTRICTION, True),
    ],
)
def test_stop_never_silences_a_legally_required_notice(kind: NoticeKind, sent: bool) -> None:
    decision = schedule_notice(
        kind, now=moscow(WEDNESDAY, 12), tz=MOSCOW, opted_out=True, rules=RULES
    )
    assert (decision.send_at is not None) is sent
    assert (decision.hold is Hold.OPTED_OUT) is not sent


def test_legal_notices_wait_for_quiet_hours_but_not_for_caps() -> None:
    now = moscow(WEDNESDAY, 23)
    many = [now - timedelta(minutes=m) for m in range(1, 10)]
    decision = schedule_notice(
        NoticeKind.DISCONNECTION_WARNING,
        now=now,
        tz=MOSCOW,
        opted_out=False,
        recent=many,
        rules=RULES,
    )
    assert decision.hold is Hold.QUIET_HOURS
    assert decision.send_at == moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)


# -- when notices are due ------------------------------------------------------------


def test_debt_notice_above_a_threshold_or_n_months_of_charges() -> None:
    rules = NoticeRules(debt_threshold=D(5000), debt_months=D(2))
    assert debt_notice_due(D("5000.01"), D(0), rules)
    assert not debt_notice_due(D(5000), D(3000), rules)
    assert debt_notice_due(D("2000.01"), D(1000), rules)
    assert not debt_notice_due(D(-100), D(10), rules)


def test_disconnection_warning_above_two_months_of_one_service_never_for_heating() -> None:
    debts = {
        Service.ELECTRICITY: ServiceDebt(D("2000.01"), D(1000)),
        Service.COLD_WATER: ServiceDebt(D("1999.99"), D(1000)),
        Service.HEATING: ServiceDebt(D(90000), D(3000)),
    }
    assert services_to_warn(debts, DisconnectionRules()) == (Service.ELECTRICITY,)


def test_the_deadline_counts_20_days_from_delivery() -> None:
    delivered = moscow(WEDNESDAY, 10, 15).astimezone(UTC)
    rules = DisconnectionRules()
    assert last_day_to_pay(delivered, MOSCOW, rules) == date(2024, 4, 9)
    assert payment_deadline(delivered, MOSCOW, rules) == moscow(date(2024, 4, 10), 0).astimezone(
        UTC
    )


def test_the_disconnection_stages() -> None:
    rules = DisconnectionRules()
    delivered = moscow(WEDNESDAY, 10).astimezone(UTC)
    deadline = payment_deadline(delivered, MOSCOW, rules)

    def stage(**kwargs: object) -> DisconnectionStage:
        options: dict[str, object] = {
            "in_debt": True,
            "warned": True,
            "warning_delivered_at": delivered,
            "restricted_at": None,
            "now": deadline,
            "tz": MOSCOW,
            "rules": rules,
        }
        options.update(kwargs)
        return disconnection_stage(Service.ELECTRICITY, **options)  # type: ignore[arg-type]

    assert (
        stage(warning_delivered_at=None) is DisconnectionStage.AWAITING_DELIVERY
    )  # no DLR: no deadline
    assert stage(now=deadline - timedelta(seconds=1)) is DisconnectionStage.WAITING_PAYMENT
    assert stage() is DisconnectionStage.RESTRICTION_DUE
    restricted = deadline + timedelta(days=1)
    assert (
        stage(restricted_at=restricted, now=restricted + timedelta(days=9))
        is DisconnectionStage.RESTRICTION_DUE
    )
    assert (
        stage(restricted_at=restricted, now=restricted + timedelta(days=10))
        is DisconnectionStage.SUSPENSION_DUE
    )
    assert stage(in_debt=False) is DisconnectionStage.NONE
    assert stage(warned=False) is DisconnectionStage.NONE
    heating = disconnection_stage(
        Service.HEATING, in_debt=True, warned=True, warning_delivered_at=delivered,
        restricted_at=None, now=deadline, tz=MOSCOW, rules=rules,
    )  # fmt: skip
    assert heating is DisconnectionStage.NONE


def test_payment_reminder_exactly_the_rules_days_before_the_due_date_of_a_debt() -> None:
    today = date(2024, 3, 20)
    assert RULES.payment_reminder_days == 3
    assert payment_reminder_due(today, D(1), date(2024, 3, 23), RULES)
    for due in (date(2024, 3, 22), date(2024, 3, 24), today, date(2024, 3, 17), None):
        assert not payment_reminder_due(today, D(1), due, RULES), due
    assert not payment_reminder_due(today, D(0), date(2024, 3, 23), RULES)
    assert not payment_reminder_due(today, D(-5), date(2024, 3, 23), RULES)  # an advance
    off = NoticeRules(payment_reminder_days=0)
    assert not payment_reminder_due(today, D(1), today, off)
    week = NoticeRules(payment_reminder_days=7)
    assert payment_reminder_due(date(2024, 2, 26), D(1), date(2024, 3, 4), week)  # leap month


def test_payment_reminder_days_are_never_negative() -> None:
    with pytest.raises(SettingsError) as raised:
        NoticeRules(payment_reminder_days=-1)
    assert raised.value.field == "notices.payment_reminder_days"


def test_a_payment_reminder_is_sent_once_per_due_date() -> None:
    kind = NoticeKind.PAYMENT_REMINDER
    assert notice_period(kind, date(2024, 3, 20), date(2024, 3, 23)) == "2024-03-23"
    with pytest.raises(ValueError, match="due date"):
        notice_period(kind, date(2024, 3, 20))
    assert notice_period(NoticeKind.DEBT, date(2024, 3, 20), date(2024, 3, 23)) == "2024-03"


def test_reading_reminder_on_the_calendar_day_without_a_reading() -> None:
    assert reading_reminder_due(date(2024, 3, 20), Period(2024, 2), RULES)
    assert reading_reminder_due(date(2024, 3, 20), None, RULES)
    assert not reading_reminder_due(date(2024, 3, 20), Period(2024, 3), RULES)
    assert not reading_reminder_due(date(2024, 3, 19), Period(2024, 2), RULES)


# -- planning ------------------------------------------------------------------------


def notice_context(**overrides: object) -> NoticeContext:
    values: dict[str, object] = {
        "settings": utility(),
        "account": Account("1234567890"),
        "bindings": (
            PhoneBinding("79160000001", "1234567890"),
            PhoneBinding("79160000002", "1234567890", True),
        ),
        "balance": D("2500.00"),
        "due_date": date(2024, 4, 15),
        "monthly_charge": D(1000),
        "service_debts": {Service.ELECTRICITY: ServiceDebt(D("2500.00"), D(1000))},
        "last_reading_period": Period(2024, 2),
    }
    values.update(overrides)
    return NoticeContext(**values)  # type: ignore[arg-type]


def test_plan_notices_for_a_debtor() -> None:
    now = moscow(WEDNESDAY, 12).astimezone(UTC)
    planned = plan_notices(notice_context(), now, sizer=SIZER)
    kinds = sorted((n.kind.value, n.msisdn) for n in planned)
    assert kinds == [
        ("debt", "79160000001"),
        ("disconnection_warning", "79160000001"),
        ("disconnection_warning", "79160000002"),  # opted out, but the law requires it
        ("reading_reminder", "79160000001"),
    ]
    texts = {n.kind: n.text for n in planned}
    assert texts[NoticeKind.DEBT] == "ЛС1234567890: долг 2500,00 р. Оплатите до 15.04"
    # With the account it would be 80 characters: the shorter variant goes.
    assert texts[NoticeKind.DISCONNECTION_WARNING] == (
        "Долг 2500,00 р. Не оплатите за 20 дн. - электроснабжение ограничат"
    )
    for notice in planned:
        assert plan_text(notice.text).parts == 1
        assert notice.send_at == now
    warning = next(n for n in planned if n.kind is NoticeKind.DISCONNECTION_WARNING)
    assert warning.service is Service.ELECTRICITY
    assert warning.amount == D("2500.00")


def test_a_warned_service_is_not_warned_again_and_notices_wait_for_morning() -> None:
    night = moscow(WEDNESDAY, 23).astimezone(UTC)
    planned = plan_notices(
        notice_context(warned_services=frozenset({Service.ELECTRICITY})), night, sizer=SIZER
    )
    assert {n.kind for n in planned} == {NoticeKind.DEBT, NoticeKind.READING_REMINDER}
    assert {n.send_at for n in planned} == {
        moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)
    }


def test_payment_confirmation_carries_the_new_balance() -> None:
    ledger = Ledger.opening(D("2500.00"), Period(2024, 2), date(2024, 3, 15))
    posting = post_payment(ledger, Payment("1234567890", D("1000.00"), date(2024, 3, 20), "bank-7"))
    notices = payment_confirmations(
        notice_context(), posting, moscow(WEDNESDAY, 12).astimezone(UTC), sizer=SIZER
    )
    assert [n.msisdn for n in notices] == ["79160000001"]  # the other phone said STOP
    assert notices[0].text == "ЛС1234567890: оплата 1000,00 р получена. Долг 1500,00 р до 15.03"
    assert notices[0].amount == D("1000.00")


def test_quiet_hours_are_read_on_the_account_clock() -> None:
    # 16:00 in Moscow is 23:00 in Vladivostok, where this consumer lives.
    far_east = notice_context(account=Account("1234567890", time_zone="Asia/Vladivostok"))
    planned = plan_notices(far_east, moscow(WEDNESDAY, 16).astimezone(UTC), sizer=SIZER)
    vladivostok = ZoneInfo("Asia/Vladivostok")
    expected = datetime.combine(WEDNESDAY + timedelta(days=1), time(8), tzinfo=vladivostok)
    assert {n.send_at for n in planned} == {expected.astimezone(UTC)}


def test_a_debt_without_a_due_date_is_due_with_this_months_bills() -> None:
    planned = plan_notices(
        notice_context(due_date=None), moscow(WEDNESDAY, 12).astimezone(UTC), sizer=SIZER
    )
    debt = next(n for n in planned if n.kind is NoticeKind.DEBT)
    assert debt.text.endswith("Оплатите до 15.04")


def test_verification_invitations_are_capped_reminders_the_law_does_not_require() -> None:
    kind = NoticeKind.METER_VERIFICATION
    assert kind in CAPPED and kind in CAP_COUNTED and kind not in LEGALLY_REQUIRED


def test_a_verification_is_near_from_the_rules_days_before_its_date_to_the_date() -> None:
    due = date(2024, 4, 19)
    assert RULES.verification_days == 30
    assert verification_due(date(2024, 3, 20), due, RULES)
    assert verification_due(due, due, RULES)
    assert not verification_due(date(2024, 3, 19), due, RULES)
    assert not verification_due(date(2024, 4, 20), due, RULES)
    assert not verification_due(due, due, NoticeRules(verification_days=0))
    assert verification_period(MeterVerification("W-7", Service.COLD_WATER, due)) == (
        "W-7@2024-04-19"
    )


@pytest.mark.parametrize("days", [-1, MAX_VERIFICATION_DAYS + 1])
def test_verification_days_are_0_to_the_most_the_stored_keys_cover(days: int) -> None:
    with pytest.raises(SettingsError) as raised:
        NoticeRules(verification_days=days)
    assert raised.value.field == "notices.verification_days"
    assert NoticeRules(verification_days=MAX_VERIFICATION_DAYS).verification_days == 60
