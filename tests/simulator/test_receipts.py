"""Delivery receipts: which, when, what they say, in which order, and where they go."""

from __future__ import annotations

import pytest
import trio

from metrics import RECEIPTS, child
from smpp_engine.protocol import (
    DeliverSm,
    DeliverSmResp,
    MessageState,
    NetworkErrorCode,
    SubmitSm,
    SubmitSmResp,
    Tag,
    format_receipt_text,
    is_intermediate_notification,
    is_receipt,
    parse_receipt,
)
from smpp_engine.simulator import parse_scenario

from .helpers import Esme, bound, raw, running

UNDELIV = "447799900001"


def mixed(**receipts: object) -> object:
    return parse_scenario(
        {"receipts": {"prefixes": {"4477999": "UNDELIV", "4477998": "EXPIRED"}, **receipts}}
    )


async def _submit_and_wait(esme: Esme, count: int, **fields: object) -> list[DeliverSm]:
    await esme.submit(**fields)
    return await esme.wait_delivered(count)


@pytest.mark.parametrize(
    ("registered_delivery", "destination", "expected"),
    [
        (0, "447700900001", []),
        (0, UNDELIV, []),
        (1, "447700900001", [MessageState.DELIVERED]),
        (1, UNDELIV, [MessageState.UNDELIVERABLE]),
        (2, "447700900001", []),  # failure only
        (2, UNDELIV, [MessageState.UNDELIVERABLE]),
        (3, "447700900001", [MessageState.DELIVERED]),  # success only (SMPP 5.0)
        (3, UNDELIV, []),
        (0x11, "447700900001", [MessageState.ENROUTE, MessageState.DELIVERED]),
        (0x12, UNDELIV, [MessageState.ENROUTE, MessageState.UNDELIVERABLE]),
        (0x10, "447700900001", [MessageState.ENROUTE]),
    ],
)
async def test_receipts_per_registered_delivery(
    autojump_clock: trio.testing.MockClock,
    registered_delivery: int,
    destination: str,
    expected: list[MessageState],
) -> None:
    scenario = mixed(delay=5, intermediate_delay=1)
    async with running(scenario) as sim, bound(sim.port) as esme:
        response = await esme.submit(
            destination_addr=destination, registered_delivery=registered_delivery
        )
        await trio.sleep(10)
        got = [parse_receipt(d.esm_class, d.short_message, d.tlvs) for d in esme.delivered]
        assert [r.state for r in got] == expected
        assert all(r.message_id == response.message_id for r in got)
        for receipt, pdu in zip(got, esme.delivered, strict=True):
            assert receipt.intermediate == (receipt.state is MessageState.ENROUTE)
            if receipt.intermediate:
                assert is_intermediate_notification(pdu.esm_class)
            else:
                assert is_receipt(pdu.esm_class)
        (record,) = sim.messages(message_id=response.message_id)
        finals = [s for s in expected if s is not MessageState.ENROUTE]
        assert record.receipt_state == (finals[-1] if finals else None)
        assert record.receipts_sent == len(expected)


async def test_receipt_waits_for_its_delay(autojump_clock: trio.testing.MockClock) -> None:
    async with running(mixed(delay=30)) as sim, bound(sim.port) as esme:
        await esme.submit(registered_delivery=1)
        await trio.sleep(29)
        assert esme.delivered == []
        await trio.sleep(2)
        assert len(esme.delivered) == 1


