"""MO messages and receipts reach the application with back-pressure, and are answered."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
import trio

from smpp_engine.esme import Inbound, open_bind
from smpp_engine.esme import bind as bind_module
from smpp_engine.protocol import (
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    MessageState,
    Tag,
)

from .conftest import FakeSmsc, SmscLink, make_config, metric, receipt_pdu
from .test_bind import submit_sm

S = CommandStatus


def mo(text: bytes = b"READ 12345") -> DeliverSm:
    return DeliverSm(source_addr="447700900123", destination_addr="5555", short_message=text)


async def wait_answers(link: SmscLink, count: int) -> list[Any]:
    await link.wait_until(lambda: len(link.responses) >= count)
    return link.responses


async def test_mo_and_receipts_reach_the_app_and_are_answered_rok(smsc: FakeSmsc) -> None:
    send, receive = trio.open_memory_channel[Inbound](10)
    mo_before = metric("smpp_mo_messages_total", side="esme")
    receipts_before = metric("smpp_receipts_total", side="esme", state="UNDELIV")
    async with open_bind(make_config(smsc), inbound=send) as bind:
        link = smsc.bound_links[0]
        await link.deliver(mo())
        await link.send_receipt("M777", MessageState.UNDELIVERABLE)
        await link.deliver(
            DataSm(source_addr="447700900123", tlvs={Tag.message_payload: b"data sm text"})
        )
        first, second, third = [await receive.receive() for _ in range(3)]
        answers = await wait_answers(link, 3)
    assert first.receipt is None and not first.is_receipt
    assert isinstance(first.pdu, DeliverSm) and first.pdu.short_message == b"READ 12345"
    assert first.bind == bind.name
    assert second.receipt is not None and second.is_receipt
    assert second.receipt.message_id == "M777"
    assert second.receipt.state is MessageState.UNDELIVERABLE
    assert isinstance(third.pdu, DataSm) and third.receipt is None
    assert [type(a) for a in answers] == [DeliverSmResp, DeliverSmResp, DataSmResp]
    assert [a.command_status for a in answers] == [0, 0, 0]
    assert metric("smpp_mo_messages_total", side="esme") == mo_before + 2
    assert metric("smpp_receipts_total", side="esme", state="UNDELIV") == receipts_before + 1


async def test_unreadable_receipt_is_still_delivered_with_the_error(smsc: FakeSmsc) -> None:
    send, receive = trio.open_memory_channel[Inbound](10)
    async with open_bind(make_config(smsc), inbound=send):
        link = smsc.bound_links[0]
        await link.deliver(DeliverSm(esm_class=0x04, short_message=b"no id here stat:DELIVRD"))
        item = await receive.receive()
        answers = await wait_answers(link, 1)
    assert item.is_receipt and item.receipt is None
    assert item.receipt_error is not None and item.receipt_error.field == "id"
    assert answers[0].command_status == 0


async def test_app_not_taking_the_message_gets_rx_t_appn_without_blocking_submits(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    send, _receive = trio.open_memory_channel[Inbound](0)  # nobody receives
    async with open_bind(make_config(smsc, deliver_timeout=3.0), inbound=send) as bind:
        link = smsc.bound_links[0]
        start = trio.current_time()
        await link.deliver(mo())
        # The reader still matches submit responses while the deliver_sm waits.
        outcome = await bind.submit(submit_sm())
        assert outcome.accepted
        assert trio.current_time() - start < 3.0
        (answer,) = await wait_answers(link, 1)
        assert trio.current_time() - start >= 3.0
    assert answer.command_status == S.ESME_RX_T_APPN


async def test_app_taking_the_message_late_but_in_time_gets_rok(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    send, receive = trio.open_memory_channel[Inbound](0)
    async with open_bind(make_config(smsc, deliver_timeout=3.0), inbound=send):
        link = smsc.bound_links[0]
        await link.deliver(mo())
        await trio.sleep(2.0)
        item = await receive.receive()
        (answer,) = await wait_answers(link, 1)
    assert isinstance(item.pdu, DeliverSm) and item.pdu.short_message == b"READ 12345"
    assert answer.command_status == 0


@pytest.mark.parametrize("status", [S.ESME_RX_T_APPN, S.ESME_RX_P_APPN])
async def test_without_an_inbound_channel_messages_are_refused_with_the_configured_status(
    smsc: FakeSmsc, status: int
) -> None:
    async with open_bind(make_config(smsc, deliver_error_status=status)):
        link = smsc.bound_links[0]
        await link.deliver(mo())
        (answer,) = await wait_answers(link, 1)
    assert answer.command_status == status


async def test_back_pressure_answers_in_arrival_order_and_deadlines_run_from_arrival(
    smsc: FakeSmsc, autojump_clock: Any, logs: list[MutableMapping[str, Any]]
) -> None:
    send, _receive = trio.open_memory_channel[Inbound](0)  # nobody receives
    async with open_bind(make_config(smsc, deliver_timeout=3.0), inbound=send):
        link = smsc.bound_links[0]
        start = trio.current_time()
        for n in range(3):
            await link.deliver(mo(f"m{n}".encode()))
        answers = await wait_answers(link, 3)
        # Three untaken messages all expire 3 s after they arrived, not one after another.
        assert trio.current_time() - start < 6.0
    assert [a.command_status for a in answers] == [S.ESME_RX_T_APPN] * 3
    assert [a.sequence_number for a in answers] == sorted(a.sequence_number for a in answers)
    # One warning for the episode, not one per message: an overloaded app must not
    # flood the log.
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["answer"] == "ESME_RX_T_APPN"


async def test_inbound_beyond_the_queue_limit_is_refused_at_once(
    smsc: FakeSmsc, autojump_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bind_module, "MAX_QUEUED_INBOUND", 2)
    send, _receive = trio.open_memory_channel[Inbound](0)  # nobody receives
    async with open_bind(make_config(smsc, deliver_timeout=3.0), inbound=send):
        link = smsc.bound_links[0]
        start = trio.current_time()
        for n in range(5):  # one waits for the app, two queue, two are over the limit
            await link.deliver(mo(f"m{n}".encode()))
        first_two = await wait_answers(link, 2)
        assert trio.current_time() - start < 1.0
        assert [a.command_status for a in first_two] == [S.ESME_RX_T_APPN] * 2
        await wait_answers(link, 5)
        assert trio.current_time() - start >= 3.0


async def test_deferred_ack_answers_only_when_the_application_acknowledges(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    send, receive = trio.open_memory_channel[Inbound](10)
    config = make_config(smsc, deliver_timeout=5.0, ack_inbound=True)
    async with open_bind(config, inbound=send):
        link = smsc.bound_links[0]
        for text in (b"one", b"two", b"three"):
            await link.deliver(mo(text))
        items = [await receive.receive() for _ in range(3)]
        await trio.sleep(1.0)
        assert link.responses == []  # taken, but nothing durable yet: no answer
        items[2].ack()
        items[0].ack(ok=False)
        items[0].ack()  # only the first call counts
        answers = await wait_answers(link, 2)
        by_sequence = {a.sequence_number: a.command_status for a in answers}
        assert by_sequence == {
            items[2].pdu.sequence_number: 0,
            items[0].pdu.sequence_number: S.ESME_RX_T_APPN,
        }
        # the unacknowledged one is refused at its deadline, so the SMSC retries it
        await trio.sleep(5.0)
        answers = await wait_answers(link, 3)
        assert answers[2].sequence_number == items[1].pdu.sequence_number
        assert answers[2].command_status == S.ESME_RX_T_APPN
        items[1].ack()  # too late: changes nothing
        await trio.sleep(1.0)
        assert len(link.responses) == 3


async def test_without_deferred_ack_ack_is_a_no_op(smsc: FakeSmsc) -> None:
    send, receive = trio.open_memory_channel[Inbound](10)
    async with open_bind(make_config(smsc), inbound=send):
        link = smsc.bound_links[0]
        await link.deliver(mo())
        item = await receive.receive()
        (answer,) = await wait_answers(link, 1)
        item.ack(ok=False)
        await trio.sleep(0.05)
        assert len(link.responses) == 1
    assert answer.command_status == 0


async def test_a_burst_of_receipts_is_answered_in_stretches(smsc: FakeSmsc) -> None:
    # The SMSC's deliver window is held by the receipts not yet answered: the first
    # answers must leave while the rest of a long burst is still being handled.
    link: SmscLink | None = None
    answered_when_taken: list[int] = []

    class Recording:
        """Takes every item at once, noting how many answers the SMSC had read then."""

        def send_nowait(self, item: Inbound) -> None:
            assert link is not None
            answered_when_taken.append(len(link.responses))

    recording: Any = Recording()
    async with open_bind(make_config(smsc), inbound=recording):
        link = smsc.bound_links[0]
        for n in range(100):
            pdu = receipt_pdu(f"M{n}", MessageState.DELIVERED)
            link.session.send_request(pdu, trio.current_time())
        await link.flush()
        await wait_answers(link, 100)
    assert len(answered_when_taken) == 100
    assert answered_when_taken[-1] >= 32


def _inbound_counts() -> tuple[float, float, float]:
    """The ESME's receipts counted DELIVRD and UNDELIV, and its ESME_ROK deliver_sm_resp."""
    return (
        metric("smpp_receipts_total", side="esme", state="DELIVRD"),
        metric("smpp_receipts_total", side="esme", state="UNDELIV"),
        metric(
            "smpp_pdus_total",
            side="esme",
            direction="sent",
            command="deliver_sm_resp",
            status="ESME_ROK",
        ),
    )


