"""A notices run's verdicts: every notice in or out, and why; caps across runs."""
# ruff: noqa: RUF001 - Russian notice texts are test data

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import (
    CAPPED,
    Account,
    FrequencyCaps,
    MeterVerification,
    NoticeContext,
    NoticeKind,
    NoticeReason,
    NoticeVerdict,
    Period,
    PhoneBinding,
    Service,
    ServiceDebt,
    UtilitySettings,
    decide_notices,
    notice_key,
    plan_notices,
)

from .builders import SIZER
from .builders import settings as utility
from .test_notices import WEDNESDAY, D, moscow, notice_context

NOON = moscow(WEDNESDAY, 12).astimezone(UTC)  # the 20th: a reminder day


def _reasons(verdicts: tuple[NoticeVerdict, ...]) -> list[tuple[str, str | None, str]]:
    return sorted((v.kind.value, v.msisdn, v.reason.value) for v in verdicts)


def test_a_debtor_gets_what_plan_notices_plans_and_every_other_notice_says_why() -> None:
    context = notice_context()
    verdicts = decide_notices(context, NOON, sizer=SIZER)
    assert _reasons(verdicts) == [
        ("debt", "79160000001", "queued"),
        ("debt", "79160000002", "opted_out"),
        ("disconnection_warning", "79160000001", "queued"),
        ("disconnection_warning", "79160000002", "queued"),  # the law requires it
        ("meter_verification", None, "not_reminder_day"),  # no meter has a date near
        ("payment_reminder", None, "not_reminder_day"),  # due 15.04: not 3 days ahead
        ("reading_reminder", "79160000001", "queued"),
        ("reading_reminder", "79160000002", "opted_out"),
    ]
    going = sorted(
        (v.notice.kind.value, v.notice.msisdn, v.notice.text) for v in verdicts if v.notice
    )
    planned = sorted(
        (n.kind.value, n.msisdn, n.text) for n in plan_notices(context, NOON, sizer=SIZER)
    )
    assert going == planned
    debt = next(v.notice for v in verdicts if v.notice and v.kind is NoticeKind.DEBT)
    assert debt.key == "notice:debt:1234567890:-:2024-03:79160000001"
    reminder = next(
        v.notice for v in verdicts if v.notice and v.kind is NoticeKind.READING_REMINDER
    )
    assert reminder.key == "notice:reading_reminder:1234567890:-:2024-03-20:79160000001"


def test_reasons_for_notices_that_do_not_go() -> None:
    quiet = notice_context(
        balance=D(10),
        service_debts={Service.ELECTRICITY: ServiceDebt(D(10), D(1000))},
        last_reading_period=None,
    )
    assert {v.reason for v in decide_notices(quiet, NOON + timedelta(days=1), sizer=SIZER)} == {
        NoticeReason.BELOW_THRESHOLD,
        NoticeReason.NOT_REMINDER_DAY,
    }
    read = replace(quiet, last_reading_period=Period(2024, 3))
    remind = [
        v for v in decide_notices(read, NOON, sizer=SIZER) if v.kind is NoticeKind.READING_REMINDER
    ]
    assert [v.reason for v in remind] == [NoticeReason.READING_RECEIVED]
    closed = notice_context(account=Account("1234567890", closed=True))
    assert {v.reason for v in decide_notices(closed, NOON, sizer=SIZER)} == {
        NoticeReason.CLOSED_ACCOUNT
    }
    # A payment reminder and a meter verification invitation are due too.
    near = (MeterVerification("E-1", Service.ELECTRICITY, date(2024, 4, 1)),)
    alone = notice_context(bindings=(), due_date=date(2024, 3, 23), verifications=near)
    assert {v.reason for v in decide_notices(alone, NOON, sizer=SIZER)} == {NoticeReason.NO_PHONE}
    warned = notice_context(warned_services=frozenset({Service.ELECTRICITY}))
    assert NoticeReason.ALREADY_WARNED in {
        v.reason for v in decide_notices(warned, NOON, sizer=SIZER)
    }
    sent = notice_context(
        stored_keys=frozenset(
            {notice_key(NoticeKind.DEBT, "1234567890", None, "2024-03", "79160000001")}
        )
    )
    debt = [v for v in decide_notices(sent, NOON, sizer=SIZER) if v.kind is NoticeKind.DEBT]
    assert [(v.msisdn, v.reason) for v in debt] == [
        ("79160000001", NoticeReason.ALREADY_SENT),
        ("79160000002", NoticeReason.OPTED_OUT),
    ]


