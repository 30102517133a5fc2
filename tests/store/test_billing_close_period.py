"""Closing a period on both stores: estimates, fixed charges and penalties, written once.

The example's accounts, March 2024 closed on 2 April: 1234567890 (two-zone E-1)
and 7770001 (R-1, near the top of its dial) sent no March reading and are
estimated from their history; 5550001's water meter has a single reading, so no
basis, but its fixed 9.31 is billed; 8880001 owes 10,000.00 due 15 January.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from billing_core import ChargeKind, Payment, Period, ReadingSource, Service, post_payment
from smpp_engine.store import BillingStore, Store, import_billing_data

from .test_billing_repository import NOW, PHONE, TWO_ACCOUNTS, example, load, sms

D = Decimal
MARCH = Period(2024, 3)
CLOSED_ON = datetime(2024, 4, 2, 6, tzinfo=UTC)


@pytest.fixture
async def repo(store: Store) -> BillingStore:
    billing = cast(BillingStore, store)
    assert (await import_billing_data(billing, example())).ok
    return billing


async def test_closing_march_estimates_bills_fixed_charges_and_penalties_once(
    repo: BillingStore,
) -> None:
    summary = await repo.close_period(MARCH, now=CLOSED_ON, batch_size=3)
    assert (summary.accounts, summary.estimated_accounts, summary.estimated_meters) == (5, 2, 2)
    assert (summary.fixed_charges, summary.penalties) == (1, 3)
    # 8880001: days 31-76 after 15 January on 10,000.00 at 1/300 of 9.5 %: 145.67.
    # 9990001: December's 1,450.00 the same days (21.12), January's 1,480.00 days 31-45
    # after 15 February (7.03); February's is 16 days overdue: nothing yet.
    assert summary.penalty_amount == D("145.67") + D("21.12") + D("7.03") == D("173.82")
    assert summary.no_basis == ("5550001",)
    assert summary.failed == ()
    # E-1: 5/day on T1 and 2.67/day on T2 over 31 days: 155 and 83.
    context = await load(repo, PHONE, None, "mo-after")
    assert context.account is not None
    t1 = context.account.register_history(11).last
    assert t1 is not None and (t1.value, t1.source, t1.period) == (
        D(12155),
        ReadingSource.ESTIMATE,
        MARCH,
    )
    ledger = await repo.load_ledger("1234567890")
    assert ledger.balance.amount == D("1062.02")  # 155 x 5.92 + 83 x 1.74
    # R-1 rolls over: 99950 + 233.
    rolled = await load(repo, "79160000003", None, "mo-r")
    assert rolled.account is not None
    last = rolled.account.register_history(30).last
    assert last is not None and last.value == D(183)
    assert (await repo.load_ledger("7770001")).balance.amount == D("1065.00")  # 1165 - 100
    water = await load(repo, TWO_ACCOUNTS, "5550001", "mo-w")
    assert water.account is not None
    assert water.account.register_history(20).last.source is ReadingSource.INSPECTOR  # type: ignore[union-attr]
    assert (await repo.load_ledger("5550001")).balance.amount == D("9.31")
    debtor = await repo.load_ledger("8880001")
    assert debtor.balance.amount == D("10145.67")
    assert debtor.open_items[0].penalty == D("145.67")

    again = await repo.close_period(MARCH, now=CLOSED_ON + timedelta(hours=1))
    assert again.accounts == 5
    assert (again.estimated_meters, again.fixed_charges, again.penalties) == (0, 0, 0)
    assert again.charged == 0 and again.penalty_amount == 0
    assert again.no_basis == ("5550001",)
    for number, amount in (
        ("1234567890", "1062.02"),
        ("7770001", "1065.00"),
        ("5550001", "9.31"),
        ("8880001", "10145.67"),
        ("9990001", "4478.15"),
    ):
        assert (await repo.load_ledger(number)).balance.amount == D(amount)


async def test_a_period_read_by_sms_is_not_estimated_and_its_fixed_charge_not_billed_again(
    repo: BillingStore,
) -> None:
    outcome, saved = await sms(repo, TWO_ACCOUNTS, "5550001 140,0", "mo-w1", NOW)
    assert saved and [c.kind for c in outcome.charges] == [ChargeKind.USAGE, ChargeKind.FIXED]
    summary = await repo.close_period(MARCH, now=CLOSED_ON)
    assert summary.no_basis == ()
    assert (await repo.load_ledger("5550001")).balance.amount == D("35.01")
    # April's penalties: 8880001's and 9990001's three bills; March's charges are not due
    # before 15 April.
    april = await repo.close_period(Period(2024, 4), now=CLOSED_ON + timedelta(days=30))
    assert april.penalties == 4
    assert april.fixed_charges == 1  # 5550001's water for April
    # A reading counted for April now finds April's fixed charge billed.
    context = await load(repo, TWO_ACCOUNTS, "5550001", "mo-x")
    assert context.account is not None
    assert context.account.fixed_billed == {
        (Service.COLD_WATER, MARCH),
        (Service.COLD_WATER, Period(2024, 4)),
    }


async def test_a_debt_paid_off_between_closes_accrues_its_penalty_up_to_the_payment(
    repo: BillingStore,
) -> None:
    """8880001's 10,000.00 due 15 January: February's close accrues days 31-45 (47.50);
    paid in full with that penalty on 10 March (day 55), March's close accrues days 46-55
    (31.67: 79.17 for days 31-55, less 47.50), April's nothing."""
    await repo.close_period(
        Period(2024, 2), now=datetime(2024, 3, 1, 6, tzinfo=UTC), utility_id=None
    )
    assert (await repo.load_ledger("8880001")).balance.penalties == D("47.50")
    posting = post_payment(
        await repo.load_ledger("8880001"),
        Payment("8880001", D("10047.50"), date(2024, 3, 10), "bank-paid-off"),
    )
    assert posting.ledger.open_items == () and await repo.save_payment(posting)
    await repo.close_period(MARCH, now=CLOSED_ON, utility_id=None)
    ledger = await repo.load_ledger("8880001")
    assert (ledger.balance.penalties, ledger.balance.amount) == (D("79.17"), D("31.67"))
    await repo.close_period(
        Period(2024, 4), now=datetime(2024, 5, 1, 6, tzinfo=UTC), utility_id=None
    )
    ledger = await repo.load_ledger("8880001")
    assert (ledger.balance.penalties, ledger.balance.amount) == (D("79.17"), D("31.67"))


async def test_a_charge_billed_after_its_due_date_accrues_from_when_it_was_billed(
    repo: BillingStore,
) -> None:
    """March is closed late, on 25 May: 5550001's fixed 9.31 for March (due 15 April) is
    billed then, on day 40. May's close (through day 46) accrues 6 days of it at 1/300:
    0.02, not the 0.05 of days 31-46."""
    late = await repo.close_period(MARCH, now=datetime(2024, 5, 25, 9, tzinfo=UTC))
    assert late.fixed_charges == 1
    await repo.close_period(Period(2024, 4), now=datetime(2024, 5, 25, 9, tzinfo=UTC))
    await repo.close_period(Period(2024, 5), now=datetime(2024, 6, 1, 6, tzinfo=UTC))
    ledger = await repo.load_ledger("5550001")
    march = next(item for item in ledger.open_items if item.period == MARCH)
    assert (march.principal, march.penalty) == (D("9.31"), D("0.02"))