async def test_a_burst_is_counted_whole_by_the_time_its_answers_have_left(
    smsc: FakeSmsc,
) -> None:
    # Counted per stretch, not per receipt: the counts reach the metrics when each
    # stretch ends, so a scrape after the answers finds all of them, bind still up.
    before = _inbound_counts()
    send, receive = trio.open_memory_channel[Inbound](200)
    async with open_bind(make_config(smsc), inbound=send):
        link = smsc.bound_links[0]
        for n in range(70):
            state = MessageState.DELIVERED if n % 7 else MessageState.UNDELIVERABLE
            link.session.send_request(receipt_pdu(f"M{n}", state), trio.current_time())
        await link.flush()
        await wait_answers(link, 70)
        after = _inbound_counts()
    assert [x - y for x, y in zip(after, before, strict=True)] == [60, 10, 70]
    receive.close()


# --- in batches: on_inbound ------------------------------------------------------------


async def test_on_inbound_takes_a_burst_in_batches_each_answered_rok(smsc: FakeSmsc) -> None:
    batches: list[list[Inbound]] = []
    before = _inbound_counts()
    async with open_bind(make_config(smsc), on_inbound=batches.append):
        link = smsc.bound_links[0]
        for n in range(70):
            link.session.send_request(
                receipt_pdu(f"M{n}", MessageState.DELIVERED), trio.current_time()
            )
        await link.deliver(mo())
        await link.flush()
        answers = await wait_answers(link, 71)
        after = _inbound_counts()
    items = [item for batch in batches for item in batch]
    assert [i.receipt.message_id for i in items[:70] if i.receipt] == [f"M{n}" for n in range(70)]
    assert items[70].receipt is None and isinstance(items[70].pdu, DeliverSm)
    assert 1 < len(batches) <= 71  # more than one call: batches are bounded (a stretch)
    assert max(len(batch) for batch in batches) <= bind_module._INBOUND_STRETCH
    assert [a.command_status for a in answers] == [0] * 71
    assert [x - y for x, y in zip(after, before, strict=True)] == [70, 0, 71]


