"""Notices and replies know their SMPP fate: real pipeline, real simulator, both stores.

A notice and a reading's reply each name the gateway message that carries them;
their SMSC message ids, delivery state and delivery time are read from it. A
disconnection warning's deadline counts from that delivery time.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
import trio
from prometheus_client import REGISTRY

from billing_core import (
    DeliveryState,
    NoticeKind,
    NoticeRecord,
    Payment,
    Service,
    payment_deadline,
)
from smpp_engine.billing import (
    SmsSelfService,
    load_notice,
    post_and_confirm,
    queue_notices,
    recent_notices,
    reply_fate,
)
from smpp_engine.pipeline import MoMessage, Pipeline
from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import (
    Accepted,
    BillingStore,
    MessageState,
    NewMessage,
    Store,
    StoreUnavailableError,
    import_billing_data,
    load_billing_json,
    open_store,
)

from ..simulator.helpers import running
from .test_self_service import EXAMPLE, NOW, PHONE, replies_to, route, store_url

__all__ = ["store_url"]  # the fixture, imported for pytest

UNDELIVERABLE = "79160000004"  # bound to account 8880001; the simulator fails it


def _scenario() -> Any:
    return parse_scenario({"receipts": {"prefixes": {UNDELIVERABLE: "UNDELIV"}}})


def _warning(account: str, msisdn: str) -> NoticeRecord:
    return NoticeRecord(
        NoticeKind.DISCONNECTION_WARNING,
        account,
        msisdn,
        "Долг за электроэнергию. Оплатите в течение 20 дней после получения.",
        NOW,
        None,
        Service.ELECTRICITY,
        amount=Decimal("3000.00"),
    )


async def _settled(billing: BillingStore, store: Store, notice_id: int) -> NoticeRecord:
    while True:
        notice = await load_notice(billing, store, notice_id)
        assert notice is not None
        if notice.state is not DeliveryState.PENDING:
            return notice
        await trio.sleep(0.02)


async def test_a_disconnection_warning_knows_its_delivery_and_its_deadline(
    store_url: str,
) -> None:
    async with (
        running(_scenario()) as sim,
        open_store(store_url) as store,
        trio.open_nursery() as nursery,
    ):
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, _example())).ok
        settings = await billing.load_settings()
        pipeline = Pipeline(store, [route(sim)])
        await nursery.start(pipeline.run)
        warnings = [_warning("1234567890", PHONE), _warning("8880001", UNDELIVERABLE)]
        ids = await billing.save_notices(warnings)
        saved = [replace(n, id=i) for n, i in zip(warnings, ids, strict=True)]
        with trio.fail_after(30):
            message_ids = await queue_notices(billing, pipeline, saved, route="sim")
            delivered = await _settled(billing, store, ids[0])
            failed = await _settled(billing, store, ids[1])
        (record,) = sim.messages(destination=PHONE)
        # Queued again (a retry after a crash): the same message, nothing sent twice.
        assert await queue_notices(billing, pipeline, saved, route="sim") == message_ids
        context = await billing.load_notice_context("1234567890", now=NOW)
        [(_, listed)] = await recent_notices(billing, store, "1234567890")
        nursery.cancel_scope.cancel()
    assert listed == delivered  # the account's notice list tells the same fate
    assert delivered.state is DeliveryState.DELIVERED
    assert delivered.message_ids == (record.message_id_octets.decode(),)
    assert delivered.delivered_at is not None
    # The receipt's done date (minute resolution) is the evidence.
    done = datetime.fromtimestamp(record.done_at, UTC) if record.done_at > 1e9 else None
    if done is not None:
        assert abs(delivered.delivered_at - done) < timedelta(minutes=1)
    deadline = payment_deadline(
        delivered.delivered_at, settings.zone, settings.notices.disconnection
    )
    local_day = delivered.delivered_at.astimezone(settings.zone).date()
    assert deadline.astimezone(settings.zone).date() == local_day + timedelta(days=21)
    assert failed.state is DeliveryState.FAILED and failed.delivered_at is None
    assert len(failed.message_ids) == 1  # the SMSC took it, then could not deliver it
    assert context.warned_services == frozenset({Service.ELECTRICITY})


def _example() -> dict[str, Any]:
    return cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))


def _count(result: str) -> float:
    return REGISTRY.get_sample_value("smpp_billing_requests_total", {"result": result}) or 0.0


def _round_trips() -> float:
    return REGISTRY.get_sample_value("smpp_billing_round_trip_seconds_count") or 0.0


async def _serve(store: Store, sim: Simulator, nursery: trio.Nursery, taken: list[str]) -> None:
    billing = cast(BillingStore, store)
    pipeline = Pipeline(store, [route(sim)])
    service = SmsSelfService(
        billing, await billing.load_settings(), pipeline, route="sim", clock=NOW.timestamp
    )

    def take(message: MoMessage) -> None:
        taken.append(message.mo_id)
        service.take(message)

    for dispatcher in pipeline.dispatchers.values():
        dispatcher.on_mo = take
    await nursery.start(service.run)
    await nursery.start(pipeline.run)
    while not sim.stats()["binds"]:
        await trio.sleep(0.01)


async def test_a_reading_reply_is_traced_from_the_mo_to_its_receipt_and_counted(
    store_url: str,
) -> None:
    readings, parse_errors, trips = _count("reading"), _count("parse_error"), _round_trips()
    async with (
        running(_scenario()) as sim,
        open_store(store_url) as store,
        trio.open_nursery() as nursery,
    ):
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, _example())).ok
        taken: list[str] = []
        await _serve(store, sim, nursery, taken)
        with trio.fail_after(30):
            sim.inject_mo(source=PHONE, destination="5566", text="12150 5080")
            sim.inject_mo(source=PHONE, destination="5566", text="кто здесь")
            await replies_to(sim, PHONE, 2)
            while True:
                fate = await reply_fate(billing, store, taken[0])
                if fate is not None and fate.state is MessageState.DELIVERED:
                    break
                await trio.sleep(0.02)
        sent = {r.message_id_octets.decode(): r for r in sim.messages(destination=PHONE)}
        nursery.cancel_scope.cancel()
    (smsc_id,) = fate.smsc_message_ids
    assert fate.delivery is DeliveryState.DELIVERED and fate.delivered_at is not None
    # The two replies may go in either order: the reading's is the one with that id.
    assert "приняты" in sent[smsc_id].pdu.short_message.decode("utf-16-be")
    assert _count("reading") == readings + 1
    assert _count("parse_error") == parse_errors + 1
    assert _round_trips() == trips + 2
    assert len(set(taken)) == 2


class _FailingOnce:
    """The pipeline's accept, failing the first time as a crash or an outage would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.failed = False

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        if not self.failed:
            self.failed = True
            raise StoreUnavailableError("test", "accept: the database went away")
        return await self.store.accept(messages, now=NOW.timestamp())


