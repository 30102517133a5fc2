"""Money: Decimal amounts, the utility's rounding mode, and how amounts are written.

Amounts are ``decimal.Decimal`` throughout. Arithmetic runs in :data:`CALC`, a
fixed context of 34 significant digits, so results do not depend on whatever
decimal context the calling thread happens to have; rounding to cents happens
only where a bill line, a penalty stretch or a display asks for it, always with
the utility's mode passed explicitly (ROUND_HALF_UP by default, never Python's
default half-even by accident).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .errors import MoneyError, SettingsError

#: The rounding modes a utility may choose (the ``decimal`` module's names).
ROUNDING_MODES: Final = frozenset(
    {
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_DOWN,
        decimal.ROUND_CEILING,
        decimal.ROUND_FLOOR,
        decimal.ROUND_05UP,
    }
)

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal(0)

#: The context every computation runs in. 34 digits (IEEE decimal128) keep
#: intermediate quotients such as 0.095/130 far below a cent; its own rounding
#: acts only at the 34th digit and never replaces the utility's mode.
CALC: Final = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def to_money(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """``value`` as a Decimal; a float (or bool) raises :class:`MoneyError`.

    Strings are read exactly (``"1027.20"``); a string that is not a finite
    number raises too.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise MoneyError("not a number", field=field, value=value) from None
    else:
        raise MoneyError("money must be Decimal, int or str, never float", field=field, value=value)
    if not result.is_finite():
        raise MoneyError("money must be finite", field=field, value=value)
    return result


@dataclass(frozen=True, slots=True)
class Rounding:
    """A rounding mode and the quantum it rounds to (0.01 unless a currency says otherwise)."""

    mode: str = decimal.ROUND_HALF_UP
    quantum: Decimal = CENT

    def __post_init__(self) -> None:
        if self.mode not in ROUNDING_MODES:
            raise SettingsError("unknown rounding mode", field="rounding", value=self.mode)
        if not isinstance(self.quantum, Decimal) or self.quantum <= 0:
            raise SettingsError(
                "the rounding quantum is a positive Decimal", field="quantum", value=self.quantum
            )

    def __call__(self, amount: Decimal) -> Decimal:
        """``amount`` rounded to the quantum with this mode."""
        return amount.quantize(self.quantum, rounding=self.mode, context=CALC)


HALF_UP: Final = Rounding()
_QUANTA: Final = tuple(Decimal(1).scaleb(-places) for places in range(5))


@dataclass(frozen=True, slots=True)
class MoneyFormat:
    """How amounts are written in SMS: ``1027,20 EUR``, ``€1,027.20``, a rouble sign after.

    The symbol is kept short (at most 4 characters): reply templates are proven
    to fit one SMS with it.
    """

    symbol: str = "р"  # noqa: RUF001 - the Russian rouble's short form
    decimal_separator: str = ","
    group_separator: str = ""
    symbol_first: bool = False
    space: bool = True
    decimals: int = 2

    def __post_init__(self) -> None:
        if len(self.symbol) > 4:
            raise SettingsError(
                "a currency symbol is at most 4 characters", field="symbol", value=self.symbol
            )
        if len(self.decimal_separator) != 1 or len(self.group_separator) > 1:
            raise SettingsError(
                "separators are one character (the group separator may be empty)",
                field="money_format",
                value=(self.decimal_separator, self.group_separator),
            )
        if not 0 <= self.decimals <= 4:
            raise SettingsError("decimals is 0 to 4", field="decimals", value=self.decimals)

    def number(self, amount: Decimal, rounding: Rounding = HALF_UP) -> str:
        """``amount`` without symbol or sign, rounded for display: ``1027,20``."""
        quantum = _QUANTA[self.decimals]
        text = f"{abs(amount).quantize(quantum, rounding=rounding.mode, context=CALC):f}"
        whole, _, fraction = text.partition(".")
        if self.group_separator and len(whole) > 3:
            head = len(whole) % 3 or 3
            groups = [whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)]
            whole = self.group_separator.join(groups)
        return f"{whole}{self.decimal_separator}{fraction}" if fraction else whole

    def __call__(self, amount: Decimal, rounding: Rounding = HALF_UP) -> str:
        """``amount`` (its absolute value: wording says debt or advance) with the symbol."""
        number = self.number(amount, rounding)
        if not self.symbol:
            return number
        gap = " " if self.space else ""
        return f"{self.symbol}{gap}{number}" if self.symbol_first else f"{number}{gap}{self.symbol}"


def money_sum(amounts: Iterable[Decimal], start: Decimal = ZERO) -> Decimal:
    """``start`` plus ``amounts``, added in :data:`CALC` whatever the caller's context."""
    add = CALC.add
    result = start
    for amount in amounts:
        result = add(result, amount)
    return result
