"""The demo utility: an electricity supplier with two-zone meters, some consumers in debt.

The document is in the ``billing import`` format (see
``smpp_engine/store/billing/importing.py``), so the demo loads it exactly as an
operator loads real data. Everything derives from the consumer's index: the
demo is the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["Consumer", "consumer", "utility_document"]

UTILITY = "demo"
SENDER = "DemoPower"
SHORT_CODE = "5566"
# Every third consumer owes money: they get the debt notice.
_DEBTOR_EVERY = 3
# Every fifth consumer's meter is due for verification 34-41 days after the document's
# day: with the default 30 days ahead, the invitations go 4-11 days after it.
_VERIFIED_EVERY = 5
_VERIFICATION_AHEAD = 34


@dataclass(frozen=True, slots=True)
class Consumer:
    """One demo consumer: their phone, account, meter and last month's register values."""

    index: int
    msisdn: str
    account: str
    meter: str
    day_register: int
    night_register: int
    debt: Decimal
    verification_in: int | None = None  # days from the document's day to the verification

    def verification_date(self, today: date) -> date | None:
        """When the meter's next verification is due, for a document made on ``today``."""
        if self.verification_in is None:
            return None
        return today + timedelta(days=self.verification_in)

    @property
    def in_debt(self) -> bool:
        return self.debt > 0

    def reading_text(self) -> str:
        """A plausible reading a month on, as a consumer types it (day then night)."""
        day = self.day_register + 150 + self.index % 250
        night = self.night_register + 60 + self.index % 120
        return f"{day} {night}"


def consumer(index: int) -> Consumer:
    debt = Decimal(0)
    if index % _DEBTOR_EVERY == 0:
        debt = Decimal(20 + (index * 37) % 280) + Decimal(index % 100) / 100
    return Consumer(
        index=index,
        msisdn=f"4477009{index:05d}",
        account=f"50{index:06d}",
        meter=f"DM-{index:06d}",
        day_register=10_000 + (index * 13) % 5_000,
        night_register=4_000 + (index * 7) % 3_000,
        debt=debt,
        verification_in=(_VERIFICATION_AHEAD + index % 8 if index % _VERIFIED_EVERY == 2 else None),
    )


def utility_document(consumers: int, *, today: date) -> dict[str, Any]:
    """The import document: the utility, its tariff, ``consumers`` accounts with meters.

    Last month's readings were taken 30 days before ``today``; debts are for the
    month before last and overdue since its due day; some meters are due for
    verification five to six weeks on.
    """
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_before = (last_month - timedelta(days=1)).replace(day=1)
    taken_at = datetime.combine(today - timedelta(days=30), datetime.min.time(), UTC)
    document: dict[str, Any] = {
        "utilities": [
            {
                "id": UTILITY,
                "default": True,
                "time_zone": "UTC",
                "currency": "EUR",
                "money_format": {"symbol": "EUR", "decimal_separator": ".", "group_separator": ","},
                "language": "en",
                "due_day": 15,
                "sender_id": SENDER,
                "registration_hint": "demopower.example",
                # Open all month, so the demo's readings count whatever the date.
                "reading_window": {"first_day": 1, "last_day": 31, "outside": "next_period"},
                "rounding": {"mode": "ROUND_HALF_UP", "quantum": "0.01"},
            }
        ],
        "tariffs": [
            {
                "id": 1,
                "utility": UTILITY,
                "service": "electricity",
                "valid_from": "2020-01-01",
                "pricing": {"kind": "zoned", "prices": {"T0": "0.25", "T1": "0.31", "T2": "0.12"}},
            }
        ],
        "accounts": [],
        "bindings": [],
        "meters": [],
        "readings": [],
    }
    for index in range(consumers):
        c = consumer(index)
        account: dict[str, Any] = {"number": c.account, "utility": UTILITY}
        if c.in_debt:
            account.update(
                opening_balance=str(c.debt),
                opening_period=f"{month_before.year}-{month_before.month:02d}",
                opening_due_date=month_before.replace(day=15).isoformat(),
            )
        document["accounts"].append(account)
        document["bindings"].append({"msisdn": c.msisdn, "account": c.account})
        meter: dict[str, Any] = {
            "serial": c.meter,
            "account": c.account,
            "service": "electricity",
            "digits": 6,
            "registers": [{"zone": "T1"}, {"zone": "T2"}],
        }
        verification = c.verification_date(today)
        if verification is not None:
            meter["verification_date"] = verification.isoformat()
        document["meters"].append(meter)
        for zone, value in (("T1", c.day_register), ("T2", c.night_register)):
            document["readings"].append(
                {"meter": c.meter, "zone": zone, "value": str(value),
                 "taken_at": taken_at.isoformat()}
            )  # fmt: skip
    return document
