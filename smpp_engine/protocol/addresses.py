"""Source and destination addresses, checked before anything reaches the SMSC.

An alphanumeric sender is TON 5 / NPI 0 with at most 11 characters (the GSM
originating-address limit); a numeric address is at most 16 digits, TON 1
(international) or 2 (national) with NPI 1 (E.164). Anything else is refused
with an error naming the field, the value and the status an SMSC would give.

The characters of an alphanumeric sender are the printable ASCII ones that GSM
7-bit carries in one septet: source_addr is a C-octet string, so "€" or "Δ"
(GSM, but not ASCII) cannot even be written into the PDU, and SMSCs mangle or
refuse the escaped characters ("[", "{", "~") and control characters.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import PduError
from .gsm import BASIC_TABLE
from .pdus import Npi, Ton
from .status import CommandStatus

MAX_ALPHANUMERIC = 11
MAX_DIGITS = 16
#: What an alphanumeric sender may contain: printable ASCII in the GSM basic table.
SENDER_CHARACTERS = frozenset(c for c in BASIC_TABLE if " " <= c <= "~")


class Address(NamedTuple):
    ton: int
    npi: int
    addr: str


def sender_address(sender: str) -> Address:
    """The TON/NPI an SMSC expects for ``sender`` ("ACME", "+447700900123", "1234").

    A leading ``+`` or ``00`` means international; other digit strings are
    national (short codes included).
    """
    return _classify(sender, "source_addr", alphanumeric_allowed=True)


def destination_address(number: str) -> Address:
    """The TON/NPI for a handset number; alphanumeric destinations are refused."""
    return _classify(number, "destination_addr", alphanumeric_allowed=False)


def check_address(address: Address, field: str) -> Address:
    """Refuse an explicitly given TON/NPI/address combination the SMSC would refuse."""
    source = field.startswith("source")
    ton_status = CommandStatus.ESME_RINVSRCTON if source else CommandStatus.ESME_RINVDSTTON
    npi_status = CommandStatus.ESME_RINVSRCNPI if source else CommandStatus.ESME_RINVDSTNPI
    addr_status = CommandStatus.ESME_RINVSRCADR if source else CommandStatus.ESME_RINVDSTADR
    ton, npi, addr = address
    if ton == Ton.ALPHANUMERIC:
        if not source:
            raise PduError(
                "an alphanumeric address can only be a sender",
                status=ton_status,
                field=f"{field}_ton",
                value=ton,
            )
        if npi != Npi.UNKNOWN:
            raise PduError(
                "an alphanumeric sender takes NPI 0",
                status=npi_status,
                field=f"{field}_npi",
                value=npi,
            )
        if not addr or len(addr) > MAX_ALPHANUMERIC:
            raise PduError(
                f"an alphanumeric sender is 1 to {MAX_ALPHANUMERIC} characters",
                status=addr_status,
                field=field,
                value=addr,
            )
        bad = next((c for c in addr if c not in SENDER_CHARACTERS), None)
        if bad is not None:
            raise PduError(
                f"an alphanumeric sender takes letters A-Z a-z, digits, space and "
                f"GSM punctuation only, not {bad!r}",
                status=addr_status,
                field=field,
                value=addr,
            )
        return address
    if ton in (Ton.INTERNATIONAL, Ton.NATIONAL):
        if npi != Npi.ISDN:
            raise PduError(
                "a numeric address takes NPI 1 (E.164)",
                status=npi_status,
                field=f"{field}_npi",
                value=npi,
            )
        if not (addr.isascii() and addr.isdigit()) or len(addr) > MAX_DIGITS:
            raise PduError(
                f"a numeric address is 1 to {MAX_DIGITS} digits",
                status=addr_status,
                field=field,
                value=addr,
            )
        if ton == Ton.INTERNATIONAL and addr.startswith("0"):
            raise PduError(
                "an international number starts with the country code, not 0",
                status=addr_status,
                field=field,
                value=addr,
            )
        return address
    raise PduError(
        "TON must be 1 (international), 2 (national) or, for a sender, 5 (alphanumeric)",
        status=ton_status,
        field=f"{field}_ton",
        value=ton,
    )


def _classify(text: str, field: str, *, alphanumeric_allowed: bool) -> Address:
    value = text.strip().replace(" ", "")
    if value.startswith("+"):
        return check_address(Address(Ton.INTERNATIONAL, Npi.ISDN, value[1:]), field)
    if value.startswith("00") and value.isdigit():
        return check_address(Address(Ton.INTERNATIONAL, Npi.ISDN, value[2:]), field)
    if value.isascii() and value.isdigit():
        return check_address(Address(Ton.NATIONAL, Npi.ISDN, value), field)
    if alphanumeric_allowed:
        return check_address(Address(Ton.ALPHANUMERIC, Npi.UNKNOWN, text.strip()), field)
    raise PduError(
        "a destination is a phone number (digits, optionally starting with + or 00)",
        status=CommandStatus.ESME_RINVDSTADR,
        field=field,
        value=text,
    )