async def test_receipt_addresses_text_and_tlvs() -> None:
    async with running(mixed(errors={"UNDELIV": 34})) as sim, bound(sim.port) as esme:
        response = await esme.submit(
            source_addr="ACME",
            source_addr_ton=5,
            source_addr_npi=0,
            destination_addr=UNDELIV,
            dest_addr_ton=1,
            dest_addr_npi=1,
            short_message=b"Your bill of 12.30 EUR is due on 1 March",
            registered_delivery=1,
            tlvs={Tag.user_message_reference: 77},
        )
        (pdu,) = await esme.wait_delivered(1)
        assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == (UNDELIV, 1, 1)
        assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("ACME", 5, 0)
        assert pdu.tlvs[Tag.receipted_message_id] == response.message_id
        assert pdu.tlvs[Tag.message_state] == MessageState.UNDELIVERABLE
        assert pdu.tlvs[Tag.network_error_code] == NetworkErrorCode(3, 34)
        assert pdu.tlvs[Tag.user_message_reference] == 77
        text = parse_receipt(pdu.esm_class, pdu.short_message, {})
        assert text.message_id == response.message_id
        assert text.state is MessageState.UNDELIVERABLE
        assert text.error == "034"
        assert (text.submitted, text.delivered) == (1, 0)
        assert text.text == "Your bill of 12.30 E"
        assert text.submit_date is not None and text.done_date is not None
        # byte for byte what format_receipt_text writes for the same receipt
        record = sim.messages(message_id=response.message_id)[0]
        expected = sim.receipts.receipt(
            MessageState.UNDELIVERABLE,
            response.message_id,
            record.wall_time,
            record.wall_time,
            "Your bill of 12.30 EUR is due",
        )
        assert pdu.short_message == format_receipt_text(expected)


@pytest.mark.parametrize("fmt", ["text", "tlv", "both"])
async def test_receipt_formats(fmt: str) -> None:
    async with running(mixed(format=fmt, date_digits=12)) as sim, bound(sim.port) as esme:
        (pdu,) = await _submit_and_wait(esme, 1, registered_delivery=1)
        assert bool(pdu.short_message) == (fmt != "tlv")
        assert (Tag.receipted_message_id in pdu.tlvs) == (fmt != "text")
        assert (Tag.message_state in pdu.tlvs) == (fmt != "text")
        receipt = parse_receipt(pdu.esm_class, pdu.short_message, pdu.tlvs)
        assert receipt.state is MessageState.DELIVERED
        if fmt != "tlv":
            assert b"submit date:" in pdu.short_message
            date = pdu.short_message.split(b"submit date:")[1].split(b" ")[0]
            assert len(date) == 12


async def test_receipt_id_in_another_base_than_the_response() -> None:
    scenario = parse_scenario(
        {
            "smsc": {"message_ids": {"format": "hex", "start": 0xABC}},
            "receipts": {"id_format": "decimal"},
        }
    )
    async with running(scenario) as sim, bound(sim.port) as esme:
        (pdu,) = await _submit_and_wait(esme, 1, registered_delivery=1)
        assert esme.events  # the response came
        receipt = parse_receipt(pdu.esm_class, pdu.short_message, pdu.tlvs)
        assert receipt.message_id == str(0xABC)
        assert sim.messages()[0].message_id == "abc"


async def test_deterministic_outcomes_by_prefix_longest_first() -> None:
    scenario = parse_scenario(
        {
            "receipts": {
                "states": {"DELIVRD": 1},
                "prefixes": {"4477": "REJECTD", "447712": "EXPIRED", "4478": "DELETED"},
            }
        }
    )
    async with running(scenario) as sim, bound(sim.port) as esme:
        for destination in ("447700000000", "447712000000", "447800000000", "359800000000"):
            await esme.submit(destination_addr=destination, registered_delivery=1)
        delivered = await esme.wait_delivered(4)
        states = {d.source_addr: d.tlvs[Tag.message_state] for d in delivered}
        assert states == {
            "447700000000": MessageState.REJECTED,
            "447712000000": MessageState.EXPIRED,
            "447800000000": MessageState.DELETED,
            "359800000000": MessageState.DELIVERED,
        }


