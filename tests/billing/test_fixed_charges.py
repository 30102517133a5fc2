"""A period's fixed charge: billed once, with the first accepted reading of the period."""
# ruff: noqa: RUF001 - Russian texts are test data

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    Band,
    ChargeKind,
    FixedCharge,
    Graduated,
    OutcomeStatus,
    Period,
    ReadingContext,
    RegisterHistory,
    Service,
    TariffVersion,
    as_billed,
    fixed_charges_since,
    process_sms,
)

from .builders import NOW, SIZER, D, context, monthly, single_meter, snapshot

WATER = Service.COLD_WATER
ZERO = D(0)
MARCH = Period(2024, 3)
# The spec's graduated water blocks and its fixed 9.31.
BLOCKS = TariffVersion(
    1,
    WATER,
    Graduated(
        (
            Band(D(18), D("0.35")),
            Band(D(30), D("0.70")),
            Band(D(48), D("1.10")),
            Band(None, D("1.50")),
        )
    ),
    date(2024, 1, 1),
)
FIXED = TariffVersion(2, WATER, FixedCharge(D("9.31")), date(2024, 1, 1))


def water_context(
    *,
    fixed: TariffVersion = FIXED,
    billed: frozenset[tuple[Service, Period]] = frozenset(),
    balance: D = ZERO,
) -> ReadingContext:
    """A cold-water meter read at 140 a month ago, about 40 m³ a month before that."""
    meter = single_meter(3, WATER, digits=5)
    history = RegisterHistory(30, monthly(30, [60, 100, 140], NOW - timedelta(days=30)))
    account = snapshot([meter], [history], tariffs=[BLOCKS, fixed], balance=balance)
    return context(
        type(account)(
            account.account,
            account.meters,
            account.history,
            account.tariffs,
            account.ledger,
            billed,
        )
    )


def test_the_spec_water_reading_bills_25_70_and_the_fixed_9_31_for_35_01() -> None:
    outcome = process_sms(water_context(), "180", mo_message_id="mo-1", now=NOW, sizer=SIZER)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert outcome.reply is not None
    assert outcome.reply.text == "ЛС1234567890 приняты 180, расход 40 м³. Долг 35,01 р до 15.04"
    usage, fixed = outcome.charges
    assert (usage.kind, usage.amount, usage.meter_id) == (ChargeKind.USAGE, D("25.70"), 3)
    assert [(line.label, line.amount) for line in usage.lines] == [
        ("band 1", D("6.30")),
        ("band 2", D("8.40")),
        ("band 3", D("11.00")),
    ]
    assert (fixed.kind, fixed.service, fixed.period, fixed.meter_id) == (
        ChargeKind.FIXED,
        WATER,
        MARCH,
        None,
    )
    # The whole period, whatever day the reading came on.
    assert (fixed.start, fixed.end, fixed.due_date) == (
        date(2024, 3, 1),
        date(2024, 4, 1),
        date(2024, 4, 15),
    )
    assert [(line.label, line.amount, line.days) for line in fixed.lines] == [
        ("fixed", D("9.31"), 31)
    ]
    assert outcome.balance_after == D("35.01")


def test_a_second_reading_of_the_period_does_not_bill_the_fixed_charge_again() -> None:
    billed = frozenset({(WATER, MARCH)})
    outcome = process_sms(
        water_context(billed=billed), "180", mo_message_id="mo-2", now=NOW, sizer=SIZER
    )
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert [c.kind for c in outcome.charges] == [ChargeKind.USAGE]
    assert outcome.balance_after == D("25.70")


def test_the_fixed_charge_of_another_period_does_not_count_for_this_one() -> None:
    billed = frozenset({(WATER, Period(2024, 2)), (Service.ELECTRICITY, MARCH)})
    outcome = process_sms(
        water_context(billed=billed), "180", mo_message_id="mo-2", now=NOW, sizer=SIZER
    )
    assert [c.kind for c in outcome.charges] == [ChargeKind.USAGE, ChargeKind.FIXED]


def test_the_fixed_charge_is_billed_even_when_nothing_was_used() -> None:
    # The same value as February's: nothing used in March, the period's fixed charge still due.
    outcome = process_sms(water_context(), "140", mo_message_id="mo-3", now=NOW, sizer=SIZER)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert [(c.kind, c.amount) for c in outcome.charges] == [(ChargeKind.FIXED, D("9.31"))]
    assert outcome.balance_after == D("9.31")


def test_a_fixed_charge_that_changes_in_the_period_is_split_by_days() -> None:
    old = TariffVersion(2, WATER, FixedCharge(D("31.00")), date(2024, 1, 1), date(2024, 3, 11))
    new = TariffVersion(4, WATER, FixedCharge(D("62.00")), date(2024, 3, 11))
    meter = single_meter(3, WATER, digits=5)
    history = RegisterHistory(30, monthly(30, [60, 100, 140], NOW - timedelta(days=30)))
    ctx = context(snapshot([meter], [history], tariffs=[BLOCKS, old, new]))
    outcome = process_sms(ctx, "180", mo_message_id="mo-5", now=NOW, sizer=SIZER)
    fixed = outcome.charges[-1]
    assert [(line.tariff_id, line.days, line.amount) for line in fixed.lines] == [
        (2, 10, D("10.00")),
        (4, 21, D("42.00")),
    ]


def test_the_context_knows_the_fixed_charges_of_last_month_on() -> None:
    assert fixed_charges_since(NOW) == Period(2024, 2)


@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("10000"), places=2),
    used=st.integers(min_value=1, max_value=60),
    balance=st.decimals(min_value=D("-500"), max_value=D("500"), places=2),
)
def test_the_reply_balance_is_the_ledger_plus_every_charge(
    amount: D, used: int, balance: D
) -> None:
    fixed = TariffVersion(2, WATER, FixedCharge(amount), date(2024, 1, 1))
    ctx = water_context(fixed=fixed, balance=balance)
    outcome = process_sms(ctx, str(140 + used), mo_message_id="mo", now=NOW, sizer=SIZER)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert outcome.charges[-1].amount == amount
    assert outcome.balance_after == balance + sum(c.amount for c in outcome.charges)
    again = process_sms(
        water_context(fixed=fixed, balance=balance, billed=frozenset({(WATER, MARCH)})),
        str(140 + used),
        mo_message_id="mo",
        now=NOW,
        sizer=SIZER,
    )
    assert again.balance_after == outcome.balance_after - amount


def test_as_billed_without_a_fixed_charge_billed_already_the_reply_says_the_ledger() -> None:
    """The store found March's fixed charge billed (a concurrent first reading): the
    reply says the ledger as saved, here 25.70 on top of the other reading's 14.70 + 9.31."""
    context = water_context()
    outcome = process_sms(context, "180", mo_message_id="mo-1", now=NOW, sizer=SIZER)
    usage, fixed = outcome.charges
    assert context.account is not None
    saved = context.account.ledger.charge(MARCH, D("24.01"), date(2024, 4, 15)).charge(
        MARCH, usage.amount, usage.due_date
    )
    billed = as_billed(outcome, [fixed], saved, context.settings, SIZER)
    assert billed.charges == (usage,)
    assert billed.balance_after == D("49.71")
    assert billed.reply is not None
    assert billed.reply.text == "ЛС1234567890 приняты 180, расход 40 м³. Долг 49,71 р до 15.04"
    # Nothing left out and the ledger as computed: the same outcome.
    same = context.account.ledger.charge(MARCH, D("35.01"), date(2024, 4, 15))
    assert as_billed(outcome, [], same, context.settings, SIZER) == outcome
