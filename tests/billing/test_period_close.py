"""Closing a period: estimates for meters not read, fixed charges, penalties; twice is once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    Account,
    AccountClosed,
    AccountToClose,
    Balance,
    ChargeKind,
    FixedCharge,
    LateCharge,
    Ledger,
    MeterStatus,
    OpenItem,
    PeriodCloseSummary,
    Plausibility,
    PrincipalPaid,
    ReadingSource,
    ReadingStatus,
    RegisterHistory,
    Service,
    TariffVersion,
    close_accounts,
    estimate_taken_at,
)
from billing_core.model import Period

from .builders import (
    ACCOUNT,
    ELECTRICITY_ZONED,
    D,
    monthly,
    reading,
    settings,
    single_meter,
    two_zone_meter,
)
from .test_fixed_charges import BLOCKS, FIXED, WATER

MARCH = Period(2024, 3)
APRIL = Period(2024, 4)
CLOSED_ON = datetime(2024, 4, 2, 6, tzinfo=UTC)
FEB_19 = datetime(2024, 2, 19, 9, tzinfo=UTC)


def water_account(**overrides: object) -> AccountToClose:
    """Cold water read at 140 on 19 February, 40 m³ every 30 days before."""
    meter = single_meter(3, WATER, digits=5)
    history = RegisterHistory(30, monthly(30, [60, 100, 140], FEB_19))
    account = AccountToClose(
        Account(ACCOUNT),
        frozenset({WATER}),
        (meter,),
        {30: history},
        (BLOCKS, FIXED),
        Ledger(Balance()),
    )
    return replace(account, **overrides)  # type: ignore[arg-type]


def close(
    *accounts: AccountToClose, period: Period = MARCH, **config: object
) -> list[AccountClosed]:
    return close_accounts(accounts, period, settings(**config), now=CLOSED_ON)


def test_a_meter_not_read_is_estimated_from_its_average_and_the_fixed_charge_billed() -> None:
    (closed,) = close(water_account())
    # 40 m³ per 30 days over March's 31 days: 41.33, 41 on a meter without decimals.
    (estimate,) = closed.readings
    assert (estimate.register_id, estimate.value) == (30, D(181))
    assert (estimate.source, estimate.status, estimate.period) == (
        ReadingSource.ESTIMATE,
        ReadingStatus.ACCEPTED,
        MARCH,
    )
    assert estimate.taken_at == estimate_taken_at(MARCH, settings())
    assert estimate.taken_at.date() == date(2024, 3, 31)
    usage, fixed = closed.charges
    assert (usage.kind, usage.meter_id, usage.amount) == (ChargeKind.ESTIMATE, 3, D("26.80"))
    assert (usage.start, usage.end, usage.due_date) == (
        date(2024, 3, 1),
        date(2024, 4, 1),
        date(2024, 4, 15),
    )
    assert (fixed.kind, fixed.amount) == (ChargeKind.FIXED, D("9.31"))
    assert closed.ledger is not None and closed.ledger.balance.amount == D("36.11")
    assert closed.estimated == (3,) and closed.no_basis == ()


def test_a_meter_read_late_for_the_next_period_is_not_estimated_on_top() -> None:
    """Read on 28 March outside the reading window, the reading counts for April and
    billed the use to 28 March: closing March must not estimate a month on top of it."""
    earlier = monthly(30, [60, 100], FEB_19)
    late = reading(30, 180, datetime(2024, 3, 28, 9, tzinfo=UTC), period=APRIL)
    (closed,) = close(water_account(history={30: RegisterHistory(30, (*earlier, late))}))
    assert closed.readings == () and closed.estimated == () and closed.no_basis == ()
    # Only March's fixed charge is billed.
    assert [(c.kind, c.amount) for c in closed.charges] == [(ChargeKind.FIXED, D("9.31"))]


def test_without_history_the_expected_daily_use_is_the_norm() -> None:
    meter = single_meter(3, WATER, digits=5)
    history = RegisterHistory(30, (monthly(30, [140], FEB_19)))
    norm = Plausibility(default_daily={WATER: D("0.5")})
    (closed,) = close(water_account(history={30: history}), plausibility=norm)
    assert [r.value for r in closed.readings] == [D(156)]  # 15.5 rounds half up to 16
    assert closed.charges[0].amount == D("5.60")  # 16 x 0.35
    assert closed.estimated == (meter.id,)


def test_no_basis_for_an_estimate_bills_the_fixed_charge_and_says_so() -> None:
    never_read = water_account(history={})
    one_reading = water_account(
        account=Account("42"), history={30: RegisterHistory(30, monthly(30, [140], FEB_19))}
    )
    zoned = AccountToClose(
        Account("43"),
        frozenset({Service.ELECTRICITY}),
        (two_zone_meter(),),
        {11: RegisterHistory(11, monthly(11, [100], FEB_19))},
        (ELECTRICITY_ZONED,),
        Ledger(Balance()),
    )
    norm = Plausibility(default_daily={Service.ELECTRICITY: D(10)})
    closed = close(never_read, one_reading, zoned, plausibility=norm)
    assert [(c.account_number, c.no_basis) for c in closed] == [
        (ACCOUNT, ("S-3",)),
        ("42", ("S-3",)),
        ("43", ("E-1",)),  # the expected use is not split by zone
    ]
    assert [[x.kind for x in c.charges] for c in closed] == [
        [ChargeKind.FIXED],
        [ChargeKind.FIXED],
        [],
    ]
    assert all(not c.readings for c in closed)


def test_a_meter_read_in_the_period_and_a_fixed_charge_billed_are_left_alone() -> None:
    (closed,) = close(water_account(read_meters=frozenset({3}), fixed_billed=frozenset({WATER})))
    assert not closed.changes


def test_a_closed_account_is_not_closed_again_and_an_inactive_meter_not_estimated() -> None:
    removed = replace(single_meter(3, WATER, digits=5), status=MeterStatus.REMOVED)
    assert close(water_account(account=Account(ACCOUNT, closed=True))) == []
    (closed,) = close(water_account(meters=(removed,)))
    assert closed.readings == () and [c.kind for c in closed.charges] == [ChargeKind.FIXED]


def test_a_missing_tariff_fails_that_account_alone() -> None:
    broken = water_account(account=Account("broken"), tariffs=(FIXED,))
    bad, good = close(broken, water_account())
    assert bad.error is not None and not bad.changes and bad.ledger is None
    assert good.error is None and good.changes
    summary = PeriodCloseSummary(MARCH).add([bad, good])
    assert summary.accounts == 1 and summary.failed[0][0] == "broken"


# -- penalties ------------------------------------------------------------------


def debtor(**overrides: object) -> AccountToClose:
    """10,000.00 owed for December, due on 1 January: day 120 is 30 April."""
    item = OpenItem(Period(2023, 12), D("10000.00"), D(0), date(2024, 1, 1))
    values: dict[str, object] = {
        "meters": (),
        "services": frozenset(),
        "ledger": Ledger(Balance(opening=D("10000.00")), (item,)),
    }
    return water_account(**{**values, **overrides})


def test_the_spec_penalty_409_23_accrues_by_day_120() -> None:
    (closed,) = close(debtor(), period=APRIL)
    (penalty,) = closed.penalties
    assert (penalty.period, penalty.closed, penalty.through, penalty.amount) == (
        Period(2023, 12),
        APRIL,
        date(2024, 4, 30),
        D("409.23"),
    )
    assert closed.ledger is not None
    assert closed.ledger.open_items[0].penalty == D("409.23")
    assert closed.ledger.balance.amount == D("10409.23")


def test_monthly_closes_accrue_the_same_penalty_as_one_close() -> None:
    accrued = D(0)
    for month in (Period(2024, 1), Period(2024, 2), MARCH, APRIL):
        (closed,) = close(debtor(accrued={Period(2023, 12): accrued}), period=month)
        accrued += sum((p.amount for p in closed.penalties), D(0))
    assert accrued == D("409.23")


def test_a_partial_payment_lowers_the_debt_penalties_accrue_on_from_the_next_day() -> None:
    item = OpenItem(Period(2023, 12), D("5000.00"), D(0), date(2024, 1, 1))
    paid = {Period(2023, 12): (PrincipalPaid(date(2024, 3, 1), D("5000.00")),)}
    account = debtor(ledger=Ledger(Balance(opening=D("5000.00")), (item,)), paid=paid)
    (closed,) = close(account, period=APRIL)
    # Days 31-60 on 10,000 (1/300), 61-90 on 5,000 (1/300), 91-120 on 5,000 (1/130).
    expected = ((D(10000) * 30 + D(5000) * 30) * D("0.095") / 300).quantize(D("0.01")) + (
        D(5000) * 30 * D("0.095") / 130
    ).quantize(D("0.01"))
    assert closed.penalties[0].amount == expected


# -- properties ------------------------------------------------------------------


def _as_stored(account: AccountToClose, closed: AccountClosed) -> AccountToClose:
    """``account`` as the store loads it again once ``closed`` is written."""
    accrued = dict(account.accrued)
    for p in closed.penalties:
        accrued[p.period] = accrued.get(p.period, D(0)) + p.amount
    assert closed.ledger is not None
    return replace(
        account,
        ledger=closed.ledger,
        read_meters=account.read_meters | frozenset(closed.estimated),
        fixed_billed=account.fixed_billed
        | frozenset(c.service for c in closed.charges if c.kind is ChargeKind.FIXED),
        accrued=accrued,
    )


@given(
    fixed=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    monthly_use=st.integers(min_value=0, max_value=500),
    debt=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    overdue=st.integers(min_value=0, max_value=400),
)
def test_closing_twice_bills_nothing_more_and_the_ledger_adds_up(
    fixed: Decimal, monthly_use: int, debt: Decimal, overdue: int
) -> None:
    history = RegisterHistory(
        30, monthly(30, [1000, 1000 + monthly_use, 1000 + 2 * monthly_use], FEB_19)
    )
    due = date(2024, 3, 31) - timedelta(days=overdue)
    item = OpenItem(Period(2023, 12), debt, D(0), due)
    account = water_account(
        history={30: history},
        tariffs=(BLOCKS, TariffVersion(2, WATER, FixedCharge(fixed), date(2024, 1, 1))),
        ledger=Ledger(Balance(opening=debt), (item,)),
    )
    (first,) = close(account)
    assert first.ledger is not None
    billed = sum((c.amount for c in first.charges), D(0))
    penalised = sum((p.amount for p in first.penalties), D(0))
    assert first.ledger.balance.amount == debt + billed + penalised
    assert first.ledger.balance.charges == billed
    (second,) = close(_as_stored(account, first))
    assert not second.changes
    assert second.ledger == first.ledger


# -- penalties: paid off between closes, charges billed after payments --------------------

DECEMBER = Period(2023, 12)
JAN_15 = date(2024, 1, 15)


def test_a_debt_paid_in_full_between_closes_owes_its_penalty_up_to_the_payment() -> None:
    """10,000.00 due 15 January; February's close (through day 45) accrues days 31-45:
    15 x 10,000 x 0.095 / 300 = 47.50. Paid in full, penalty too, on 10 March (day 55):
    the item is gone by March's close, which accrues days 46-55 all the same: 25 days
    (31-55) are 79.17, less 47.50, 31.67. Then nothing more: the debt stopped on 10 March."""
    item = OpenItem(DECEMBER, D("10000.00"), D(0), JAN_15)
    owing = debtor(ledger=Ledger(Balance(opening=D("10000.00")), (item,)))
    (february,) = close(owing, period=Period(2024, 2))
    assert [p.amount for p in february.penalties] == [D("47.50")]
    paid_off = debtor(
        ledger=Ledger(Balance(opening=D("10000.00"), penalties=D("47.50"), payments=D("10047.50"))),
        accrued={DECEMBER: D("47.50")},
        paid={DECEMBER: (PrincipalPaid(date(2024, 3, 10), D("10000.00"), JAN_15),)},
    )
    (march,) = close(paid_off, period=MARCH)
    (penalty,) = march.penalties
    assert (penalty.period, penalty.through, penalty.amount) == (
        DECEMBER,
        date(2024, 3, 31),
        D("31.67"),
    )
    assert march.ledger is not None and march.ledger.balance.amount == D("31.67")
    again = replace(paid_off, ledger=march.ledger, accrued={DECEMBER: D("79.17")})
    (april,) = close(again, period=APRIL)
    assert april.penalties == ()


def test_a_debt_paid_in_full_before_its_penalty_began_owes_none() -> None:
    paid_off = debtor(
        ledger=Ledger(Balance(opening=D("10000.00"), payments=D("10000.00"))),
        paid={DECEMBER: (PrincipalPaid(date(2024, 2, 14), D("10000.00"), JAN_15),)},  # day 30
    )
    (closed,) = close(paid_off, period=MARCH)
    assert closed.penalties == ()


def test_a_charge_billed_after_a_payment_and_the_due_date_counts_from_when_it_was_billed() -> None:
    """March's 1,000.00 is due 15 April. 600.00 is paid on 20 May (day 35), then 400.00
    more is billed to March on 25 May (day 40, a late close's estimate, say): 800.00 is
    owed. May's close (through day 46) counts days 31-35 on 1,000, 36-40 on 400 and
    41-46 on 800: 11,800 debt-days x 0.095 / 300 = 3.74. Counting the 400 as if it had
    been due on 15 April, as the debt before the payments, would say 5.00."""
    item = OpenItem(MARCH, D("800.00"), D(0), date(2024, 4, 15))
    account = debtor(
        ledger=Ledger(Balance(charges=D("1400.00"), payments=D("600.00")), (item,)),
        paid={MARCH: (PrincipalPaid(date(2024, 5, 20), D("600.00"), date(2024, 4, 15)),)},
        late={MARCH: (LateCharge(datetime(2024, 5, 25, 10, tzinfo=UTC), D("400.00")),)},
    )
    (closed,) = close(account, period=Period(2024, 5))
    (penalty,) = closed.penalties
    assert penalty.amount == (D(11800) * D("0.095") / 300).quantize(D("0.01")) == D("3.74")


def test_a_charge_billed_before_the_due_date_is_owed_from_day_one() -> None:
    """The same, with the 400.00 billed on 1 April (a close's fixed charge) and 600.00
    paid on 10 April: 400 is owed from day 1, days 31-46 of it at 1/300 by May's end."""
    item = OpenItem(MARCH, D("400.00"), D(0), date(2024, 4, 15))
    account = debtor(
        ledger=Ledger(Balance(charges=D("1000.00"), payments=D("600.00")), (item,)),
        paid={MARCH: (PrincipalPaid(date(2024, 4, 10), D("600.00"), date(2024, 4, 15)),)},
        late={MARCH: ()},
    )
    (closed,) = close(account, period=Period(2024, 5))
    assert [p.amount for p in closed.penalties] == [
        (D(400) * 16 * D("0.095") / 300).quantize(D("0.01"))
    ]