def test_quiet_hours_hold_a_notice_until_morning_and_caps_skip_it() -> None:
    night = moscow(WEDNESDAY, 23).astimezone(UTC)
    verdicts = decide_notices(notice_context(), night, sizer=SIZER)
    debt = next(v for v in verdicts if v.kind is NoticeKind.DEBT and v.notice)
    morning = moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)
    assert (debt.reason, debt.until, debt.notice.send_at) == (  # type: ignore[union-attr]
        NoticeReason.QUIET_HOURS,
        morning,
        morning,
    )
    busy = notice_context(recent_capped={"79160000001": (NOON - timedelta(hours=1),) * 2})
    debt = next(
        v
        for v in decide_notices(busy, NOON, sizer=SIZER)
        if v.kind is NoticeKind.DEBT and v.msisdn == "79160000001"
    )
    assert debt.reason is NoticeReason.CAP_REACHED and debt.notice is None
    assert debt.until == NOON + timedelta(hours=23)


def test_a_send_held_for_the_morning_counts_against_the_caps_of_the_evening() -> None:
    # A notice stored for 08:00 is in the 24 hours of one planned at 23:00 for 08:00.
    night = moscow(WEDNESDAY, 23).astimezone(UTC)
    morning = moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)
    context = notice_context(
        settings=_caps(FrequencyCaps(1, 4, 16)), recent_capped={"79160000001": (morning,)}
    )
    debt = next(
        v
        for v in decide_notices(context, night, sizer=SIZER)
        if v.kind is NoticeKind.DEBT and v.msisdn == "79160000001"
    )
    assert debt.reason is NoticeReason.CAP_REACHED


@settings(max_examples=60, deadline=None)
@given(
    caps=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 20)),
    accounts=st.integers(1, 4),
    runs=st.lists(st.integers(0, 60 * 24 * 40), min_size=1, max_size=25),
)
def test_caps_are_never_exceeded_over_a_sequence_of_runs(
    caps: tuple[int, int, int], accounts: int, runs: list[int]
) -> None:
    """Accounts sharing one phone, each owing every month, runs at random minutes over
    forty days (over the 12th of April: a payment reminder's day): each rolling day, week
    and 30 days holds at most its cap of capped notices (debt notices, payment reminders)."""
    day, week, month = caps
    rules_settings = _caps(FrequencyCaps(day, max(day, week), max(day, week, month)))
    phone = "79160000001"
    start = datetime(2024, 3, 1, tzinfo=UTC)
    sent: list[datetime] = []
    stored: set[str] = set()
    for minute in sorted(runs):
        now = start + timedelta(minutes=minute)
        for n in range(accounts):
            context = notice_context(
                settings=rules_settings,
                account=Account(f"10000{n}"),
                bindings=(PhoneBinding(phone, f"10000{n}"),),
                service_debts={},
                recent_capped={phone: tuple(sent)},
                stored_keys=frozenset(stored),
            )
            for v in decide_notices(context, now, sizer=SIZER):
                if v.notice is not None and v.kind in CAPPED:
                    assert v.notice.key is not None and v.notice.send_at is not None
                    stored.add(v.notice.key)
                    sent.append(v.notice.send_at)
    limits = rules_settings.notices.caps
    times = sorted(sent)
    for span, cap in (
        (timedelta(days=1), limits.per_day),
        (timedelta(days=7), limits.per_week),
        (timedelta(days=30), limits.per_month),
    ):
        for first in times:
            assert sum(1 for t in times if first <= t < first + span) <= cap


def _caps(caps: FrequencyCaps) -> UtilitySettings:
    base = utility()
    return replace(base, notices=replace(base.notices, caps=caps))