async def test_a_payment_retried_after_its_confirmations_failed_to_queue_queues_them(
    store_url: str,
) -> None:
    payment = Payment("1234567890", Decimal("500.00"), NOW.date(), "bank-42")
    async with open_store(store_url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, _example())).ok
        queue = _FailingOnce(store)
        with pytest.raises(StoreUnavailableError):
            await post_and_confirm(billing, queue, payment, route="sim", now=NOW)
        assert await store.find_by_idempotency_key("notice:1") is None
        retried = await post_and_confirm(billing, queue, payment, route="sim", now=NOW)
        again = await post_and_confirm(billing, queue, payment, route="sim", now=NOW)
        (message_id,) = retried.message_ids
        view = await store.get(message_id)
        ledger = await billing.load_ledger("1234567890")
    assert retried.duplicate and len(retried.confirmations) == 1
    assert again.duplicate and again.message_ids == ()  # nothing left to queue
    assert view is not None and view.destination == PHONE
    assert view.text == retried.confirmations[0] and "500" in view.text
    assert ledger.balance.payments == Decimal("500.00")  # posted once


async def test_a_reply_handed_to_its_dispatcher_costs_no_claim(store_url: str) -> None:
    """A reply stored already claimed goes straight to its dispatcher: asking the store
    for more work after each one would cost a transaction per MO for nothing."""
    claims: list[float] = []
    async with (
        running(parse_scenario({})) as sim,
        open_store(store_url) as store,
        trio.open_nursery() as nursery,
    ):
        assert (await import_billing_data(cast(BillingStore, store), _example())).ok
        claim = store.claim

        async def counted_claim(*args: Any, **kwargs: Any) -> Any:
            claims.append(trio.current_time())
            return await claim(*args, **kwargs)

        store.claim = counted_claim  # type: ignore[method-assign]
        await _serve(store, sim, nursery, [])
        with trio.fail_after(30):
            started = trio.current_time()
            for n in range(1, 6):  # one at a time: each reply is handed over alone
                # Not understood, so each is answered (the same balance request twice
                # would be taken for a redelivery).
                sim.inject_mo(source=PHONE, destination="5566", text=f"кто здесь {n}")
                await replies_to(sim, PHONE, n)
            ended = trio.current_time()
        nursery.cancel_scope.cancel()
    during = [at for at in claims if started <= at <= ended]
    # The dispatcher's idle poll (once a second) may fall in the window; one per reply may not.
    assert len(during) <= 1 + int(ended - started), (len(during), ended - started)
