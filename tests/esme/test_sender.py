"""send_texts: splitting, receipts matched by message id, the report the CLI prints."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from smpp_engine.esme import BindType, SendReport, send_texts
from smpp_engine.protocol import (
    CommandStatus,
    MessageIdPolicy,
    MessageState,
    PduError,
    concatenation_info,
)

from .conftest import FakeSmsc, make_config

LONG = "Your electricity bill for May is 42.17 EUR. " * 5  # 220 GSM characters: 2 parts
REPORT_KEYS = ["submitted", "accepted", "rejected", "unknown", "retried", "receipts", "elapsed_s"]


async def test_long_text_with_receipts(smsc: FakeSmsc, autojump_clock: Any) -> None:
    smsc.auto_receipt = MessageState.DELIVERED
    report = await send_texts(
        make_config(smsc), "ACME", "+447700900123", LONG, 3, wait_receipts=30.0
    )
    data = report.to_dict()
    assert list(data) == REPORT_KEYS
    assert {k: v for k, v in data.items() if k != "elapsed_s"} == {
        "submitted": 6,
        "accepted": 6,
        "rejected": 0,
        "unknown": 0,
        "retried": 0,
        "receipts": {"DELIVRD": 6},
    }
    assert data["elapsed_s"] < 30.0  # every receipt came: no waiting out the time
    json.dumps(data)
    link = smsc.bound_links[0]
    submits = link.submits
    assert all(p.esm_class & 0x40 and p.registered_delivery == 1 for p in submits)
    assert (submits[0].source_addr_ton, submits[0].source_addr) == (5, "ACME")
    assert (submits[0].dest_addr_ton, submits[0].destination_addr) == (1, "447700900123")
    infos = [concatenation_info(p.esm_class, p.short_message, p.tlvs) for p in submits]
    assert [(i.seqnum, i.total) for i in infos if i] == [(1, 2), (2, 2)] * 3
    references = [i.reference for i in infos if i]
    assert references[0] == references[1] and len(set(references)) == 3


async def test_receipt_before_its_response_is_still_matched(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.auto_receipt = MessageState.DELIVERED
    smsc.receipts_first = True
    report = await send_texts(make_config(smsc), "ACME", "447700900123", "hi", 2, wait_receipts=60)
    assert report.accepted == 2
    assert report.receipts == {"DELIVRD": 2}
    assert report.elapsed_s < 60


async def test_transmitter_config_opens_a_receiver_bind_for_receipts(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.auto_receipt = MessageState.UNDELIVERABLE
    config = make_config(smsc, bind_type=BindType.TRANSMITTER)
    report = await send_texts(config, "ACME", "447700900123", "hi", 2, wait_receipts=60)
    assert report.receipts == {"UNDELIV": 2}
    binds = sorted(pdu.command_name for pdu in smsc.bind_attempts)
    assert binds == ["bind_receiver", "bind_transmitter"]


async def test_missing_receipts_are_waited_for_only_as_long_as_asked(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    report = await send_texts(make_config(smsc), "ACME", "447700900123", "hi", 2, wait_receipts=7)
    assert (report.accepted, report.receipts) == (2, {})
    assert 7.0 <= report.elapsed_s < 8.0


async def test_rejections_and_unknowns_are_counted(smsc: FakeSmsc, autojump_clock: Any) -> None:
    answers = iter([CommandStatus.ESME_RINVDSTADR, None, 0])
    smsc.on_submit = lambda link, pdu: next(answers)
    config = make_config(smsc, response_timeout=5.0)
    report = await send_texts(config, "ACME", "447700900123", "hi", 3, wait_receipts=None)
    assert report.to_dict()["submitted"] == 3
    assert (report.accepted, report.rejected, report.unknown) == (1, 1, 1)
    assert report.receipts == {}
    assert all(p.registered_delivery == 0 for p in smsc.bound_links[0].submits)


async def test_a_throttled_submit_is_sent_again_after_the_pause(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    # The 2nd and 3rd submits are throttled once, the 4th says its queue is full.
    throttled, full = CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL
    answers = iter([0, throttled, throttled, full])
    smsc.on_submit = lambda link, pdu: next(answers, 0)
    report = await send_texts(make_config(smsc), "ACME", "447700900123", "hi", 5)
    assert (report.submitted, report.accepted, report.rejected, report.retried) == (5, 5, 0, 3)
    assert len(smsc.bound_links[0].submits) == 8  # 5 and the 3 sent again


async def test_a_submit_throttled_past_its_retries_counts_as_rejected(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: CommandStatus.ESME_RTHROTTLED
    report = await send_texts(
        make_config(smsc), "ACME", "447700900123", "hi", 2, throttle_retries=3
    )
    assert (report.submitted, report.accepted, report.rejected, report.retried) == (2, 0, 2, 6)


async def test_a_permanent_refusal_is_not_sent_again(smsc: FakeSmsc, autojump_clock: Any) -> None:
    smsc.on_submit = lambda link, pdu: CommandStatus.ESME_RINVDSTADR
    report = await send_texts(make_config(smsc), "ACME", "447700900123", "hi", 2)
    assert (report.rejected, report.retried) == (2, 0)
    assert len(smsc.bound_links[0].submits) == 2


async def test_message_id_policy_matches_hex_responses_to_decimal_receipts(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    sent: list[str] = []

    def hex_ids() -> str:
        sent.append(f"{len(sent) + 0x1A2B:X}")
        return sent[-1]

    smsc.next_message_id = hex_ids  # type: ignore[method-assign]
    smsc.on_submit = lambda link, pdu: None

    async def answer_with_decimal_receipts() -> None:
        link = await smsc.wait_bound()
        await link.wait_until(lambda: len(link.held) == 2)
        for pdu in list(link.held):
            await link.answer(pdu)
        for message_id in sent:
            await link.send_receipt(str(int(message_id, 16)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_with_decimal_receipts)
        report = await send_texts(
            make_config(smsc),
            "ACME",
            "447700900123",
            "hi",
            2,
            wait_receipts=30,
            id_policy=MessageIdPolicy.HEX_TO_DEC,
        )
    assert report.receipts == {"DELIVRD": 2}


async def test_bad_addresses_fail_before_connecting(smsc: FakeSmsc) -> None:
    with pytest.raises(PduError) as caught:
        await send_texts(make_config(smsc), "ACME", "not a number", "hi", 1)
    assert caught.value.field == "destination_addr"
    assert smsc.connections == 0


def test_report_serialises_exactly() -> None:
    report = SendReport(5, 4, 1, 0, {"UNDELIV": 1, "DELIVRD": 3}, 1.23456)
    assert report.to_dict() == {
        "submitted": 5,
        "accepted": 4,
        "rejected": 1,
        "unknown": 0,
        "retried": 0,
        "receipts": {"DELIVRD": 3, "UNDELIV": 1},
        "elapsed_s": 1.235,
    }
