"""The billing account summary and payments over HTTP, on both stores."""
# ruff: noqa: RUF001 - the confirmations are Russian text

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import cast

from smpp_engine.store import BillingStore, import_billing_data, load_billing_json

from .conftest import Api

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "billing-example.json"
ACCOUNT = "1234567890"


async def _load(api: Api) -> None:
    report = await import_billing_data(
        cast(BillingStore, api.store), load_billing_json(str(EXAMPLE))
    )
    assert not report.problems


async def test_the_account_summary_has_balance_debts_phones_and_meters(api: Api) -> None:
    await _load(api)
    answer = await api.client.get(f"/v1/billing/accounts/{ACCOUNT}")
    assert answer.status_code == 200, answer.text
    account = answer.json()
    assert account["account"] == ACCOUNT
    assert account["phones"] == [{"msisdn": "79161234567", "opted_out": False}]
    assert isinstance(account["balance"]["amount"], str)
    assert account["meters"], account
    registers = [r for meter in account["meters"] for r in meter["registers"]]
    assert any(r["last_reading"] is not None for r in registers)
    assert (await api.client.get("/v1/billing/accounts/no-such")).status_code == 404


async def test_a_payment_is_posted_once_per_reference_and_its_confirmation_queued(
    api: Api,
) -> None:
    await _load(api)
    before = (await api.client.get(f"/v1/billing/accounts/{ACCOUNT}")).json()["balance"]
    url = f"/v1/billing/accounts/{ACCOUNT}/payments"
    first = await api.client.post(url, json={"amount": "500.00", "reference": "BANK-1"})
    assert first.status_code == 201, first.text
    posted = first.json()
    assert posted["paid"] == "500.00" and posted["duplicate"] is False
    assert len(posted["message_ids"]) == 1
    assert posted["confirmations"][0].startswith(f"ЛС{ACCOUNT}: оплата 500,00 р получена")
    queued = await api.store.get(posted["message_ids"][0])
    assert queued is not None
    assert (queued.destination, queued.text, queued.priority) == (
        "79161234567",
        posted["confirmations"][0],
        1,
    )
    again = await api.client.post(url, json={"amount": "500.00", "reference": "BANK-1"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    after = (await api.client.get(f"/v1/billing/accounts/{ACCOUNT}")).json()["balance"]
    assert Decimal(after["payments"]) - Decimal(before["payments"]) == Decimal("500.00")
    assert sum((await api.store.count_by_state()).values()) == 1


async def test_the_account_shows_its_last_notices_with_their_delivery(api: Api) -> None:
    await _load(api)
    url = f"/v1/billing/accounts/{ACCOUNT}/payments"
    ids = []
    for n in (1, 2):
        posted = await api.client.post(url, json={"amount": "10.00", "reference": f"BANK-{n}"})
        ids.extend(posted.json()["message_ids"])
    account = (await api.client.get(f"/v1/billing/accounts/{ACCOUNT}")).json()
    notices = account["notices"]
    assert [n["message_id"] for n in notices] == ids[::-1]  # newest first
    newest = notices[0]
    assert newest["kind"] == "payment_confirmation"
    assert newest["msisdn"] == "79161234567"
    # Queued, not sent yet: no SMSC id and no delivery time.
    assert (newest["state"], newest["smsc_message_ids"], newest["delivered_at"]) == (
        "pending",
        [],
        None,
    )


async def test_a_payment_amount_is_a_decimal_string_never_a_number(sqlite_api: Api) -> None:
    await _load(sqlite_api)
    url = f"/v1/billing/accounts/{ACCOUNT}/payments"
    for amount in (500.0, "0", "-3", "1.005", "1e3", "NaN"):
        answer = await sqlite_api.client.post(url, json={"amount": amount, "reference": "R"})
        assert answer.status_code == 422, (amount, answer.text)
        assert answer.json()["field"] == "amount"
    bad_period = await sqlite_api.client.post(
        url, json={"amount": "5", "reference": "R", "period": "2024-13"}
    )
    assert bad_period.json()["field"] == "period"
    unknown = await sqlite_api.client.post(
        "/v1/billing/accounts/999/payments", json={"amount": "5", "reference": "R"}
    )
    assert unknown.status_code == 404
