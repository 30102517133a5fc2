"""What a route asks receipts for, at the simulator: final ones (the default), failures
only (silence by the receipt timeout is a presumed delivery, never proof), or final
ones and intermediate notifications (kept in the message's history)."""

from __future__ import annotations

from pathlib import Path

import trio

from billing_core import DeliveryState
from smpp_engine.pipeline import ReceiptLevel, SubmitOptions
from smpp_engine.store import MessageState, MessageView, Store, delivery_state

from ..simulator.helpers import running
from .test_pipeline import message, pipeline_on, scenario, settled


async def view(store: Store, message_id: int) -> MessageView:
    found = await store.get(message_id)
    assert found is not None
    return found


async def test_final_receipts_are_asked_by_default_and_silence_is_unknown(tmp_path: Path) -> None:
    async with (
        running(scenario(receipts={"enabled": False})) as sim,
        pipeline_on(tmp_path, sim, receipt_timeout=0.5) as (pipeline, store),
    ):
        (accepted,) = await pipeline.accept([message("447700900001")])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.UNKNOWN, 0) == 1)
        (record,) = sim.messages(system_id="gateway")
        found = await view(store, accepted.message_id)
    assert record.registered_delivery == 0x01
    assert found.events[-1].event == "receipt_timeout"
    assert found.events[-1].detail == "no final receipt -> unknown"


async def test_on_a_failure_only_route_silence_is_a_presumed_delivery(tmp_path: Path) -> None:
    failures = SubmitOptions(receipts=ReceiptLevel.FAILURE)
    async with (
        running(scenario(receipts={"prefixes": {"4479991": "UNDELIV"}})) as sim,
        pipeline_on(tmp_path, sim, submit_options=failures, receipt_timeout=0.5) as (
            pipeline,
            store,
        ),
    ):
        good, bad = await pipeline.accept([message("447700900001"), message("447999100001")])
        with trio.fail_after(30):
            await settled(
                store,
                lambda c: (
                    c.get(MessageState.PRESUMED_DELIVERED, 0) == 1
                    and c.get(MessageState.UNDELIVERABLE, 0) == 1
                ),
            )
        records = sim.messages(system_id="gateway")
        good_view = await view(store, good.message_id)
        bad_view = await view(store, bad.message_id)
    assert {r.registered_delivery for r in records} == {0x02}
    # The SMSC said nothing of the delivered one: presumed, with the reason in its history.
    assert good_view.state is MessageState.PRESUMED_DELIVERED
    assert good_view.events[-1].event == "receipt_timeout"
    assert good_view.events[-1].detail == "no failure receipt -> presumed_delivered"
    # A failure is reported as on any route.
    assert bad_view.state is MessageState.UNDELIVERABLE


async def test_intermediate_notifications_go_into_the_history(tmp_path: Path) -> None:
    intermediate = SubmitOptions(receipts=ReceiptLevel.INTERMEDIATE)
    sim_scenario = scenario(receipts={"delay": 0.6, "intermediate_delay": 0.2})
    async with (
        running(sim_scenario) as sim,
        pipeline_on(tmp_path, sim, submit_options=intermediate) as (pipeline, store),
    ):
        (accepted,) = await pipeline.accept([message("447700900001")])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 1)
        (record,) = sim.messages(system_id="gateway")
        found = await view(store, accepted.message_id)
    assert record.registered_delivery == 0x11
    events = [(e.event, e.detail) for e in found.events]
    noted = events.index(("receipt_intermediate", "part=0 state=ENROUTE"))
    final = [n for n, (event, _) in enumerate(events) if event == "receipt"]
    assert final and noted < final[0]
    assert found.state is MessageState.DELIVERED


def test_a_presumed_delivery_is_neither_proof_nor_failure_for_a_notice() -> None:
    # A disconnection warning needs a DELIVRD receipt as proof; one presumed delivered
    # is not sent again either (it may well have reached the phone).
    assert delivery_state(MessageState.PRESUMED_DELIVERED) is DeliveryState.PENDING
    assert delivery_state(MessageState.UNKNOWN) is DeliveryState.FAILED
