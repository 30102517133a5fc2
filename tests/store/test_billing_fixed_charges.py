"""A period's fixed charge on both stores: billed with the first accepted reading of the
period, once, even when two readings of the period are saved side by side.

Account 5550001 of the example has cold water (W-1, last read 100.0 in February)
priced by the spec's graduated blocks and a fixed 9.31 a month.
"""
# ruff: noqa: RUF001 - Russian texts are test data

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest

from billing_core import ChargeKind, OutcomeStatus, Period, Service, process_sms
from smpp_engine.store import BillingStore, Store, import_billing_data

from ..billing.builders import SIZER
from .test_billing_repository import NOW, TWO_ACCOUNTS, example, load, sms

D = Decimal
WATER_ACCOUNT = "5550001"
MARCH = Period(2024, 3)


@pytest.fixture
async def repo(store: Store) -> BillingStore:
    billing = cast(BillingStore, store)
    assert (await import_billing_data(billing, example())).ok
    return billing


async def test_the_first_reading_of_the_period_bills_the_fixed_charge_once(
    repo: BillingStore,
) -> None:
    before = await load(repo, TWO_ACCOUNTS, WATER_ACCOUNT)
    assert before.account is not None and before.account.fixed_billed == frozenset()
    outcome, saved = await sms(repo, TWO_ACCOUNTS, "5550001 140,0", "mo-w1")
    assert outcome.status is OutcomeStatus.ACCEPTED and saved
    # The spec's 35.01: 40 m³ in blocks 25.70, and the month's fixed 9.31.
    assert [(c.kind, c.amount) for c in outcome.charges] == [
        (ChargeKind.USAGE, D("25.70")),
        (ChargeKind.FIXED, D("9.31")),
    ]
    assert outcome.balance_after == D("35.01")
    assert outcome.reply is not None and "Долг 35,01 р" in outcome.reply.text
    after = await load(repo, TWO_ACCOUNTS, WATER_ACCOUNT, "mo-w2")
    assert after.account is not None
    assert after.account.fixed_billed == frozenset({(Service.COLD_WATER, MARCH)})
    assert after.account.ledger.balance.amount == D("35.01")

    later = NOW + timedelta(hours=1)
    second, saved = await sms(repo, TWO_ACCOUNTS, "5550001 142,0", "mo-w2", later)
    assert second.status is OutcomeStatus.ACCEPTED and saved
    assert [(c.kind, c.amount) for c in second.charges] == [(ChargeKind.USAGE, D("0.70"))]
    assert second.balance_after == D("35.71")
    # A redelivered MO changes nothing.
    again, saved = await sms(repo, TWO_ACCOUNTS, "5550001 140,0", "mo-w1")
    assert again.status is OutcomeStatus.ALREADY_PROCESSED and not saved
    assert (await repo.load_ledger(WATER_ACCOUNT)).balance.amount == D("35.71")


async def test_two_first_readings_saved_side_by_side_bill_the_fixed_charge_once(
    repo: BillingStore,
) -> None:
    # Both loaded before either is saved: each thinks it is the period's first.
    first = await load(repo, TWO_ACCOUNTS, WATER_ACCOUNT, "mo-a")
    second = await load(repo, TWO_ACCOUNTS, WATER_ACCOUNT, "mo-b")
    a = process_sms(first, "5550001 140,0", mo_message_id="mo-a", now=NOW, sizer=SIZER)
    b = process_sms(second, "5550001 130,0", mo_message_id="mo-b", now=NOW, sizer=SIZER)
    assert ChargeKind.FIXED in {c.kind for c in a.charges}
    assert ChargeKind.FIXED in {c.kind for c in b.charges}
    assert await repo.save_outcome(a)
    assert await repo.save_outcome(b)
    ledger = await repo.load_ledger(WATER_ACCOUNT)
    # 25.70 + 9.31, then 30 m³ (18 x 0.35 + 12 x 0.70 = 14.70) without a second 9.31.
    assert ledger.balance.amount == D("49.71")
    (item,) = ledger.open_items
    assert (item.period, item.principal) == (MARCH, D("49.71"))
