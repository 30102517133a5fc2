"""The typed errors of the billing core: each carries what an operator needs to act."""

from __future__ import annotations

import enum


class BillingError(Exception):
    """Base of every error the billing core raises.

    ``field`` names what is at fault (a setting, a tariff, an SMS token) and
    ``value`` what was found there; ``account_number`` is set when one account
    is concerned.
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str | None = None,
        value: object = None,
        account_number: str | None = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        self.account_number = account_number
        super().__init__(str(self))

    def __str__(self) -> str:
        details = []
        if self.account_number is not None:
            details.append(f"account {self.account_number}")
        if self.field is not None:
            details.append(f"field {self.field}")
        if self.value is not None:
            details.append(f"value {self.value!r}")
        return f"{self.reason} ({', '.join(details)})" if details else self.reason


class SettingsError(BillingError, ValueError):
    """A utility setting, tariff or schedule that cannot be used as given."""


class MoneyError(BillingError, TypeError):
    """An amount that is not a Decimal (a float, most often): money never passes through float."""


class TariffError(BillingError):
    """No tariff, or an ambiguous one, for a service on some day of a billed interval."""


class ParseProblem(enum.Enum):
    """Why an SMS could not be read; the reply quotes one correct example instead."""

    EMPTY = "empty"
    UNKNOWN_WORD = "unknown_word"
    BAD_NUMBER = "bad_number"
    MISSING_VALUE = "missing_value"
    MIXED_VALUES = "mixed_values"
    UNEXPECTED = "unexpected"
    TOO_LONG = "too_long"


class SmsParseError(BillingError, ValueError):
    """An SMS that is not a command. The only exception :func:`parse_sms` raises.

    ``problem`` says why, ``token`` is the offending piece of the text (as
    normalised for matching) and ``text`` the SMS as received.
    """

    def __init__(self, problem: ParseProblem, *, token: str, text: str) -> None:
        self.problem = problem
        self.token = token
        self.text = text
        super().__init__(f"SMS not understood: {problem.value}", field="text", value=token)