# -- Payment reminders ----------------------------------------------------------------

DUE = date(2024, 3, 23)  # three days after NOON's day (the 20th)


def _owing(**overrides: object) -> NoticeContext:
    """Owes 500 (below the debt notice's threshold), read this month, due on ``DUE``."""
    values: dict[str, object] = {
        "balance": D("500.00"),
        "due_date": DUE,
        "service_debts": {Service.ELECTRICITY: ServiceDebt(D("500.00"), D(1000))},
        "last_reading_period": Period(2024, 3),
    }
    values.update(overrides)
    return notice_context(**values)


def _payment_reminders(context: NoticeContext, now: datetime = NOON) -> list[NoticeVerdict]:
    return [
        v
        for v in decide_notices(context, now, sizer=SIZER)
        if v.kind is NoticeKind.PAYMENT_REMINDER
    ]


def test_a_payment_reminder_goes_n_days_before_the_due_date_but_not_to_a_stopped_phone() -> None:
    context = _owing()
    verdicts = decide_notices(context, NOON, sizer=SIZER)
    assert _reasons(verdicts) == [
        ("debt", None, "below_threshold"),
        ("disconnection_warning", None, "below_threshold"),
        ("meter_verification", None, "not_reminder_day"),
        ("payment_reminder", "79160000001", "queued"),
        ("payment_reminder", "79160000002", "opted_out"),  # not a notice the law requires
        ("reading_reminder", None, "reading_received"),
    ]
    (reminder,) = [v.notice for v in verdicts if v.notice]
    assert reminder.key == "notice:payment_reminder:1234567890:-:2024-03-23:79160000001"
    assert reminder.text == "ЛС1234567890: напоминаем, оплатите 500,00 р до 23.03"
    assert (reminder.amount, reminder.send_at) == (D("500.00"), NOON)
    planned = plan_notices(context, NOON, sizer=SIZER)
    assert [(n.kind, n.msisdn, n.text) for n in planned] == [
        (reminder.kind, reminder.msisdn, reminder.text)
    ]


def test_no_payment_reminder_a_day_early_or_late_without_debt_or_when_off() -> None:
    # None: an undated debt (an opening balance) has no due date to remind of.
    for due in (DUE - timedelta(days=1), DUE + timedelta(days=1), None):
        assert [v.reason for v in _payment_reminders(_owing(due_date=due))] == [
            NoticeReason.NOT_REMINDER_DAY
        ], due
    for balance in (D(0), D(-100)):
        assert [v.reason for v in _payment_reminders(_owing(balance=balance))] == [
            NoticeReason.BELOW_THRESHOLD
        ]
    base = utility()
    off = replace(base, notices=replace(base.notices, payment_reminder_days=0))
    assert [v.reason for v in _payment_reminders(_owing(settings=off))] == [
        NoticeReason.NOT_REMINDER_DAY
    ]
    week = replace(base, notices=replace(base.notices, payment_reminder_days=7))
    early = _payment_reminders(_owing(settings=week, due_date=DUE + timedelta(days=4)))
    assert [v.reason for v in early] == [NoticeReason.QUEUED, NoticeReason.OPTED_OUT]
    closed = _owing(account=Account("1234567890", closed=True))
    assert [v.reason for v in _payment_reminders(closed)] == [NoticeReason.CLOSED_ACCOUNT]


def test_a_payment_reminder_is_sent_once_per_due_date() -> None:
    first = [v.notice.key for v in _payment_reminders(_owing()) if v.notice and v.notice.key]
    again = _payment_reminders(_owing(stored_keys=frozenset(first)), NOON + timedelta(hours=4))
    assert [(v.msisdn, v.reason) for v in again] == [
        ("79160000001", NoticeReason.ALREADY_SENT),
        ("79160000002", NoticeReason.OPTED_OUT),
    ]