async def test_weighted_mix_of_final_states() -> None:
    scenario = parse_scenario({"seed": 9, "receipts": {"states": {"DELIVRD": 3, "UNDELIV": 1}}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        for _ in range(200):
            await esme.send(
                SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
            )
        delivered = await esme.wait_delivered(200)
        states = [d.tlvs[Tag.message_state] for d in delivered]
        undelivered = states.count(MessageState.UNDELIVERABLE)
        assert 20 < undelivered < 90  # about 50 of 200
        assert states.count(MessageState.DELIVERED) + undelivered == 200


async def test_receipt_before_submit_sm_resp_on_the_wire() -> None:
    async with running(mixed(before_resp=1.0)) as sim, raw(sim.port) as client:
        await client.send(
            SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
        )
        first, second = await client.receive(2)
        assert isinstance(first, DeliverSm)
        assert isinstance(second, SubmitSmResp)
        assert first.tlvs[Tag.receipted_message_id] == second.message_id


async def test_receipt_after_submit_sm_resp_by_default() -> None:
    async with running(mixed()) as sim, raw(sim.port) as client:
        await client.send(
            SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
        )
        first, second = await client.receive(2)
        assert isinstance(first, SubmitSmResp)
        assert isinstance(second, DeliverSm)


async def test_receipt_before_response_on_another_bind() -> None:
    async with (
        running(mixed(before_resp=1.0)) as sim,
        raw(sim.port, "receiver", system_id="split") as receiver,
        raw(sim.port, "transmitter", system_id="split") as sender,
    ):
        await sender.send(
            SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
        )
        (receipt,) = await receiver.receive(1)
        assert isinstance(receipt, DeliverSm)
        (response,) = await sender.receive(1)
        assert receipt.tlvs[Tag.receipted_message_id] == response.message_id


async def test_duplicate_receipts() -> None:
    async with running(mixed(duplicate=1.0)) as sim, bound(sim.port) as esme:
        response = await esme.submit(registered_delivery=1)
        first, second = await esme.wait_delivered(2)
        assert first.short_message == second.short_message
        assert first.tlvs == second.tlvs
        assert first.sequence_number != second.sequence_number
        assert first.tlvs[Tag.receipted_message_id] == response.message_id


async def test_receipts_go_to_a_receiver_of_the_same_account() -> None:
    async with (
        running(mixed()) as sim,
        bound(sim.port, "receiver", system_id="other") as other,
        bound(sim.port, "receiver", system_id="acme") as receiver,
        bound(sim.port, "transmitter", system_id="acme") as sender,
    ):
        response = await sender.submit(registered_delivery=1)
        (pdu,) = await receiver.wait_delivered(1)
        assert pdu.tlvs[Tag.receipted_message_id] == response.message_id
        assert other.delivered == []


async def test_receipts_wait_for_a_receiver_to_bind() -> None:
    async with running(mixed()) as sim:
        async with bound(sim.port, "transmitter", system_id="late") as sender:
            responses = [await sender.submit(registered_delivery=1) for _ in range(3)]
        assert sim.router.pending()["receipt"] == 3
        async with bound(sim.port, "receiver", system_id="late") as receiver:
            delivered = await receiver.wait_delivered(3)
            ids = [d.tlvs[Tag.receipted_message_id] for d in delivered]
            assert ids == [r.message_id for r in responses]
            assert sim.router.pending()["receipt"] == 0


async def test_unacknowledged_receipts_survive_a_disconnect() -> None:
    async with running(mixed()) as sim:
        async with raw(sim.port, "transceiver", system_id="flaky") as client:
            await client.send(
                SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
            )
            _, receipt = await client.receive(2)
            assert isinstance(receipt, DeliverSm)
        # closed without deliver_sm_resp: the receipt is held for the next bind
        for _ in range(100):
            if sim.router.pending()["receipt"] == 1:
                break
            await trio.sleep(0.01)
        async with bound(sim.port, "receiver", system_id="flaky") as receiver:
            (again,) = await receiver.wait_delivered(1)
            assert again.short_message == receipt.short_message


async def test_held_receipts_are_bounded() -> None:
    async with running(mixed(max_pending=2)) as sim:
        async with bound(sim.port, "transmitter", system_id="nobody") as sender:
            for _ in range(5):
                await sender.submit(registered_delivery=1)
        assert sim.router.pending()["receipt"] == 2
        assert sim.router.dropped["receipt"] == 3


async def test_refused_receipt_is_redelivered(autojump_clock: trio.testing.MockClock) -> None:
    scenario = mixed(retry_delay=5, max_attempts=3)
    async with running(scenario) as sim, bound(sim.port) as esme:
        esme.deliver_status = 0x64  # ESME_RX_T_APPN: try later
        await esme.submit(registered_delivery=1)
        await trio.sleep(1)
        assert len(esme.delivered) == 1
        esme.deliver_status = 0
        await trio.sleep(6)
        assert len(esme.delivered) == 2
        await trio.sleep(30)
        assert len(esme.delivered) == 2  # accepted: no more attempts
    async with running(scenario) as sim, bound(sim.port) as esme:
        esme.deliver_status = 0x64
        await esme.submit(registered_delivery=1)
        await trio.sleep(60)
        assert len(esme.delivered) == 3  # max_attempts
        assert sim.router.failed["receipt"] == 1


async def test_unanswered_receipt_is_redelivered(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario(
        {"smsc": {"deliver_timeout": 10}, "receipts": {"retry_delay": 1, "max_attempts": 2}}
    )
    async with running(scenario) as sim, raw(sim.port) as client:
        await client.send(
            SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
        )
        _, first = await client.receive(2)
        assert isinstance(first, DeliverSm)
        (second,) = await client.receive(1)  # not answered: sent again after timeout + delay
        assert isinstance(second, DeliverSm)
        assert second.short_message == first.short_message
        assert second.sequence_number != first.sequence_number
        await client.send(DeliverSmResp(sequence_number=second.sequence_number))
        await trio.sleep(30)
        assert sim.router.failed["receipt"] == 0


async def test_receipt_metrics_count_by_state() -> None:
    delivered = child(RECEIPTS, "simulator", "DELIVRD")
    undelivered = child(RECEIPTS, "simulator", "UNDELIV")
    before = (delivered._value.get(), undelivered._value.get())
    async with running(mixed()) as sim, bound(sim.port) as esme:
        await esme.submit(registered_delivery=1)
        await esme.submit(registered_delivery=1, destination_addr=UNDELIV)
        await esme.wait_delivered(2)
        await esme.submit()  # a write after the receipts: their counts are flushed by now
    assert delivered._value.get() == before[0] + 1
    assert undelivered._value.get() == before[1] + 1


async def test_receipts_of_a_closed_bind_move_to_another_receiver() -> None:
    async with (
        running(mixed()) as sim,
        bound(sim.port, "receiver", system_id="pair") as survivor,
    ):
        async with raw(sim.port, "transceiver", system_id="pair") as doomed:
            await doomed.send(
                SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
            )
            _, receipt = await doomed.receive(2)
            assert isinstance(receipt, DeliverSm)
            assert survivor.delivered == []
        # closed without answering: the survivor gets it, no new bind needed
        (moved,) = await survivor.wait_delivered(1)
        assert moved.short_message == receipt.short_message
        assert sim.router.pending()["receipt"] == 0


async def test_a_peer_that_never_answers_cannot_grow_the_queue() -> None:
    scenario = parse_scenario({"smsc": {"deliver_window": 2}, "receipts": {"max_pending": 3}})
    async with running(scenario) as sim, raw(sim.port) as client:
        await client.send(
            *[
                SubmitSm(source_addr="1", destination_addr="447700900001", registered_delivery=1)
                for _ in range(10)
            ]
        )
        received = await client.receive(12)  # 10 responses, 2 receipts (the window)
        assert sum(isinstance(p, DeliverSm) for p in received) == 2
        assert sim.stats()["connections"][0]["deliver_waiting"] == 3
        assert sim.router.dropped["receipt"] == 5
