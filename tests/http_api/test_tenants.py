"""Tenants over HTTP: a tenant's key sends from its senders, within its quotas and
throughput, and sees only its own messages, campaigns, usage and dead letters;
an operator's key (no tenant) sees everything, as every key did before tenants."""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import httpx
import pytest

from smpp_engine.http_api.tenancy import Tenant, TenantGate
from smpp_engine.settings import hash_api_key
from smpp_engine.store import Accepted, NewMessage, Store
from smpp_engine.store.callbacks import OutboxStatus

from ..store.conftest import open_test_store
from .conftest import KEY, Api, client_for, context_for

ACME_KEY = "k-acme-tenant-key-1"
BETA_KEY = "k-beta-tenant-key-2"
NOW = 1_765_000_000.0  # 2025-12-06 05:46:40 UTC

ACME = Tenant(
    name="acme",
    senders=frozenset({"ACME", "ACME2"}),
    default_sender="ACME",
    daily_quota=3,
    monthly_quota=100,
    callback_url="https://hooks.acme.example/sms",
    callback_hosts=frozenset({"hooks.acme.example"}),
)
BETA = Tenant(name="beta", throughput=1.0)


@dataclasses.dataclass
class Tenants:
    api: Api
    acme: httpx.AsyncClient
    beta: httpx.AsyncClient
    clock: list[float]


@pytest.fixture(params=["sqlite", "postgresql"])
async def tenants(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Tenants]:
    async for store in open_test_store(request.param, tmp_path):
        context, readiness = context_for(store)
        clock = [NOW]
        context.clock = functools.partial(operator.getitem, clock, 0)

        async def accept(
            messages: Sequence[NewMessage], store: Store = store, clock: list[float] = clock
        ) -> list[Accepted]:
            return await store.accept(messages, now=clock[0])

        context.accept = accept
        # Fresh tenants per test: the throughput limiter lives in the tenant. The keys
        # go in as a reload gives them (the context's key ring is made from them).
        context.replace_keys(
            {
                **context.api_key_digests,
                "acme-key": hash_api_key(ACME_KEY),
                "beta-key": hash_api_key(BETA_KEY),
            },
            context.api_key_scopes,
            TenantGate(
                {"acme": dataclasses.replace(ACME), "beta": dataclasses.replace(BETA)},
                {"acme-key": "acme", "beta-key": "beta"},
            ),
        )
        async with (
            client_for(context) as ops,
            client_for(context) as acme,
            client_for(context) as beta,
        ):
            acme.headers["Authorization"] = f"Bearer {ACME_KEY}"
            beta.headers["Authorization"] = f"Bearer {BETA_KEY}"
            yield Tenants(Api(store, context, ops, readiness), acme, beta, clock)


def _sms(**fields: object) -> dict[str, object]:
    return {"to": "+447700900123", "text": "Your bill is ready", **fields}


async def test_a_tenant_sends_from_its_senders_and_sees_only_its_messages(
    tenants: Tenants,
) -> None:
    sent = await tenants.acme.post("/v1/messages", json=_sms())  # the default sender
    assert sent.status_code == 201, sent.text
    acme_id = sent.json()["id"]
    view = await tenants.api.store.get(acme_id)
    assert view is not None and (view.tenant, view.source) == ("acme", "ACME")
    refused = await tenants.acme.post("/v1/messages", json=_sms(**{"from": "BETA"}))
    assert refused.status_code == 422
    assert refused.json()["field"] == "from"
    assert "not a sender id of tenant 'acme'" in refused.json()["detail"]
    beta = await tenants.beta.post("/v1/messages", json=_sms(**{"from": "ANYONE"}))
    assert beta.status_code == 201, beta.text  # a tenant with no senders list: any
    beta_id = beta.json()["id"]
    # Each sees its own; the other's is answered as none; the operator sees both.
    assert (await tenants.acme.get(f"/v1/messages/{acme_id}")).status_code == 200
    assert (await tenants.acme.get(f"/v1/messages/{beta_id}")).status_code == 404
    assert (await tenants.beta.get(f"/v1/messages/{acme_id}")).status_code == 404
    for message_id in (acme_id, beta_id):
        assert (await tenants.api.client.get(f"/v1/messages/{message_id}")).status_code == 200
    # The operator's key needs a sender: it has no default.
    missing = await tenants.api.client.post("/v1/messages", json=_sms())
    assert (missing.status_code, missing.json()["field"]) == (422, "from")