def test_a_payment_reminder_waits_for_the_morning_and_the_consumers_own_date() -> None:
    night = moscow(WEDNESDAY, 23).astimezone(UTC)
    (held, _) = _payment_reminders(_owing(), night)
    morning = moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)
    assert (held.reason, held.until) == (NoticeReason.QUIET_HOURS, morning)
    # 20:00 UTC on the 20th is the 21st in Vladivostok: its due date three days on is the 24th.
    evening = datetime(2024, 3, 20, 20, tzinfo=UTC)
    far = Account("1234567890", time_zone="Asia/Vladivostok")
    (far_east, _) = _payment_reminders(_owing(account=far, due_date=date(2024, 3, 24)), evening)
    assert far_east.reason is NoticeReason.QUIET_HOURS  # 06:00 there
    assert [v.reason for v in _payment_reminders(_owing(account=far), evening)] == [
        NoticeReason.NOT_REMINDER_DAY
    ]


def test_caps_hold_a_payment_reminder_counting_the_accounts_other_notices() -> None:
    busy = _owing(recent_capped={"79160000001": (NOON - timedelta(hours=1),) * 2})
    (capped, _) = _payment_reminders(busy)
    assert (capped.reason, capped.notice) == (NoticeReason.CAP_REACHED, None)
    # A debt notice and a reading reminder going now fill the day's two: the reminder waits.
    full = notice_context(due_date=DUE, last_reading_period=None)
    verdicts = decide_notices(full, NOON, sizer=SIZER)
    first_phone = {v.kind.value: v.reason.value for v in verdicts if v.msisdn == "79160000001"}
    assert first_phone == {
        "debt": "queued",
        "disconnection_warning": "queued",
        "reading_reminder": "queued",
        "payment_reminder": "cap_reached",
    }


# -- Meter verification invitations -----------------------------------------------------

#: The electricity meter's verification is due 30 days after NOON's day (the 20th).
VERIFY_BY = date(2024, 4, 19)


def _verifying(*dates: date, **overrides: object) -> NoticeContext:
    """Owes nothing, read this month; one electricity meter per date, ``E-1``, ``E-2``..."""
    values: dict[str, object] = {
        "balance": D(0),
        "service_debts": {},
        "last_reading_period": Period(2024, 3),
        "verifications": tuple(
            MeterVerification(f"E-{n}", Service.ELECTRICITY, due)
            for n, due in enumerate(dates or (VERIFY_BY,), 1)
        ),
    }
    values.update(overrides)
    return notice_context(**values)


def _invitations(context: NoticeContext, now: datetime = NOON) -> list[NoticeVerdict]:
    return [
        v
        for v in decide_notices(context, now, sizer=SIZER)
        if v.kind is NoticeKind.METER_VERIFICATION
    ]


def test_a_verification_invitation_goes_when_the_date_nears_but_not_to_a_stopped_phone() -> None:
    context = _verifying()
    verdicts = decide_notices(context, NOON, sizer=SIZER)
    assert _reasons(verdicts) == [
        ("debt", None, "below_threshold"),
        ("disconnection_warning", None, "below_threshold"),
        ("meter_verification", "79160000001", "queued"),
        ("meter_verification", "79160000002", "opted_out"),  # not a notice the law requires
        ("payment_reminder", None, "below_threshold"),
        ("reading_reminder", None, "reading_received"),
    ]
    (invitation,) = [v.notice for v in verdicts if v.notice]
    assert invitation.key == (
        "notice:meter_verification:1234567890:electricity:E-1@2024-04-19:79160000001"
    )
    assert invitation.text == "ЛС1234567890: поверка счетчика E-1 до 19.04. Закажите поверку"
    assert (invitation.service, invitation.send_at) == (Service.ELECTRICITY, NOON)
    planned = plan_notices(context, NOON, sizer=SIZER)
    assert [(n.kind, n.msisdn, n.text) for n in planned] == [
        (invitation.kind, invitation.msisdn, invitation.text)
    ]


