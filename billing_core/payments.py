"""Payments: how a payment is allocated, and the ledger of what is owed per period.

Allocation order: first the period the payer names (its principal, then its
penalties); then principal of every period, oldest first; then penalties,
oldest first (principal before penalties across periods, so a consumer who
pays is never kept in principal debt by old penalties). What is left is an
advance, which the next charges consume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from .errors import MoneyError
from .model import Balance, Charge, FastEnum, OpenItem, Payment, Period
from .money import CALC, ZERO, money_sum


class DebtPart(FastEnum):
    PRINCIPAL = "principal"
    PENALTY = "penalty"


@dataclass(frozen=True, slots=True)
class AllocationLine:
    period: Period
    part: DebtPart
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where a payment went: ``lines`` plus ``advance`` always sum to the payment."""

    lines: tuple[AllocationLine, ...]
    advance: Decimal

    @property
    def total(self) -> Decimal:
        return money_sum((line.amount for line in self.lines), self.advance)


def _allocate(
    amount: Decimal, open_items: Sequence[OpenItem], *, period: Period | None = None
) -> Allocation:
    if not isinstance(amount, Decimal) or amount <= 0:
        raise MoneyError("a payment is a positive Decimal", field="amount", value=amount)
    items = sorted(open_items, key=lambda item: item.period)
    order: list[tuple[Period, DebtPart, Decimal]] = []
    named = [item for item in items if item.period == period]
    for item in named:
        order.append((item.period, DebtPart.PRINCIPAL, item.principal))
        order.append((item.period, DebtPart.PENALTY, item.penalty))
    rest = [item for item in items if item.period != period]
    order.extend((item.period, DebtPart.PRINCIPAL, item.principal) for item in rest)
    order.extend((item.period, DebtPart.PENALTY, item.penalty) for item in rest)
    left = amount
    lines: list[AllocationLine] = []
    for item_period, part, owed in order:
        if left <= 0:
            break
        if owed <= 0:
            continue
        taken = min(owed, left)
        lines.append(AllocationLine(item_period, part, taken))
        left -= taken
    return Allocation(tuple(lines), left)


def _check_non_negative(amount: Decimal, field: str) -> None:
    # A credit note is a payment-like correction, not a negative charge: it must
    # be allocated, which only a payment does.
    if not isinstance(amount, Decimal) or amount < 0:
        raise MoneyError(
            "charges and penalties are non-negative Decimals", field=field, value=amount
        )


def allocate_payment(
    amount: Decimal, open_items: Sequence[OpenItem], *, period: Period | None = None
) -> Allocation:
    """Allocate ``amount`` to ``open_items`` (any order) as the module says."""
    with localcontext(CALC):
        return _allocate(amount, open_items, period=period)


@dataclass(frozen=True, slots=True)
class Ledger:
    """An account's money: the balance, and the open items it is made of.

    Invariant: ``balance.amount == Σ open item totals - advance`` when the
    opening balance was entered as an open item (or an advance).
    """

    balance: Balance
    open_items: tuple[OpenItem, ...] = ()
    advance: Decimal = ZERO

    @classmethod
    def opening(cls, amount: Decimal, period: Period, due_date: date | None = None) -> Ledger:
        """A ledger that starts with ``amount`` owed for ``period`` (negative: an advance)."""
        balance = Balance(opening=amount)
        if amount > 0:
            return cls(balance, (OpenItem(period, amount, ZERO, due_date),))
        return cls(balance, (), amount.copy_negate())

    def _with_item(
        self, period: Period, principal: Decimal, penalty: Decimal, due: date | None
    ) -> tuple[OpenItem, ...]:
        items = list(self.open_items)
        for index, item in enumerate(items):
            if item.period == period:
                items[index] = OpenItem(
                    period, item.principal + principal, item.penalty + penalty, item.due_date or due
                )
                break
        else:
            items.append(OpenItem(period, principal, penalty, due))
            items.sort(key=lambda i: i.period)
        return tuple(i for i in items if i.total > 0)

    def charge(self, period: Period, amount: Decimal, due_date: date | None = None) -> Ledger:
        """Add a charge; an advance pays it first."""
        _check_non_negative(amount, "charge")
        used = min(self.advance, amount)
        with localcontext(CALC):
            return Ledger(
                self.balance.charged(amount),
                self._with_item(period, amount - used, ZERO, due_date),
                self.advance - used,
            )

    def penalise(self, period: Period, amount: Decimal) -> Ledger:
        """Add a penalty for ``period``; an advance pays it first."""
        _check_non_negative(amount, "penalty")
        used = min(self.advance, amount)
        with localcontext(CALC):
            return Ledger(
                self.balance.penalised(amount),
                self._with_item(period, ZERO, amount - used, None),
                self.advance - used,
            )

    def pay(self, payment: Payment) -> tuple[Ledger, Allocation]:
        """Post ``payment``: the ledger after it and where the money went."""
        with localcontext(CALC):
            return self._pay(payment)

    def _pay(self, payment: Payment) -> tuple[Ledger, Allocation]:
        allocation = _allocate(payment.amount, self.open_items, period=payment.period)
        items = {item.period: item for item in self.open_items}
        for line in allocation.lines:
            item = items[line.period]
            if line.part is DebtPart.PRINCIPAL:
                items[line.period] = item._replace(principal=item.principal - line.amount)
            else:
                items[line.period] = item._replace(penalty=item.penalty - line.amount)
        remaining = tuple(item for _, item in sorted(items.items()) if item.total > 0)
        ledger = Ledger(
            self.balance.paid(payment.amount), remaining, self.advance + allocation.advance
        )
        return ledger, allocation

    def oldest_due_date(self) -> date | None:
        """The due date of the oldest period still owed."""
        for item in self.open_items:
            if item.due_date is not None:
                return item.due_date
        return None


@dataclass(frozen=True, slots=True)
class PaymentPosting:
    """A posted payment: what to persist, and the balance to confirm to the payer."""

    payment: Payment
    allocation: Allocation
    ledger: Ledger

    @property
    def balance_after(self) -> Decimal:
        return self.ledger.balance.amount


def post_payment(ledger: Ledger, payment: Payment) -> PaymentPosting:
    """Post ``payment`` to ``ledger`` (see :meth:`Ledger.pay`)."""
    after, allocation = ledger.pay(payment)
    return PaymentPosting(payment, allocation, after)


def charge_ledgers(ledgers: Mapping[str, Ledger], charges: Iterable[Charge]) -> dict[str, Ledger]:
    """The ledgers of the accounts ``charges`` name, after them, in order (see
    :meth:`Ledger.charge`). ``ledgers`` must hold every account charged (KeyError)."""
    after: dict[str, Ledger] = {}
    for charge in charges:
        number = charge.account_number
        ledger = after[number] if number in after else ledgers[number]
        after[number] = ledger.charge(charge.period, charge.amount, charge.due_date)
    return after
