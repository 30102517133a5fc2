"""Phone numbers as typed by people, normalised to E.164 digits without the ``+``.

Accepted: ``+44 7700 900123``, ``0044 7700 900123``, ``(44) 7700-900123``,
``+44 (0)7700 900123`` (the written-out trunk prefix is dropped) and, when a
default country code is configured, a national number with one leading ``0``
(``07700 900123``). Digits without any prefix are taken as already
international: a CSV column of ``447700900123`` is the common case, and a national
number without its ``0`` cannot be told apart from one.

The result has 8 to 15 digits (E.164 allows 15; fewer than 8 is no mobile
number anywhere) and does not start with 0, so ``destination_address("+" + msisdn)``
of the protocol core accepts it as TON 1 / NPI 1.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import CampaignError

MIN_DIGITS: Final = 8
MAX_DIGITS: Final = 15

# Separators people put in numbers (spaces of any width, dashes, dots,
# parentheses). Anything else that is not a digit or a leading "+" is refused
# rather than guessed at.
_SEPARATORS: Final = dict.fromkeys(map(ord, " \t-.()\u00a0\u2007\u2009\u202f\u2010\u2011"))
# A spreadsheet that formatted the column as a number: "4.47701E+11".
_SCIENTIFIC: Final = re.compile(r"^\+?\d+[.,]\d*E\+?\d+$", re.IGNORECASE)
_COUNTRY_CODE: Final = re.compile(r"^[1-9][0-9]{0,2}$")


class MsisdnError(CampaignError):
    """A phone number that cannot be normalised; ``value`` is the text as given."""


def check_country_code(code: str, *, field: str = "default_country_code") -> str:
    """``code`` if it is 1 to 3 digits not starting with 0, else :class:`MsisdnError`."""
    if not _COUNTRY_CODE.match(code):
        raise MsisdnError(
            "a country code is 1 to 3 digits, not starting with 0", field=field, value=code
        )
    return code


def normalise_msisdn(
    text: str, *, default_country_code: str | None = None, field: str = "msisdn"
) -> str:
    """``text`` as E.164 digits without ``+``, or :class:`MsisdnError` naming ``field``."""
    value = text.strip()
    if value.isdigit() and value.isascii() and not value.startswith("0"):
        # The fast path: a CSV column that is already clean.
        return _checked(value, text, field)
    international = value.startswith(("+", "00"))
    if international and "(0)" in value:
        value = value[0] + value[1:].replace("(0)", "", 1)
    compact = value.translate(_SEPARATORS)
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0") and compact.isdigit():
        if default_country_code is None:
            raise MsisdnError(
                "a national number (leading 0) and no default country code is configured",
                field=field,
                value=text,
            )
        digits = check_country_code(default_country_code) + compact[1:]
    else:
        digits = compact
    if not (digits.isdigit() and digits.isascii()):
        raise MsisdnError(_why_not_digits(value, digits), field=field, value=text)
    if digits.startswith("0"):
        raise MsisdnError(
            "the country code after '+' or '00' cannot start with 0", field=field, value=text
        )
    return _checked(digits, text, field)


def _checked(digits: str, text: str, field: str) -> str:
    if len(digits) < MIN_DIGITS:
        raise MsisdnError(
            f"too short: {len(digits)} digits, at least {MIN_DIGITS}", field=field, value=text
        )
    if len(digits) > MAX_DIGITS:
        raise MsisdnError(
            f"too long: {len(digits)} digits, at most {MAX_DIGITS}", field=field, value=text
        )
    return digits


def _why_not_digits(value: str, digits: str) -> str:
    if not value:
        return "empty"
    if not digits:
        return "no digits after the international prefix"
    if _SCIENTIFIC.match(value):
        return "a number in scientific notation (format the column as text in the spreadsheet)"
    if any(char.isalpha() for char in value):
        return "contains letters"
    return "only digits, spaces, '-', '.', '(', ')' and a leading '+' are allowed"
