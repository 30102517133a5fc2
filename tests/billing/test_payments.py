"""Payments: allocation order, the ledger, and the balance formula."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    Balance,
    Charge,
    ChargeLine,
    DebtPart,
    Ledger,
    MoneyError,
    OpenItem,
    Payment,
    Period,
    Service,
    allocate_payment,
    charge_ledgers,
    post_payment,
)

D = Decimal
JAN, FEB, MAR = Period(2024, 1), Period(2024, 2), Period(2024, 3)
ITEMS = (
    OpenItem(MAR, D("300.00"), D("0.00")),
    OpenItem(JAN, D("100.00"), D("10.00")),
    OpenItem(FEB, D("200.00"), D("20.00")),
)


def lines(allocation: object) -> list[tuple[Period, DebtPart, Decimal]]:
    return [(line.period, line.part, line.amount) for line in allocation.lines]  # type: ignore[attr-defined]


def test_oldest_principal_first_then_penalties() -> None:
    allocation = allocate_payment(D("350.00"), ITEMS)
    assert lines(allocation) == [
        (JAN, DebtPart.PRINCIPAL, D("100.00")),
        (FEB, DebtPart.PRINCIPAL, D("200.00")),
        (MAR, DebtPart.PRINCIPAL, D("50.00")),
    ]
    assert allocation.advance == 0


def test_penalties_only_after_all_principal() -> None:
    allocation = allocate_payment(D("615.00"), ITEMS)
    assert lines(allocation)[-2:] == [
        (JAN, DebtPart.PENALTY, D("10.00")),
        (FEB, DebtPart.PENALTY, D("5.00")),
    ]


def test_the_named_period_first_principal_then_its_penalty() -> None:
    allocation = allocate_payment(D("250.00"), ITEMS, period=FEB)
    assert lines(allocation) == [
        (FEB, DebtPart.PRINCIPAL, D("200.00")),
        (FEB, DebtPart.PENALTY, D("20.00")),
        (JAN, DebtPart.PRINCIPAL, D("30.00")),
    ]


def test_a_named_period_without_debt_goes_to_the_oldest() -> None:
    allocation = allocate_payment(D("50.00"), ITEMS, period=Period(2024, 4))
    assert lines(allocation) == [(JAN, DebtPart.PRINCIPAL, D("50.00"))]


def test_overpayment_is_an_advance() -> None:
    allocation = allocate_payment(D("1000.00"), ITEMS)
    assert allocation.advance == D("370.00")
    assert allocation.total == D("1000.00")


@pytest.mark.parametrize("amount", [D(0), D("-5"), 5])
def test_a_payment_is_a_positive_decimal(amount: object) -> None:
    with pytest.raises(MoneyError):
        allocate_payment(amount, ITEMS)  # type: ignore[arg-type]


def test_the_ledger_uses_an_advance_for_the_next_charge() -> None:
    ledger = Ledger.opening(D("-50.00"), JAN)
    assert ledger.advance == D("50.00")
    ledger = ledger.charge(FEB, D("80.00"), date(2024, 3, 15))
    assert ledger.advance == 0
    assert ledger.open_items == (OpenItem(FEB, D("30.00"), D(0), date(2024, 3, 15)),)
    assert ledger.balance.amount == D("30.00")


def _charge(account: str, period: Period, amount: str) -> Charge:
    line = ChargeLine(Service.ELECTRICITY, "T0", D(1), D(amount), D(amount), 1, 30)
    return Charge(account, period, Service.ELECTRICITY, (line,), date(2024, 1, 1), date(2024, 2, 1))


def test_charges_land_on_each_account_ledger_in_order() -> None:
    ledgers = {"a": Ledger.opening(D("-50.00"), JAN), "b": Ledger.opening(D(0), JAN)}
    charges = [_charge("a", FEB, "30.00"), _charge("b", FEB, "10.00"), _charge("a", MAR, "40.00")]
    after = charge_ledgers(ledgers, charges)
    assert after == {
        "a": ledgers["a"].charge(FEB, D("30.00")).charge(MAR, D("40.00")),
        "b": ledgers["b"].charge(FEB, D("10.00")),
    }
    assert after["a"].advance == 0 and after["a"].balance.amount == D("20.00")
    assert charge_ledgers(ledgers, []) == {}
    with pytest.raises(KeyError):
        charge_ledgers(ledgers, [_charge("c", FEB, "1.00")])


def test_posting_a_payment_gives_the_new_balance() -> None:
    ledger = Ledger.opening(D("100.00"), JAN).charge(FEB, D("200.00")).penalise(JAN, D("10.00"))
    posting = post_payment(ledger, Payment("123456", D("150.00"), date(2024, 3, 1), "bank-1"))
    assert posting.balance_after == D("160.00")
    assert posting.ledger.open_items == (
        OpenItem(JAN, D(0), D("10.00")),
        OpenItem(FEB, D("150.00"), D(0)),
    )


def test_balance_formula() -> None:
    balance = Balance(D("100"), D("1027.20"), D("409.23"), D("500"))
    assert balance.amount == D("1036.43")
    assert Balance(payments=D(10)).amount == D(-10)  # negative: an advance


# -- properties ---------------------------------------------------------------

cents = st.integers(1, 10**7).map(lambda c: D(c) / 100)
periods = st.builds(Period, st.integers(2020, 2025), st.integers(1, 12))
open_items = st.lists(
    st.builds(OpenItem, periods, cents | st.just(D(0)), cents | st.just(D(0))),
    max_size=8,
    unique_by=lambda item: item.period,
)


@given(cents, open_items, st.none() | periods)
def test_allocations_sum_to_the_payment(
    amount: Decimal, items: list[OpenItem], period: Period | None
) -> None:
    allocation = allocate_payment(amount, items, period=period)
    assert allocation.total == amount
    assert allocation.advance >= 0
    owed = {(i.period, DebtPart.PRINCIPAL): i.principal for i in items} | {
        (i.period, DebtPart.PENALTY): i.penalty for i in items
    }
    for line in allocation.lines:
        assert 0 < line.amount <= owed[line.period, line.part]
    if allocation.advance:
        assert sum((line.amount for line in allocation.lines), D(0)) == sum(
            (i.total for i in items), D(0)
        )


@given(cents, open_items)
def test_no_penalty_is_paid_while_principal_is_owed(amount: Decimal, items: list[OpenItem]) -> None:
    allocation = allocate_payment(amount, items)
    paid = {(line.period, line.part): line.amount for line in allocation.lines}
    if any(line.part is DebtPart.PENALTY for line in allocation.lines):
        for item in items:
            assert paid.get((item.period, DebtPart.PRINCIPAL), D(0)) == item.principal


operations = st.lists(
    st.tuples(st.sampled_from(["charge", "penalty", "payment"]), cents, periods, st.booleans()),
    max_size=25,
)


@given(st.integers(-(10**6), 10**6).map(lambda c: D(c) / 100), operations)
def test_balance_is_opening_plus_charges_plus_penalties_minus_payments(
    opening: Decimal, ops: list[tuple[str, Decimal, Period, bool]]
) -> None:
    ledger = Ledger.opening(opening, Period(2019, 12))
    charged = penalised = paid = D(0)
    for number, (kind, amount, period, named) in enumerate(ops):
        if kind == "charge":
            ledger, charged = ledger.charge(period, amount), charged + amount
        elif kind == "penalty":
            ledger, penalised = ledger.penalise(period, amount), penalised + amount
        else:
            payment = Payment("1", amount, date(2024, 1, 1), str(number), period if named else None)
            ledger, allocation = ledger.pay(payment)
            paid += amount
            assert allocation.total == amount
    assert ledger.balance.amount == opening + charged + penalised - paid
    # The balance is what the open items say, less the advance.
    owed = sum((item.total for item in ledger.open_items), D(0))
    assert ledger.balance.amount == owed - ledger.advance
    assert ledger.advance >= 0
    assert all(item.principal >= 0 and item.penalty >= 0 for item in ledger.open_items)
