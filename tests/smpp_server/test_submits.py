"""Submits over the server face: stored before their response, per-tenant limits,
back-pressure, segments kept as sent, receipts through the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import trio

from smpp_engine.protocol import (
    CommandStatus,
    DataSm,
    DeliverSm,
    DistributionList,
    RequestReceived,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
    Tag,
)
from smpp_engine.store import Accepted, MessageState, NewMessage, StoreError
from smpp_engine.store.callbacks import OutboxStatus

from .conftest import credential, gateway_settings, running
from .esme import RawEsme

S = CommandStatus


def submit(n: int, *, receipt: bool = True, **fields: object) -> SubmitSm:
    values: dict[str, object] = {
        "source_addr_ton": 5,
        "source_addr": "ACME",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": f"4477009{n:05d}",
        "short_message": f"message {n}".encode(),
        "registered_delivery": 1 if receipt else 0,
        **fields,
    }
    return SubmitSm(**values)  # type: ignore[arg-type]


async def submit_all(esme: RawEsme, pdus: Sequence[object]) -> list[tuple[int, str]]:
    sequences = [await esme.send(p) for p in pdus]  # type: ignore[arg-type]
    answers = []
    for sequence in sequences:
        response = await esme.response(sequence)
        answers.append((response.command_status, getattr(response, "message_id", "")))
    return answers


async def test_no_id_without_the_message_kept_a_store_failure_is_rsyserr(tmp_path: Path) -> None:
    async with running(gateway_settings(tmp_path)) as (gateway, started):
        assert started.smpp_server_port
        server = gateway.smpp_server
        stored = server._accept

        async def failing(messages: Sequence[NewMessage]) -> list[Accepted]:
            raise StoreError("sqlite", "disk I/O error")

        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        server._accept = failing
        assert await submit_all(esme, [submit(1), submit(2)]) == [
            (S.ESME_RSYSERR, ""),
            (S.ESME_RSYSERR, ""),
        ]

        async def refusing(messages: Sequence[NewMessage]) -> list[Accepted]:
            raise ValueError("a message the store refuses")

        # Any other failure is the same to the client, and the bind goes on.
        server._accept = refusing
        assert await submit_all(esme, [submit(4)]) == [(S.ESME_RSYSERR, "")]
        server._accept = stored
        [(status, message_id)] = await submit_all(esme, [submit(3)])
        assert status == 0
        view = await gateway.store.get(int(message_id))  # type: ignore[union-attr]
        assert view is not None and view.destination == "447700900003"
        # Only that one was kept.
        assert await gateway.store.get(int(message_id) - 1) is None  # type: ignore[union-attr]


async def test_over_the_throughput_is_throttled_over_the_quota_is_msgqful(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path,
        credential("acme1", throughput=1.0),
        credential("acme2"),
        tenant={"daily_quota": 3},
    )
    async with running(settings) as (_, started):
        assert started.smpp_server_port
        fast = await RawEsme.connect(started.smpp_server_port)
        assert await fast.bind() == 0
        # One per second with a burst of one: of three at once, the later are refused.
        statuses = [s for s, _ in await submit_all(fast, [submit(n) for n in range(3)])]
        assert statuses[0] == 0
        assert S.ESME_RTHROTTLED in statuses
        taken = statuses.count(0)
        # The daily quota of three is the tenant's, over all its credentials.
        other = await RawEsme.connect(started.smpp_server_port)
        assert await other.bind(system_id="acme2") == 0
        answers = await submit_all(other, [submit(10 + n) for n in range(4)])
        assert [s for s, _ in answers] == [0] * (3 - taken) + [S.ESME_RMSGQFUL] * (1 + taken)


async def test_over_the_window_responses_wait(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, credential("acme1", window=2))
    async with running(settings) as (gateway, started):
        assert started.smpp_server_port
        server = gateway.smpp_server
        stored = server._accept
        in_store = 0
        most = 0

        async def counting(messages: Sequence[NewMessage]) -> list[Accepted]:
            nonlocal in_store, most
            in_store += len(messages)
            most = max(most, in_store)
            await trio.sleep(0.01)  # a slow store: the client runs ahead
            try:
                return await stored(messages)
            finally:
                in_store -= len(messages)

        server._accept = counting
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        answers = await submit_all(esme, [submit(n, receipt=False) for n in range(12)])
        assert [s for s, _ in answers] == [0] * 12
        assert most <= 2


async def test_receipts_wait_for_a_receiver_and_come_once_in_the_gateways_hex_id(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path, credential("acme1", id_format="hex"))
    async with running(settings) as (gateway, started):
        port = started.smpp_server_port
        assert port
        sender = await RawEsme.connect(port)
        assert await sender.bind("transmitter") == 0
        answers = await submit_all(sender, [submit(n) for n in range(3)])
        ids = {message_id for _, message_id in answers}
        assert all(int(i, 16) for i in ids) and len(ids) == 3
        store = gateway.store
        assert store is not None
        with trio.fail_after(30):
            while True:
                views = [await store.get(int(i, 16)) for i in ids]
                if all(v is not None and v.state is MessageState.DELIVERED for v in views):
                    break
                await trio.sleep(0.05)
        # Nobody to send them to yet: they wait in the outbox.
        pending = await store.list_callbacks(status=OutboxStatus.PENDING)  # type: ignore[attr-defined]
        assert len(pending) == 3
        receiver = await RawEsme.connect(port)
        assert await receiver.bind("receiver") == 0
        got = set()
        for _ in ids:
            event = await receiver.wait_for(
                lambda e: isinstance(e, RequestReceived) and isinstance(e.pdu, DeliverSm)
            )
            assert isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm)
            pdu = event.pdu
            assert pdu.esm_class & 0x3C == 0x04
            assert pdu.tlvs[Tag.message_state] == 2
            got.add(pdu.tlvs[Tag.receipted_message_id])
            assert pdu.short_message.startswith(
                f"id:{pdu.tlvs[Tag.receipted_message_id]} ".encode()
            )
        assert got == ids
        # Answered: they leave the outbox, and a receiver binding again gets none.
        with trio.fail_after(30):
            while await store.list_callbacks(status=OutboxStatus.PENDING):  # type: ignore[attr-defined]
                await trio.sleep(0.05)
        await receiver.aclose()


async def test_long_message_parts_go_upstream_as_the_client_sent_them(tmp_path: Path) -> None:
    async with running(gateway_settings(tmp_path)) as (gateway, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        udh = [b"\x05\x00\x03\x2a\x02\x01first half ", b"\x05\x00\x03\x2a\x02\x02second half"]
        sar = {Tag.sar_msg_ref_num: 0x1234, Tag.sar_total_segments: 2, Tag.sar_segment_seqnum: 2}
        pdus: list[object] = [
            submit(1, esm_class=0x40, short_message=udh[0]),
            submit(1, esm_class=0x40, short_message=udh[1]),
            submit(2, data_coding=8, short_message="часть".encode("utf-16-be"), tlvs=sar),
        ]
        answers = await submit_all(esme, pdus)
        assert [s for s, _ in answers] == [0, 0, 0]
        simulator = gateway.simulator
        with trio.fail_after(30):
            while len(list(simulator.records)) < 3:
                await trio.sleep(0.05)
        records = {bytes(r.short_message): r for r in simulator.records}
        for part in udh:
            assert records[part].esm_class & 0x40
        sar_record = records["часть".encode("utf-16-be")]
        assert sar_record.data_coding == 8
        assert sar_record.pdu.tlvs[Tag.sar_segment_seqnum] == 2
        view = await gateway.store.get(int(answers[1][1]))  # type: ignore[union-attr]
        assert view is not None and view.text == "second half"


async def test_data_sm_and_submit_multi_are_taken(tmp_path: Path) -> None:
    async with running(gateway_settings(tmp_path)) as (gateway, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        data = DataSm(
            source_addr_ton=5,
            source_addr="ACME",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="447700900100",
            tlvs={Tag.message_payload: b"by data sm"},
        )
        multi = SubmitMulti(
            source_addr_ton=5,
            source_addr="ACME",
            dest_addresses=[
                SmeAddress(1, 1, "447700900101"),
                SmeAddress(1, 1, "447700900102"),
                DistributionList("friends"),
            ],
            short_message=b"to many",
        )
        data_seq = await esme.send(data)
        multi_seq = await esme.send(multi)
        data_resp = await esme.response(data_seq)
        multi_resp = await esme.response(multi_seq)
        assert data_resp.command_status == 0 and multi_resp.command_status == 0
        assert [u.error_status_code for u in multi_resp.unsuccess_smes] == [S.ESME_RINVDLNAME]  # type: ignore[attr-defined]
        view = await gateway.store.get(int(data_resp.message_id))  # type: ignore[attr-defined,union-attr]
        assert view is not None and view.text == "by data sm"
        first = int(multi_resp.message_id)  # type: ignore[attr-defined]
        views = [await gateway.store.get(first + n) for n in range(2)]  # type: ignore[union-attr]
        assert [v.destination for v in views if v] == ["447700900101", "447700900102"]


async def test_a_source_the_credential_may_not_use_is_refused(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, credential("acme1", source_range=r"ACME\d*"))
    async with running(settings) as (_, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        answers = await submit_all(
            esme, [submit(1, source_addr="ACME7"), submit(2, source_addr="OTHER")]
        )
        assert [s for s, _ in answers] == [0, S.ESME_RINVSRCADR]


async def test_a_validity_period_is_taken_and_a_bad_one_refused(tmp_path: Path) -> None:
    async with running(gateway_settings(tmp_path)) as (_, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        answers = await submit_all(
            esme,
            [
                submit(1, validity_period="000001000000000R"),  # one hour from now
                submit(2, validity_period="261399000000000+"),  # month 13
            ],
        )
        assert [s for s, _ in answers] == [0, S.ESME_RINVEXPIRY]


async def test_a_receipt_the_client_refuses_comes_again_until_it_is_taken(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path)
    settings = settings.model_copy(
        update={"callbacks": settings.callbacks.model_copy(update={"first_delay": 0.05})}
    )
    async with running(settings) as (gateway, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        esme.deliver_statuses = [S.ESME_RX_T_APPN]
        assert await esme.bind() == 0
        [(status, message_id)] = await submit_all(esme, [submit(1)])
        assert status == 0
        ids = []
        for _ in range(2):
            event = await esme.wait_for(
                lambda e: isinstance(e, RequestReceived) and isinstance(e.pdu, DeliverSm)
            )
            assert isinstance(event, RequestReceived)
            ids.append(event.pdu.tlvs[Tag.receipted_message_id])
        assert ids == [message_id, message_id]
        store = gateway.store
        with trio.fail_after(30):
            while await store.list_callbacks(status=OutboxStatus.PENDING):  # type: ignore[union-attr]
                await trio.sleep(0.05)
