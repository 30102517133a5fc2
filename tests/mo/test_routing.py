"""MO routing: rules by destination, keyword and sender; a tenant's MO kept with its signed
callback, one no rule takes kept and listed; each acknowledged only once durable."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import cast

import pytest
import trio

from smpp_engine.callbacks import CallbackPolicy, CallbackSender, verify_signature
from smpp_engine.esme import Inbound
from smpp_engine.mo import MoInbox, MoRule, choose, keyword_of
from smpp_engine.pipeline import MoMessage, Pipeline
from smpp_engine.protocol import DeliverSm
from smpp_engine.store import Store
from smpp_engine.store.callbacks import Backoff, CallbackStore, OutboxStatus
from smpp_engine.store.mo import MoRoute, MoStore, NewMo
from smpp_engine.store.sqlite import open_sqlite_store

from ..callbacks.receiver import receiving
from ..pipeline.test_pipeline import make_route, scenario
from ..simulator.helpers import running
from ..store.conftest import open_test_store

RULES = (
    MoRule(MoRoute.BILLING, keyword="read"),
    MoRule(MoRoute.TENANT, destination="7000", tenant="acme"),
    MoRule(MoRoute.TENANT, source_prefix="+44", tenant="beta"),
)


def test_the_first_matching_rule_takes_the_message() -> None:
    assert choose(RULES, "359888", "5566", "Read 100 200") is RULES[0]
    assert choose(RULES, "359888", "+7000", "hello") is RULES[1]
    assert choose(RULES, "00447700900123", "5566", "hello") is RULES[2]
    assert choose(RULES, "359888", "5566", "hello") is None
    assert choose((MoRule(MoRoute.TENANT, tenant="x"),), "1", "2", "") is not None
    assert keyword_of("  STOP now") == "stop" and keyword_of("   ") == ""


def _mo(text: str, acks: list[bool], destination: str = "7000", mo_id: str = "m1") -> MoMessage:
    pdu = DeliverSm(sequence_number=1, source_addr="359888123456", destination_addr=destination)
    inbound = Inbound(pdu, None, "b1", 0.0, acknowledge=acks.append)
    return MoMessage("sim", "359888123456", destination, text, 0, 1, 1000.0, mo_id, inbound)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    async for opened in open_test_store(request.param, tmp_path):
        yield opened


async def test_kept_messages_are_acknowledged_once_durable(store: Store) -> None:
    inbox = MoInbox(
        cast(MoStore, store), RULES, billing=None, tenant_urls={"acme": "http://h/acme"}
    )
    acks: list[bool] = []
    for text, destination, mo_id in (
        ("hello", "7000", "a"),  # acme's
        ("hello", "5566", "b"),  # no rule takes it
        ("hello", "5566", "b"),  # the SMSC offers it again
        ("READ 1 2", "5566", "c"),  # billing's, but billing is off: kept, not lost
    ):
        message = _mo(text, acks, destination, mo_id)
        await inbox.keep(message, inbox.route_of(message))
    assert acks == [True, True, True, True]
    kept = await cast(MoStore, store).list_mo()
    assert [(k.mo_id, k.route, k.tenant) for k in kept] == [
        ("c", MoRoute.UNROUTED, None),
        ("b", MoRoute.UNROUTED, None),
        ("a", MoRoute.TENANT, "acme"),
    ]
    assert [k.mo_id for k in await cast(MoStore, store).list_mo(route=MoRoute.TENANT)] == ["a"]
    (event,) = await cast(CallbackStore, store).list_callbacks(status=OutboxStatus.PENDING)
    assert (event.event, event.tenant, event.url, event.message_id) == (
        "mo",
        "acme",
        "http://h/acme",
        None,
    )
    assert json.loads(event.payload or "")["text"] == "hello"
    # A store that cannot keep it: the SMSC is told to offer it again.
    await store.aclose()
    await inbox.keep(_mo("hello", acks, "5566", "d"), None)
    assert acks[-1] is False


async def test_billing_takes_its_messages_untouched(store: Store) -> None:
    taken: list[MoMessage] = []
    inbox = MoInbox(cast(MoStore, store), RULES, billing=taken.append, tenant_urls={})
    acks: list[bool] = []
    inbox.take(_mo("READ 1 2", acks))
    assert [m.text for m in taken] == ["READ 1 2"] and acks == []
    # Without rules, every MO goes to the self-service when it runs.
    plain = MoInbox(cast(MoStore, store), (), billing=taken.append, tenant_urls={})
    assert plain.route_of(_mo("anything", acks)) == MoRule(MoRoute.BILLING)
    assert (
        MoInbox(cast(MoStore, store), (), billing=None, tenant_urls={}).route_of(
            _mo("anything", acks)
        )
        is None
    )


async def test_keep_mo_is_one_row_per_mo_id(store: Store) -> None:
    mo = NewMo("x1", "sim", "359", "7000", "hi", 0, 1, 1000.0, MoRoute.TENANT, "acme")
    kept = cast(MoStore, store)
    first = await kept.keep_mo(mo, callback_url="http://h/acme")
    again = await kept.keep_mo(mo, callback_url="http://h/acme")
    assert (first[1], again) == (False, (first[0], True))
    assert len(await cast(CallbackStore, store).list_callbacks(status=OutboxStatus.PENDING)) == 1


async def test_a_long_mo_reaches_its_tenant_joined_and_signed(tmp_path: Path) -> None:
    long_text = "METER 12345 day 4521,7 night 1200,3 thank you for the reminder " * 4
    policy = CallbackPolicy(timeout=5.0, backoff=Backoff(first=0.05), poll=0.02)
    async with (
        receiving() as receiver,
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "mo.db") as store,
        trio.open_nursery() as nursery,
    ):
        inbox = MoInbox(
            cast(MoStore, store),
            (MoRule(MoRoute.TENANT, destination="7000", tenant="acme"),),
            billing=None,
            tenant_urls={"acme": receiver.url("/acme/mo")},
        )
        await nursery.start(inbox.run)
        sender = CallbackSender(cast(CallbackStore, store), {"acme": "s3"}, policy, owner="t")
        await nursery.start(sender.run)
        pipeline = Pipeline(store, [make_route(sim)], on_mo=inbox.take)
        await nursery.start(pipeline.run)
        while not sim.stats()["binds"]:  # a receiver must be bound to get MO
            await trio.sleep(0.01)
        injected = sim.inject_mo(source="359888123457", destination="7000", text=long_text)
        assert injected.parts >= 2
        sim.inject_mo(source="359888123456", destination="5566", text="nobody's")
        with trio.fail_after(30):
            while not receiver.delivered or len(await inbox.store.list_mo()) < 2:
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    (received,) = receiver.delivered
    assert verify_signature("s3", received.headers, received.body, now=time.time())
    event = json.loads(received.body)
    assert (event["type"], event["tenant"]) == ("mo", "acme")
    assert event["mo"]["text"] == long_text and event["mo"]["parts"] == injected.parts
    assert (event["mo"]["from"], event["mo"]["to"]) == ("359888123457", "7000")