def test_verification_invitations_from_the_rules_days_before_the_date_to_the_date() -> None:
    today = NOON.date()
    for days_ahead, reason in (
        (31, NoticeReason.NOT_REMINDER_DAY),
        (30, NoticeReason.QUEUED),
        (1, NoticeReason.QUEUED),
        (0, NoticeReason.QUEUED),  # the last day it may still be booked
        (-1, NoticeReason.NOT_REMINDER_DAY),  # past: the meter is overdue, not near
    ):
        verdicts = _invitations(_verifying(today + timedelta(days=days_ahead)))
        assert verdicts[0].reason is reason, days_ahead
    base = utility()
    off = replace(base, notices=replace(base.notices, verification_days=0))
    assert [v.reason for v in _invitations(_verifying(settings=off))] == [
        NoticeReason.NOT_REMINDER_DAY
    ]
    none = _verifying(verifications=())
    assert [v.reason for v in _invitations(none)] == [NoticeReason.NOT_REMINDER_DAY]
    closed = _verifying(account=Account("1234567890", closed=True))
    assert [v.reason for v in _invitations(closed)] == [NoticeReason.CLOSED_ACCOUNT]


def test_one_invitation_per_meter_and_date_sent_once() -> None:
    two = _verifying(VERIFY_BY, VERIFY_BY - timedelta(days=3))
    first = [v.notice for v in _invitations(two) if v.notice]
    assert [n.text for n in first] == [
        "ЛС1234567890: поверка счетчика E-1 до 19.04. Закажите поверку",
        "ЛС1234567890: поверка счетчика E-2 до 16.04. Закажите поверку",
    ]
    keys = frozenset(n.key for n in first if n.key)
    later = NOON + timedelta(days=2)
    again = _invitations(replace(two, stored_keys=keys), later)
    assert [(v.msisdn, v.reason) for v in again] == [
        ("79160000001", NoticeReason.ALREADY_SENT),
        ("79160000002", NoticeReason.OPTED_OUT),
    ] * 2
    # A new verification date (the meter verified and given its next) is a new invitation.
    renewed = _verifying(date(2024, 4, 21), stored_keys=keys)
    assert _invitations(renewed, later)[0].reason is NoticeReason.QUEUED


def test_an_invitation_waits_for_the_morning_in_the_accounts_zone() -> None:
    night = moscow(WEDNESDAY, 23).astimezone(UTC)
    (held, _) = _invitations(_verifying(), night)
    morning = moscow(WEDNESDAY + timedelta(days=1), 8).astimezone(UTC)
    assert (held.reason, held.until) == (NoticeReason.QUIET_HOURS, morning)
    # 20:00 UTC on the 20th is 06:00 on the 21st in Vladivostok: the window is theirs too.
    evening = datetime(2024, 3, 20, 20, tzinfo=UTC)
    far = Account("1234567890", time_zone="Asia/Vladivostok")
    (far_east, _) = _invitations(_verifying(date(2024, 4, 20), account=far), evening)
    assert far_east.reason is NoticeReason.QUIET_HOURS
    assert _invitations(_verifying(date(2024, 4, 20)), evening)[0].reason is (
        NoticeReason.NOT_REMINDER_DAY
    )


def test_caps_hold_an_invitation_counting_the_accounts_other_notices() -> None:
    busy = _verifying(recent_capped={"79160000001": (NOON - timedelta(hours=1),) * 2})
    (capped, _) = _invitations(busy)
    assert (capped.reason, capped.notice) == (NoticeReason.CAP_REACHED, None)
    # A debt notice and a reading reminder going now fill the day's two.
    full = notice_context(
        last_reading_period=None,
        verifications=(MeterVerification("E-1", Service.ELECTRICITY, VERIFY_BY),),
    )
    first_phone = {
        v.kind.value: v.reason.value
        for v in decide_notices(full, NOON, sizer=SIZER)
        if v.msisdn == "79160000001"
    }
    assert first_phone["meter_verification"] == "cap_reached"
    # Two meters due together: the second counts the first.
    one_sent = _verifying(
        VERIFY_BY, VERIFY_BY, recent_capped={"79160000001": (NOON - timedelta(hours=1),)}
    )
    reasons = [v.reason for v in _invitations(one_sent) if v.msisdn == "79160000001"]
    assert reasons == [NoticeReason.QUEUED, NoticeReason.CAP_REACHED]