async def test_quota_is_counted_in_the_store_and_refused_over_it(tenants: Tenants) -> None:
    keyed = _sms(idempotency_key="bill-1")
    assert (await tenants.acme.post("/v1/messages", json=keyed)).status_code == 201
    # Sent again under its key: the same message, not a second one.
    assert (await tenants.acme.post("/v1/messages", json=keyed)).status_code == 200
    batch = await tenants.acme.post("/v1/messages/batch", json={"messages": [_sms(), _sms()]})
    assert batch.status_code == 201, batch.text
    over = await tenants.acme.post("/v1/messages", json=_sms())
    assert over.status_code == 429
    assert over.json()["error"] == "quota exceeded"
    assert "daily quota of 3" in over.json()["detail"]
    # Until midnight UTC: 2025-12-07T00:00:00Z.
    assert int(over.headers["Retry-After"]) == 65_600
    usage = await tenants.api.client.get("/v1/usage", params={"from": "2025-12-06"})
    assert [(r["tenant"], r["messages"]) for r in usage.json()["rows"]] == [("acme", 3)]
    # The next day counts afresh.
    tenants.clock[0] = NOW + 86_400
    assert (await tenants.acme.post("/v1/messages", json=_sms())).status_code == 201
    # The other tenant has no quota.
    for _ in range(2):
        tenants.clock[0] += 5
        assert (
            await tenants.beta.post("/v1/messages", json=_sms(**{"from": "B"}))
        ).status_code == 201


async def test_throughput_is_applied_at_accept(tenants: Tenants) -> None:
    assert (await tenants.beta.post("/v1/messages", json=_sms(**{"from": "B"}))).status_code == 201
    limited = await tenants.beta.post("/v1/messages", json=_sms(**{"from": "B"}))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate limited"
    assert limited.headers["Retry-After"] == "1"
    tenants.clock[0] += 1.0
    assert (await tenants.beta.post("/v1/messages", json=_sms(**{"from": "B"}))).status_code == 201


async def test_callback_targets_are_the_tenants_hosts(tenants: Tenants) -> None:
    bad = await tenants.acme.post(
        "/v1/messages", json=_sms(callback_url="http://169.254.169.254/latest/meta-data")
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "callback_url")
    unknown = await tenants.acme.post("/v1/messages", json=_sms(callback_events=["read"]))
    assert (unknown.status_code, unknown.json()["field"]) == (422, "callback_events")
    own = await tenants.acme.post(
        "/v1/messages",
        json=_sms(callback_url="https://hooks.acme.example/other", callback_events=["accepted"]),
    )
    assert own.status_code == 201, own.text
    default = await tenants.acme.post("/v1/messages", json=_sms())
    events = await tenants.api.store.list_callbacks(status=OutboxStatus.PENDING)  # type: ignore[attr-defined]
    assert [(e.message_id, e.url, e.event) for e in events] == [
        (own.json()["id"], "https://hooks.acme.example/other", "accepted")
    ]
    stored = await tenants.api.store.get(default.json()["id"])
    assert stored is not None and stored.tenant == "acme"


