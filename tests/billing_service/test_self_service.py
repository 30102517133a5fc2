"""The SMS round trip end to end: the simulator injects a consumer's MO, the reply comes back.

Real parts throughout: the simulator over loopback TCP, the pipeline, the billing
core, and the billing data of config/billing-example.json, on each store.
"""
# ruff: noqa: RUF001 - the replies are Russian text

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from smpp_engine.billing import SmsSelfService
from smpp_engine.esme import EsmeConfig
from smpp_engine.pipeline import MoMessage, Pipeline, SmscRoute
from smpp_engine.routing import MessageKind, RouteRule, RoutingTable
from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import BillingStore, import_billing_data, load_billing_json, open_store

from ..simulator.helpers import running
from ..store.conftest import store_url_of

EXAMPLE = Path(__file__).parents[2] / "config" / "billing-example.json"
NOW = datetime(2024, 3, 20, 9, 0, tzinfo=UTC)  # inside the example utility's reading window
PHONE = "79161234567"  # bound to account 1234567890, two-zone electricity


def route(sim: Simulator) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=sim.port,
        system_id="utility",
        password="secret",
        window_size=8,
        enquire_link_interval=None,
    )
    return SmscRoute(name="sim", esme=esme, lease=60.0)


async def replies_to(sim: Simulator, msisdn: str, count: int) -> list[str]:
    while len(found := sim.messages(destination=msisdn)) < count:
        await trio.sleep(0.01)
    return [r.pdu.short_message.decode("utf-16-be") for r in found]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with store_url_of(request.param, tmp_path, "billing.db") as url:
        yield url


async def test_a_reading_by_sms_is_billed_and_answered_once_even_if_redelivered(
    store_url: str,
) -> None:
    data = cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))
    async with (
        running(parse_scenario({})) as sim,
        open_store(store_url) as store,
        trio.open_nursery() as nursery,
    ):
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, data)).ok
        settings = await billing.load_settings()
        pipeline = Pipeline(store, [route(sim)])
        service = SmsSelfService(
            billing, settings, pipeline, route="sim", clock=NOW.timestamp, workers=1
        )
        for dispatcher in pipeline.dispatchers.values():
            dispatcher.on_mo = service.take
        await nursery.start(service.run)
        await nursery.start(pipeline.run)
        while not sim.stats()["binds"]:
            await trio.sleep(0.01)
        with trio.fail_after(30):
            sim.inject_mo(source=PHONE, destination="5566", text="12150 5080")
            (first,) = await replies_to(sim, PHONE, 1)
            # The same MO again (an SMSC redelivery), then a balance request.
            sim.inject_mo(source=PHONE, destination="5566", text="12150 5080")
            sim.inject_mo(source=PHONE, destination="5566", text="БАЛАНС")
            # One worker takes MO in order and replies are sent in the order they
            # were queued: a reply to the redelivery would come before the balance.
            texts = await replies_to(sim, PHONE, 2)
        nursery.cancel_scope.cancel()
    assert first == "ЛС1234567890 приняты Т1 12150 Т2 5080. Долг 1027,20 р до 15.04"
    balance = texts[1]
    assert "приняты" not in balance, texts  # the redelivered reading was not answered again
    assert "1027,20" in balance  # nor billed again: the debt is still one reading's


@asynccontextmanager
async def example_billing(tmp_path: Path) -> AsyncIterator[BillingStore]:
    """A SQLite store holding config/billing-example.json."""
    data = cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))
    async with open_store(f"sqlite:///{tmp_path}/example.db") as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, data)).ok
        yield billing


def mo(text: str, at: float, mo_id: str, ack: Any, source: str = PHONE) -> MoMessage:
    """An MO as the pipeline hands it over: ``mo_id`` is the same for the same text all day."""
    return MoMessage("sim", source, "5566", text, 0, 1, at, mo_id, ack)


class _Ack:
    def __init__(self) -> None:
        self.answers: list[bool] = []

    def ack(self, ok: bool = True) -> None:
        self.answers.append(ok)


class _FailingFor:
    """The real store, except that loading one number's context fails like a bug would."""

    def __init__(self, store: Any, msisdn: str) -> None:
        self._store = store
        self._msisdn = msisdn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def load_context(self, **kwargs: Any) -> Any:
        if kwargs["msisdn"] == self._msisdn:
            raise RuntimeError("boom")
        return await self._store.load_context(**kwargs)


