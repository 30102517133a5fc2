"""Notices runs over HTTP, on both stores: the same counts as the command's JSON line."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx

from billing_core import FrequencyCaps, NoticeKind, NoticeRecord, UtilitySettings
from smpp_engine.http_api import ApiContext
from smpp_engine.store import BillingStore, Store, import_billing_data, load_billing_json

from ..store.conftest import open_test_store
from .conftest import Api, client_for, context_for

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "billing-example.json"
AT = "2024-03-20T09:00:00+00:00"  # a reminder day; 8880001 owes 10,000.00
# 9990001 owes three months of electricity: a debt notice and a disconnection warning.
GOING = {"debt": 2, "disconnection_warning": 1, "reading_reminder": 6}


async def _load(api: Api) -> None:
    report = await import_billing_data(
        cast(BillingStore, api.store), load_billing_json(str(EXAMPLE))
    )
    assert not report.problems


async def test_plan_previews_and_run_queues_each_notice_once(api: Api) -> None:
    await _load(api)
    plan = await api.client.post("/v1/billing/notices/plan", json={"now": AT})
    assert plan.status_code == 200, plan.text
    assert plan.json()["going"] == GOING and plan.json()["queued"] == {}
    assert plan.json()["dry_run"] is True
    dry = await api.client.post("/v1/billing/notices/run", json={"now": AT, "dry_run": True})
    assert dry.json()["queued"] == {}
    assert sum((await api.store.count_by_state()).values()) == 0
    run = await api.client.post("/v1/billing/notices/run", json={"now": AT})
    assert run.status_code == 200, run.text
    answer = run.json()
    assert answer["queued"] == GOING and answer["dry_run"] is False
    assert answer["skipped"] == {
        "debt": {"below_threshold": 3},
        "disconnection_warning": {"below_threshold": 4},
        "meter_verification": {"not_reminder_day": 5},  # E-1's is due 15.05
        "payment_reminder": {"below_threshold": 3, "not_reminder_day": 2},  # overdue
    }
    assert sum((await api.store.count_by_state()).values()) == 9
    again = (await api.client.post("/v1/billing/notices/run", json={"now": AT})).json()
    assert again["queued"] == {} and again["skipped"]["debt"]["already_sent"] == 2
    assert sum((await api.store.count_by_state()).values()) == 9


async def test_the_engines_caps_apply(api: Api) -> None:
    await _load(api)
    sent = datetime.fromisoformat(AT)
    await cast(BillingStore, api.store).save_notices(
        [NoticeRecord(NoticeKind.READING_REMINDER, "8880001", "79160000004", "t", sent, sent)]
    )

    def one_a_day(utility: UtilitySettings) -> UtilitySettings:
        rules = dataclasses.replace(utility.notices, caps=FrequencyCaps(1, 4, 16))
        return dataclasses.replace(utility, notices=rules)

    later = {"now": (sent + timedelta(hours=6)).isoformat()}
    free = (await api.client.post("/v1/billing/notices/plan", json=later)).json()
    assert free["going"]["debt"] == 2  # 8880001 and 9990001
    context = dataclasses.replace(api.context, notice_rules=one_a_day)
    async with client_for(context) as client:
        held = (await client.post("/v1/billing/notices/plan", json=later)).json()
    # The reminder sent six hours before counts: 8880001's debt notice waits for a later run.
    assert held["skipped"]["debt"] == {"below_threshold": 3, "cap_reached": 1}
    assert held["going"]["debt"] == 1


async def test_mistakes_and_a_store_without_billing_data(api: Api) -> None:
    empty = await api.client.post("/v1/billing/notices/run", json={})
    assert empty.status_code == 404 and "billing import" in empty.text
    await _load(api)
    for now in ("yesterday", "2024-03-20T09:00:00"):
        bad = await api.client.post("/v1/billing/notices/plan", json={"now": now})
        assert bad.status_code == 422 and bad.json()["field"] == "now"
    odd = await api.client.post("/v1/billing/notices/run", json={"now": AT, "kind": "debt"})
    assert odd.status_code == 422
    transport = api.client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as anonymous:
        assert (await anonymous.post("/v1/billing/notices/run", json={})).status_code == 401


def _spanish_in_euros() -> dict[str, Any]:
    """The example as a Spanish utility in euros; 1234567890 owes 2.500,00 € due three
    days after AT."""
    document = load_billing_json(str(EXAMPLE))
    document["utilities"][0].update(
        language="es",
        money_format={"symbol": "€", "decimal_separator": ",", "group_separator": "."},
        # No reading reminders: with the debt notice they would fill the day's caps.
        notices={"reminder_days": []},
    )
    for account in document["accounts"]:
        if account["number"] == "1234567890":
            account.update(
                opening_balance="2500.00", opening_period="2024-02", opening_due_date="2024-03-23"
            )
    return document


async def _reminder_sent_on(store: Store, context: ApiContext, route: str) -> list[str]:
    billing = cast(BillingStore, store)
    assert not (await import_billing_data(billing, _spanish_in_euros())).problems
    async with client_for(dataclasses.replace(context, billing_route=route)) as client:
        run = await client.post("/v1/billing/notices/run", json={"now": AT})
        assert run.status_code == 200, run.text
    return [
        s.notice.text
        for s in await billing.recent_notices("1234567890", limit=10)
        if s.notice.kind is NoticeKind.PAYMENT_REMINDER
    ]


async def test_a_run_sizes_its_texts_as_the_billing_route_sends_them(
    api: Api, tmp_path: Path
) -> None:
    """The payment reminder "Cta 1234567890: le recordamos que debe pagar 2.500,00 € antes
    del 23/03" is 71 characters: one SMS on a GSM 7-bit route (``main``), but on the IA5
    route (``backup``: "€" is not ASCII, so UCS-2 at 70 a part) the shorter variant is
    the one that fits."""
    assert await _reminder_sent_on(api.store, api.context, "backup") == [
        "Recuerde pagar 2.500,00 € antes del 23/03"
    ]
    kind = "postgresql" if "postgres" in type(api.store).__module__ else "sqlite"
    (tmp_path / "gsm").mkdir()
    async for other in open_test_store(kind, tmp_path / "gsm"):
        assert await _reminder_sent_on(other, context_for(other)[0], "main") == [
            "Cta 1234567890: le recordamos que debe pagar 2.500,00 € antes del 23/03"
        ]


async def _confirmation_sent_on(store: Store, context: ApiContext, route: str) -> list[str]:
    billing = cast(BillingStore, store)
    assert not (await import_billing_data(billing, _spanish_in_euros())).problems
    async with client_for(dataclasses.replace(context, billing_route=route)) as client:
        posted = await client.post(
            "/v1/billing/accounts/1234567890/payments",
            json={"amount": "1000.00", "reference": "pago-1"},
        )
        assert posted.status_code == 201, posted.text
    return [
        s.notice.text
        for s in await billing.recent_notices("1234567890", limit=10)
        if s.notice.kind is NoticeKind.PAYMENT_CONFIRMATION
    ]


async def test_a_payment_confirmation_is_sized_as_the_billing_route_sends_it(
    api: Api, tmp_path: Path
) -> None:
    """The confirmation goes on the billing route and is planned as that route writes
    text: its long form with the account number fits one SMS on the GSM 7-bit route
    (``main``); on the IA5 route (``backup``: "€" is not ASCII, so UCS-2 at 70 a part)
    the long form would take two, and the shorter one is sent."""
    on_ia5 = await _confirmation_sent_on(api.store, api.context, "backup")
    kind = "postgresql" if "postgres" in type(api.store).__module__ else "sqlite"
    (tmp_path / "gsm").mkdir()
    async for other in open_test_store(kind, tmp_path / "gsm"):
        on_gsm = await _confirmation_sent_on(other, context_for(other)[0], "main")
    assert len(on_gsm) == len(on_ia5) >= 1
    assert all(text.startswith("Cta 1234567890: pago de 1.000,00 € recibido.") for text in on_gsm)
    assert all(text.startswith("Pago de 1.000,00 € recibido.") for text in on_ia5)
    assert all(len(text) <= 70 for text in on_ia5)