async def test_usage_and_dead_letters_are_the_tenants_own(tenants: Tenants) -> None:
    store = tenants.api.store
    await store.accept(
        [
            NewMessage(
                smsc="main",
                source="A",
                destination="447700900001",
                text="x",
                parts=2,
                tenant="acme",
                callback_url="https://hooks.acme.example/sms",
                callback_events=frozenset({"accepted"}),
            ),
            NewMessage(
                smsc="main",
                source="B",
                destination="447700900002",
                text="y",
                tenant="beta",
                callback_url="https://hooks.beta.example/sms",
                callback_events=frozenset({"accepted"}),
            ),
        ],
        now=NOW,
    )
    for event in await store.claim_callbacks(owner="t", now=NOW, lease=30, limit=10):  # type: ignore[attr-defined]
        await store.callback_failed(  # type: ignore[attr-defined]
            event.event_id, owner="t", status=OutboxStatus.DEAD, next_at=NOW, error="HTTP 500"
        )
    mine = await tenants.acme.get("/v1/usage", params={"from": "2025-12-06", "to": "2025-12-06"})
    assert mine.status_code == 200, mine.text
    assert mine.json()["rows"] == [
        {"day": "2025-12-06", "tenant": "acme", "state": "queued", "messages": 1, "parts": 2}
    ]
    assert (
        await tenants.acme.get("/v1/usage", params={"from": "2025-12-06", "tenant": "beta"})
    ).status_code == 404
    csv = await tenants.api.client.get(
        "/v1/usage/csv", params={"from": "2025-12-01", "to": "2025-12-31"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == (
        "day,tenant,state,messages,parts\n2025-12-06,acme,queued,1,2\n2025-12-06,beta,queued,1,1\n"
    )
    bad = await tenants.api.client.get(
        "/v1/usage", params={"from": "2025-12-06", "to": "2025-12-01"}
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "to")
    dead = await tenants.acme.get("/v1/callbacks/dead")
    assert [e["tenant"] for e in dead.json()["events"]] == ["acme"]
    everything = await tenants.api.client.get("/v1/callbacks/dead")
    assert sorted(e["tenant"] for e in everything.json()["events"]) == ["acme", "beta"]
    replayed = await tenants.acme.post("/v1/callbacks/dead/replay", json={})
    assert replayed.json() == {"replayed": 1}
    left = await tenants.api.client.get("/v1/callbacks/dead")
    assert [e["tenant"] for e in left.json()["events"]] == ["beta"]


async def test_campaigns_are_the_tenants_own(tenants: Tenants) -> None:
    body = {
        "name": "acme-december",
        "template": "Dear {name}, pay {amount}.",
        "sender": "ACME",
        "rate": 100,
        "quiet_hours": {"weekday": None, "weekend": None},
        "recipients": [{"msisdn": "447700900001", "fields": {"name": "A", "amount": "1"}}],
    }
    created = await tenants.acme.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign"]["id"]
    other = await tenants.acme.post("/v1/campaigns", json={**body, "name": "x", "sender": "EVIL"})
    assert (other.status_code, other.json()["field"]) == (422, "sender")
    assert (await tenants.beta.get(f"/v1/campaigns/{campaign_id}")).status_code == 404
    assert (await tenants.beta.post(f"/v1/campaigns/{campaign_id}/pause")).status_code == 404
    assert (await tenants.beta.get("/v1/campaigns")).json()["campaigns"] == []
    listed = (await tenants.acme.get("/v1/campaigns")).json()["campaigns"]
    assert [c["id"] for c in listed] == [campaign_id]
    assert len((await tenants.api.client.get("/v1/campaigns")).json()["campaigns"]) == 1
    view = await tenants.api.store.get_campaign(campaign_id)  # type: ignore[attr-defined]
    assert view.tenant == "acme"


async def test_operator_keys_work_as_before(tenants: Tenants) -> None:
    sent = await tenants.api.client.post("/v1/messages", json=_sms(**{"from": "ANY"}))
    assert sent.status_code == 201
    view = await tenants.api.store.get(sent.json()["id"])
    assert view is not None and view.tenant is None
    assert KEY not in (ACME_KEY, BETA_KEY)


async def test_kept_mo_messages_are_the_tenants_own(tenants: Tenants) -> None:
    from smpp_engine.store.mo import MoRoute, MoStore, NewMo  # noqa: PLC0415

    kept = cast(MoStore, tenants.api.store)
    await kept.keep_mo(NewMo("a", "main", "3598", "5566", "hi", 0, 1, NOW, MoRoute.UNROUTED))
    await kept.keep_mo(NewMo("b", "main", "3598", "7000", "yo", 0, 1, NOW, MoRoute.TENANT, "acme"))
    everything = await tenants.api.client.get("/v1/mo")
    assert [m["mo_id"] for m in everything.json()["messages"]] == ["b", "a"]
    unrouted = await tenants.api.client.get("/v1/mo", params={"route": "unrouted"})
    assert [m["mo_id"] for m in unrouted.json()["messages"]] == ["a"]
    assert [m["mo_id"] for m in (await tenants.acme.get("/v1/mo")).json()["messages"]] == ["b"]
    assert (await tenants.beta.get("/v1/mo")).json()["messages"] == []
    bad = await tenants.api.client.get("/v1/mo", params={"route": "billing"})
    assert (bad.status_code, bad.json()["field"]) == (422, "route")


async def test_a_tenant_sees_its_own_messages_on_each_route(tenants: Tenants) -> None:
    for client, count in ((tenants.acme, 2), (tenants.beta, 1)):
        for n in range(count):
            sender = {} if client is tenants.acme else {"from": "BETA"}
            answer = await client.post("/v1/messages", json=_sms(to=f"+35988800000{n}", **sender))
            assert answer.status_code == 201, answer.text
        tenants.clock[0] += 10  # beta's throughput: one a second
    await tenants.api.store.accept(
        [NewMessage(smsc="main", source="OPS", destination="359888", text="x")], now=NOW
    )

    def queued(answer: httpx.Response) -> int:
        assert answer.status_code == 200, answer.text
        (route,) = [r for r in answer.json()["routes"] if r["name"] == "main"]
        return int(route["queue"]["queued"])

    assert queued(await tenants.acme.get("/v1/routes")) == 2
    assert queued(await tenants.beta.get("/v1/routes")) == 1
    # The operator sees every message.
    assert queued(await tenants.api.client.get("/v1/routes")) == 4
