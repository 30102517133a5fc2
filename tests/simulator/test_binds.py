"""Binds: open accounts, account rules, refused binds, session answers, bind metrics."""

from __future__ import annotations

import pytest
import trio

from metrics import BIND_STATE, BINDS, child
from smpp_engine.protocol import (
    BindFailed,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    Bound,
    CommandStatus,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Unbind,
    UnbindResp,
)
from smpp_engine.simulator import parse_scenario

from .helpers import bound, connect, raw, running

ACCOUNTS = parse_scenario(
    {
        "accounts": [
            {"system_id": "billing", "password": "secret", "max_binds": 2},
            {"system_id": "notices", "password": "n", "bind_types": ["transmitter"]},
        ]
    }
)


async def test_open_accounts_accept_any_credentials() -> None:
    async with running() as sim:
        for kind in ("transmitter", "receiver", "transceiver"):
            async with connect(sim.port) as esme:
                result = await esme.bind(kind, system_id=f"any-{kind[:4]}", password="whatever")
                assert isinstance(result, Bound)
                assert result.system_id == "SMPPSIM"


async def test_bind_resp_carries_system_id_and_sc_interface_version() -> None:
    async with running() as sim, raw(sim.port, bind=None) as client:
        await client.send(BindTransceiver(system_id="x", password="y", interface_version=0x34))
        (response,) = await client.receive(1)
        assert isinstance(response, BindTransceiverResp)
        assert response.command_status == 0
        assert response.system_id == "SMPPSIM"
        assert response.tlvs == {Tag.sc_interface_version: 0x34}


async def test_failed_bind_resp_has_no_body() -> None:
    async with running(ACCOUNTS) as sim, raw(sim.port, bind=None) as client:
        await client.send(BindTransmitter(system_id="billing", password="nope"))
        (response,) = await client.receive(1)
        assert response.command_status == CommandStatus.ESME_RINVPASWD
        assert response.system_id == ""


@pytest.mark.parametrize(
    ("system_id", "password", "kind", "status"),
    [
        ("billing", "wrong", "transceiver", CommandStatus.ESME_RINVPASWD),
        ("nobody", "secret", "transceiver", CommandStatus.ESME_RINVSYSID),
        ("notices", "n", "receiver", CommandStatus.ESME_RBINDFAIL),
        ("notices", "n", "transceiver", CommandStatus.ESME_RBINDFAIL),
    ],
)
async def test_account_rules(system_id: str, password: str, kind: str, status: int) -> None:
    async with running(ACCOUNTS) as sim, connect(sim.port) as esme:
        result = await esme.bind(kind, system_id, password)
        assert isinstance(result, BindFailed)
        assert result.status == status
        # the session is open again: a correct bind now succeeds
        if system_id == "billing":
            assert isinstance(await esme.bind(kind, "billing", "secret"), Bound)


async def test_allowed_bind_types_and_max_binds() -> None:
    async with running(ACCOUNTS) as sim:
        async with bound(sim.port, "transmitter", "notices", "n"):
            pass
        async with (
            bound(sim.port, "receiver", "billing", "secret"),
            bound(sim.port, "transmitter", "billing", "secret"),
            connect(sim.port) as third,
        ):
            result = await third.bind("transceiver", "billing", "secret")
            assert isinstance(result, BindFailed)
            assert result.status == CommandStatus.ESME_RBINDFAIL
        # both closed: the account may bind again
        for _ in range(50):
            if not sim.stats()["binds"]:
                break
            await trio.sleep(0.01)
        async with bound(sim.port, "transceiver", "billing", "secret"):
            pass


async def test_refuse_binds_scenario_and_fault() -> None:
    refusing = parse_scenario({"faults": {"refuse_binds": True, "refuse_status": "RSYSERR"}})
    async with running(refusing) as sim, connect(sim.port) as esme:
        result = await esme.bind()
        assert isinstance(result, BindFailed)
        assert result.status == CommandStatus.ESME_RSYSERR
    async with running() as sim:
        sim.fault("refuse_binds")
        async with connect(sim.port) as esme:
            result = await esme.bind()
            assert isinstance(result, BindFailed)
            assert result.status == CommandStatus.ESME_RBINDFAIL
            sim.fault("clear")
            assert isinstance(await esme.bind(), Bound)


async def test_refuse_binds_for_a_while(autojump_clock: trio.testing.MockClock) -> None:
    # Longer than the fault, so that the connection may still bind when it ends.
    async with running(parse_scenario({"smsc": {"bind_timeout": 60}})) as sim:
        sim.fault("refuse_binds", duration=10)
        async with connect(sim.port) as esme:
            assert isinstance(await esme.bind(), BindFailed)
            await trio.sleep(11)
            assert isinstance(await esme.bind(), Bound)


async def test_submit_before_bind_is_rejected() -> None:
    async with running() as sim, raw(sim.port, bind=None) as client:
        await client.send(SubmitSm(source_addr="1", destination_addr="2"))
        (response,) = await client.receive(1)
        assert response.command_status == CommandStatus.ESME_RINVBNDSTS
        assert len(sim.records) == 0


async def test_submit_on_receiver_bind_is_rejected() -> None:
    async with running() as sim, raw(sim.port, "receiver") as client:
        await client.send(SubmitSm(source_addr="1", destination_addr="2"))
        (response,) = await client.receive(1)
        assert isinstance(response, SubmitSmResp)
        assert response.command_status == CommandStatus.ESME_RINVBNDSTS
        assert len(sim.records) == 0


async def test_enquire_link_and_unbind_are_answered() -> None:
    async with running() as sim, raw(sim.port) as client:
        assert sim.stats()["binds"] == 1
        await client.send(EnquireLink())
        (response,) = await client.receive(1)
        assert isinstance(response, EnquireLinkResp)
        await client.send(Unbind())
        (response,) = await client.receive(1)
        assert isinstance(response, UnbindResp)
        assert response.command_status == 0
        assert await client.receive_data() == b""  # the simulator closes after unbind_resp
        for _ in range(100):
            if not sim.connections:
                break
            await trio.sleep(0.01)
        assert sim.stats()["binds"] == 0


async def test_bind_gauges_follow_binds() -> None:
    gauge = child(BINDS, "simulator")
    start = gauge._value.get()
    async with running() as sim:
        async with bound(sim.port, system_id="gauge"):
            assert gauge._value.get() == start + 1
            state = child(BIND_STATE, "simulator", "gauge", "BOUND_TRX")._value.get()
            assert state == 1
        for _ in range(100):
            if gauge._value.get() == start:
                break
            await trio.sleep(0.01)
        assert gauge._value.get() == start
        assert child(BIND_STATE, "simulator", "gauge", "BOUND_TRX")._value.get() == 0
