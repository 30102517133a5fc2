"""Every command the simulator answers, and the message ids it hands out."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import trio

from smpp_engine.protocol import (
    CancelSm,
    CancelSmResp,
    CommandStatus,
    DataSm,
    DataSmResp,
    DistributionList,
    MessageState,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SmeAddress,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
    UnsuccessSme,
    parse_smpp_time,
)
from smpp_engine.simulator import parse_scenario

from .helpers import bound, raw, running

NO_RECEIPTS = parse_scenario({"receipts": {"enabled": False, "delay": 60}})


async def test_submit_sm_is_accepted_and_recorded() -> None:
    async with running() as sim, bound(sim.port, system_id="acme") as esme:
        response = await esme.submit(
            source_addr="ACME",
            destination_addr="359888000001",
            short_message=b"Balance 12.30 EUR",
            registered_delivery=0,
            data_coding=0,
            esm_class=0,
        )
        assert isinstance(response, SubmitSmResp)
        assert response.command_status == 0
        (record,) = sim.messages(destination="359888000001")
        assert record.message_id == response.message_id
        assert record.system_id == "acme"
        assert record.source == "ACME"
        assert record.text == "Balance 12.30 EUR"
        assert record.bind.startswith("acme/TRX#")
        assert record.registered_delivery == 0


async def test_data_sm_is_answered_with_data_sm_resp() -> None:
    async with running() as sim, bound(sim.port) as esme:
        payload = "Ω reading accepted".encode("utf-16-be")
        response = await esme.request(
            DataSm(
                source_addr="1",
                destination_addr="359888000002",
                data_coding=8,
                tlvs={Tag.message_payload: payload},
            )
        )
        assert isinstance(response, DataSmResp)
        assert response.command_status == 0
        assert response.message_id
        (record,) = sim.messages(message_id=response.message_id)
        assert record.short_message == payload
        assert record.text == "Ω reading accepted"


async def test_submit_multi_reports_failing_destinations() -> None:
    scenario = parse_scenario({"submit": {"prefixes": {"4479990": "ESME_RINVDSTADR"}}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        response = await esme.request(
            SubmitMulti(
                source_addr="ACME",
                dest_addresses=[
                    SmeAddress(1, 1, "447700900001"),
                    SmeAddress(1, 1, "447999000001"),
                    SmeAddress(1, 1, "447700900002"),
                    DistributionList("staff"),
                ],
                short_message=b"Outage tonight",
            )
        )
        assert isinstance(response, SubmitMultiResp)
        assert response.command_status == 0
        assert response.message_id
        assert response.unsuccess_smes == [
            UnsuccessSme(1, 1, "447999000001", CommandStatus.ESME_RINVDSTADR),
            UnsuccessSme(0, 0, "", CommandStatus.ESME_RINVDLNAME),
        ]
        (record,) = sim.messages(message_id=response.message_id)
        assert record.all_destinations() == ("447700900001", "447700900002")
        assert sim.messages(destination="447700900002") == [record]


async def test_submit_multi_with_no_good_destination_fails() -> None:
    scenario = parse_scenario({"submit": {"prefixes": {"44": "ESME_RINVDSTADR"}}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        response = await esme.request(
            SubmitMulti(source_addr="A", dest_addresses=[SmeAddress(1, 1, "4470")])
        )
        assert response.command_status == CommandStatus.ESME_RINVDSTADR


async def test_query_sm_reports_state_before_and_after_delivery(
    autojump_clock: trio.testing.MockClock,
) -> None:
    scenario = parse_scenario({"receipts": {"delay": 30, "states": {"UNDELIV": 1}}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        submitted = await esme.submit(registered_delivery=0)
        query = QuerySm(message_id=submitted.message_id, source_addr="12345")
        response = await esme.request(query)
        assert isinstance(response, QuerySmResp)
        assert response.command_status == 0
        assert response.message_id == submitted.message_id
        assert response.message_state == MessageState.ENROUTE
        assert response.final_date == ""
        await trio.sleep(31)
        response = await esme.request(QuerySm(message_id=submitted.message_id))
        assert response.message_state == MessageState.UNDELIVERABLE
        assert response.error_code == 1
        assert parse_smpp_time(response.final_date, datetime.now(UTC)) is not None
        assert sim.records.get(int(submitted.message_id, 16)) is not None


async def test_query_sm_unknown_or_foreign_message() -> None:
    async with running() as sim, bound(sim.port) as esme:
        response = await esme.request(QuerySm(message_id="ffffff"))
        assert response.command_status == CommandStatus.ESME_RINVMSGID
        response = await esme.request(QuerySm(message_id="not-hex!"))
        assert response.command_status == CommandStatus.ESME_RINVMSGID
        submitted = await esme.submit()
        response = await esme.request(QuerySm(message_id=submitted.message_id, source_addr="99999"))
        assert response.command_status == CommandStatus.ESME_RINVSRCADR


async def test_cancel_sm_of_pending_then_final_message() -> None:
    async with running(NO_RECEIPTS) as sim, bound(sim.port) as esme:
        submitted = await esme.submit()
        response = await esme.request(
            CancelSm(message_id=submitted.message_id, source_addr="12345")
        )
        assert isinstance(response, CancelSmResp)
        assert response.command_status == 0
        state = await esme.request(QuerySm(message_id=submitted.message_id))
        assert state.message_state == MessageState.DELETED
        again = await esme.request(CancelSm(message_id=submitted.message_id))
        assert again.command_status == CommandStatus.ESME_RCANCELFAIL
        unknown = await esme.request(CancelSm(message_id="abcdef"))
        assert unknown.command_status == CommandStatus.ESME_RINVMSGID
        other = await esme.submit()
        wrong = await esme.request(CancelSm(message_id=other.message_id, destination_addr="000"))
        assert wrong.command_status == CommandStatus.ESME_RINVDSTADR


async def test_cancelled_message_gets_no_receipt(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"receipts": {"delay": 10}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        submitted = await esme.submit(registered_delivery=1)
        await esme.request(CancelSm(message_id=submitted.message_id))
        await trio.sleep(20)
        assert esme.delivered == []
        assert sim.messages(message_id=submitted.message_id)[0].receipt_state is None


async def test_replace_sm_changes_the_text_of_a_pending_message() -> None:
    async with running(NO_RECEIPTS) as sim, bound(sim.port) as esme:
        submitted = await esme.submit(short_message=b"Due 10 EUR")
        response = await esme.request(
            ReplaceSm(
                message_id=submitted.message_id, source_addr="12345", short_message=b"Due 8 EUR"
            )
        )
        assert isinstance(response, ReplaceSmResp)
        assert response.command_status == 0
        (record,) = sim.messages(message_id=submitted.message_id)
        assert record.text == "Due 8 EUR"
        unknown = await esme.request(ReplaceSm(message_id="777777", short_message=b"x"))
        assert unknown.command_status == CommandStatus.ESME_RINVMSGID


async def test_replace_sm_of_final_message_fails() -> None:
    async with running() as sim, bound(sim.port) as esme:  # delivered at once
        submitted = await esme.submit()
        response = await esme.request(
            ReplaceSm(message_id=submitted.message_id, short_message=b"late")
        )
        assert response.command_status == CommandStatus.ESME_RREPLACEFAIL


async def test_empty_destination_is_refused() -> None:
    async with running() as sim, raw(sim.port) as client:
        await client.send(SubmitSm(source_addr="1", destination_addr=""))
        (response,) = await client.receive(1)
        assert response.command_status == CommandStatus.ESME_RINVDSTADR
        assert len(response.message_id) == 0  # error submit_sm_resp: no body


@pytest.mark.parametrize(
    ("ids", "pattern"),
    [
        ({"format": "hex", "start": 255}, r"ff|100|101"),
        (
            {"format": "hex", "start": 255, "uppercase": True, "width": 8},
            r"000000FF|00000100|00000101",
        ),
        ({"format": "decimal", "start": 99}, r"99|100|101"),
        ({"format": "decimal", "width": 10}, r"\d{10}"),
        ({"format": "hex", "mode": "random"}, r"[0-9a-f]{1,16}"),
        ({"format": "decimal", "mode": "random"}, r"\d{1,19}"),
    ],
)
async def test_message_id_formats(ids: dict[str, object], pattern: str) -> None:
    scenario = parse_scenario({"smsc": {"message_ids": ids}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        found = [(await esme.submit()).message_id for _ in range(3)]
        assert all(re.fullmatch(pattern, mid) for mid in found), found
        assert len(set(found)) == 3
        if ids.get("mode") != "random" and "start" in ids:
            assert re.fullmatch(pattern.split("|", maxsplit=1)[0], found[0])
        # ids come back through query_sm in the same form
        state = await esme.request(QuerySm(message_id=found[0]))
        assert state.command_status == 0


async def test_random_ids_replay_with_the_seed() -> None:
    scenario = parse_scenario({"seed": 42, "smsc": {"message_ids": {"mode": "random"}}})

    async def ids() -> list[str]:
        async with running(scenario) as sim, bound(sim.port) as esme:
            return [(await esme.submit()).message_id for _ in range(5)]

    first, second = await ids(), await ids()
    assert first == second
    other = parse_scenario({"seed": 43, "smsc": {"message_ids": {"mode": "random"}}})
    async with running(other) as sim, bound(sim.port) as esme:
        assert (await esme.submit()).message_id != first[0]


async def test_a_burst_in_one_write_is_answered_whole() -> None:
    """Many requests in one write are all answered, each with its own sequence number."""
    async with running() as sim, raw(sim.port) as client:
        pdus = [SubmitSm(source_addr="1", destination_addr=f"35988800{i:04d}") for i in range(300)]
        await client.send(*pdus)
        responses = await client.receive(300)
        assert sorted(r.sequence_number for r in responses) == sorted(
            p.sequence_number for p in pdus
        )
        assert len({r.message_id for r in responses}) == 300
        assert len(sim.records) == 300