async def test_a_batch_whose_sink_raises_is_answered_with_the_error_and_the_bind_goes_on(
    smsc: FakeSmsc, logs: list[MutableMapping[str, Any]]
) -> None:
    calls: list[int] = []

    def sink(batch: list[Inbound]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("application bug")

    config = make_config(smsc, deliver_error_status=S.ESME_RX_P_APPN)
    async with open_bind(config, on_inbound=sink) as bind:
        link = smsc.bound_links[0]
        await link.deliver(mo(b"first"))
        (refused,) = await wait_answers(link, 1)
        await link.deliver(mo(b"second"))
        answers = await wait_answers(link, 2)
        assert (await bind.submit(submit_sm())).accepted  # still bound and working
    assert refused.command_status == S.ESME_RX_P_APPN and answers[1].command_status == 0
    assert calls == [1, 1]
    assert any(e["log_level"] == "error" and "on_inbound" in e["event"] for e in logs)


async def test_on_inbound_with_deferred_ack(smsc: FakeSmsc, autojump_clock: Any) -> None:
    items: list[Inbound] = []
    config = make_config(smsc, deliver_timeout=5.0, ack_inbound=True)
    async with open_bind(config, on_inbound=items.extend):
        link = smsc.bound_links[0]
        await link.deliver(mo(b"one"))
        await link.deliver(mo(b"two"))
        while len(items) < 2:
            await trio.sleep(0.01)
        await trio.sleep(1.0)
        assert link.responses == []
        items[1].ack()
        (answer,) = await wait_answers(link, 1)
        assert answer.sequence_number == items[1].pdu.sequence_number
        await trio.sleep(5.0)  # the other one is refused at its deadline
        answers = await wait_answers(link, 2)
    assert answer.command_status == 0 and answers[1].command_status == S.ESME_RX_T_APPN


async def test_a_channel_and_a_sink_cannot_both_take_inbound(smsc: FakeSmsc) -> None:
    send, _receive = trio.open_memory_channel[Inbound](1)
    with pytest.raises(TypeError, match="not both"):
        async with open_bind(make_config(smsc), inbound=send, on_inbound=print):
            pass