async def test_a_fault_on_one_message_refuses_it_for_now_and_others_are_still_answered(
    tmp_path: Path,
) -> None:
    async with example_billing(tmp_path) as store:
        service = SmsSelfService(
            cast(BillingStore, _FailingFor(store, "79160000004")),
            await store.load_settings(),
            store,  # not a pipeline: replies are stored queued
            route="sim",
            clock=NOW.timestamp,
            workers=1,
        )
        acks = {number: _Ack() for number in ("79160000004", PHONE)}
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            for n, (number, ack) in enumerate(acks.items()):
                service.take(mo("12150 5080", 0.0, f"mo-{n}", ack, source=number))
            with trio.fail_after(10):
                while not all(a.answers for a in acks.values()):
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        assert await store.find_by_idempotency_key("reply:mo-0") is None
        answered = await store.find_by_idempotency_key("reply:mo-1")
        assert answered is not None
        view = await store.get(answered)
        assert view is not None and view.destination == PHONE
    assert acks["79160000004"].answers == [False]  # the SMSC keeps it and retries
    assert acks[PHONE].answers == [True]


async def test_a_reply_expires_the_configured_time_after_its_mo_arrived(tmp_path: Path) -> None:
    async with example_billing(tmp_path) as billing:
        utility = await billing.load_settings()
        service = SmsSelfService(
            billing,
            utility,
            billing,  # not a pipeline: replies are stored queued
            route="sim",
            clock=NOW.timestamp,
            reply_validity=120.0,
        )
        arrived = 1_000.0
        await service.handle(mo("12150 5080", arrived, "mo-v", _Ack()))
        [reply] = await billing.claim("sim", 10, owner="test", now=arrived + 1, lease=30.0)
    assert reply.expires_at == arrived + 120.0
    with pytest.raises(ValueError, match="reply_validity"):
        SmsSelfService(billing, utility, billing, route="sim", reply_validity=0)


async def test_a_balance_asked_again_later_is_answered_again_a_reading_is_billed_once(
    tmp_path: Path,
) -> None:
    async with example_billing(tmp_path) as billing:
        service = SmsSelfService(
            billing,
            await billing.load_settings(),
            billing,  # not a pipeline: replies are stored queued
            route="sim",
            clock=NOW.timestamp,
            ask_again_after=600.0,
        )
        for text, at, mo_id in [
            ("БАЛАНС", 1_000.0, "mo-balance"),
            ("БАЛАНС", 1_100.0, "mo-balance"),  # an SMSC redelivery, minutes later
            ("БАЛАНС", 4_000.0, "mo-balance"),  # the consumer asks again later
            ("12150 5080", 1_000.0, "mo-reading"),
            ("12150 5080", 4_000.0, "mo-reading"),  # a reading is billed once a day
        ]:
            await service.handle(mo(text, at, mo_id, _Ack()))
        # Before the first replies expire (an hour after their MO).
        replies = await billing.claim("sim", 10, owner="test", now=4_100.0, lease=30.0)
    texts = [r.text for r in replies]
    assert sum("приняты" in t for t in texts) == 1
    assert len(texts) == 3, texts  # two balance answers and one reading answer


async def test_with_routing_the_reply_goes_on_the_route_the_reply_rule_names(
    tmp_path: Path,
) -> None:
    """The MO comes in on one SMSC; the rule for replies sends the answer on another,
    handed over to that route's dispatcher, and the message records the rule."""
    data = cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))
    routing = RoutingTable(
        rules=(RouteRule("replies", ("replies", "sim"), kinds=frozenset({MessageKind.REPLY})),),
        default=("sim",),
    )
    async with (
        running(parse_scenario({})) as sim,
        running(parse_scenario({})) as reply_sim,
        open_store(f"sqlite:///{tmp_path}/routed.db") as store,
        trio.open_nursery() as nursery,
    ):
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, data)).ok
        settings = await billing.load_settings()
        replies_route = replace(route(reply_sim), name="replies")
        pipeline = Pipeline(store, [route(sim), replies_route])
        service = SmsSelfService(
            billing, settings, pipeline, route="sim", clock=NOW.timestamp, workers=1,
            routing=routing,
        )  # fmt: skip
        for dispatcher in pipeline.dispatchers.values():
            dispatcher.on_mo = service.take
        await nursery.start(service.run)
        await nursery.start(pipeline.run)
        while not sim.stats()["binds"]:
            await trio.sleep(0.01)
        with trio.fail_after(30):
            sim.inject_mo(source=PHONE, destination="5566", text="БАЛАНС")
            (answer,) = await replies_to(reply_sim, PHONE, 1)
        view = await _reply(store)
        nursery.cancel_scope.cancel()
    assert answer.startswith("ЛС1234567890")  # the balance came back
    assert not sim.messages(destination=PHONE)  # nothing on the route the MO came in on
    assert view is not None
    assert (view.smsc, view.route_rule, view.route_plan) == (
        "replies",
        "replies",
        ("replies", "sim"),
    )


async def _reply(store: Any) -> Any:
    """The one reply stored (its idempotency key is ``reply:<mo id>...``)."""
    for message_id in range(1, 10):
        view = await store.get(message_id)
        if view is not None and (view.idempotency_key or "").startswith("reply:"):
            return view
    return None
