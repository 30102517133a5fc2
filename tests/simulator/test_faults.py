"""Faults on demand and the dead scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from smpp_engine.protocol import (
    BindTransceiver,
    CommandStatus,
    EnquireLink,
    EnquireLinkResp,
    LinkDead,
    ProtocolError,
    SubmitSmResp,
)
from smpp_engine.simulator import FaultError, parse_scenario

from .helpers import bound, raw, running

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


async def test_drop_closes_the_connection() -> None:
    async with running() as sim, raw(sim.port) as client:
        result = sim.fault("drop")
        assert result["connections"] == 1
        assert await client.receive_data() == b""
        for _ in range(100):
            if not sim.connections:
                break
            await trio.sleep(0.01)
        assert sim.connections == {}
        assert sim.stats()["binds"] == 0


async def test_drop_with_reset() -> None:
    async with running() as sim, raw(sim.port) as client:
        sim.fault("drop", variant="reset")
        with pytest.raises(trio.BrokenResourceError):
            while await client.receive_data():
                pass


async def test_drop_only_the_named_account() -> None:
    async with (
        running() as sim,
        raw(sim.port, system_id="victim") as victim,
        raw(sim.port, system_id="bystander") as bystander,
    ):
        assert sim.fault("drop", system_id="victim")["connections"] == 1
        assert await victim.receive_data() == b""
        await bystander.send(EnquireLink())
        (response,) = await bystander.receive(1)
        assert isinstance(response, EnquireLinkResp)


async def test_stall_until_cleared(autojump_clock: trio.testing.MockClock) -> None:
    async with running() as sim, raw(sim.port) as client:
        sim.fault("stall")
        await client.send(EnquireLink())
        with trio.move_on_after(60) as waited:
            await client.receive(1)
        assert waited.cancelled_caught  # nothing answered while stalled
        assert sim.stats()["connections"][0]["stalled"]
        sim.fault("clear")
        (response,) = await client.receive(1)  # answered afterwards
        assert isinstance(response, EnquireLinkResp)


async def test_stall_for_a_while(autojump_clock: trio.testing.MockClock) -> None:
    async with running() as sim, raw(sim.port) as client:
        sim.fault("stall", duration=30)
        start = trio.current_time()
        await client.send(EnquireLink())
        (response,) = await client.receive(1)
        assert isinstance(response, EnquireLinkResp)
        assert trio.current_time() - start >= 30


async def test_stall_also_holds_receipts(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"receipts": {"delay": 5}})
    async with running(scenario) as sim, bound(sim.port) as esme:
        await esme.submit(registered_delivery=1)
        sim.fault("stall", duration=20)
        await trio.sleep(10)
        assert esme.delivered == []
        await trio.sleep(15)
        assert len(esme.delivered) == 1


async def test_unbind_from_the_simulator() -> None:
    async with running() as sim, bound(sim.port) as esme:
        assert sim.fault("unbind")["connections"] == 1
        await esme.peer_unbound.wait()  # the ESME session answered unbind_resp
        await esme.closed.wait()  # and the simulator closed after it
        assert sim.stats()["binds"] == 0


async def test_malformed_truncated_deliver_sm() -> None:
    async with running() as sim, bound(sim.port) as esme:
        sim.fault("malformed")
        while not esme.errors:
            await trio.sleep(0.01)
        (error,) = esme.errors
        assert error.error.field == "sm_length"
        assert error.error.status == CommandStatus.ESME_RINVMSGLEN
        # the link survives a bad PDU
        response = await esme.submit()
        assert isinstance(response, SubmitSmResp)
        assert response.command_status == 0


async def test_malformed_unknown_command() -> None:
    async with running() as sim, bound(sim.port) as esme:
        sim.fault("malformed", variant="unknown_command")
        while not esme.errors:
            await trio.sleep(0.01)
        assert esme.errors[0].error.status == CommandStatus.ESME_RINVCMDID
        assert (await esme.submit()).command_status == 0


async def test_malformed_bad_length_breaks_the_stream() -> None:
    async with running() as sim, bound(sim.port) as esme:
        sim.fault("malformed", variant="bad_length")
        await esme.closed.wait()
        assert any(isinstance(e, ProtocolError) and e.error.framing for e in esme.events)
        assert any(isinstance(e, LinkDead) for e in esme.events)


async def test_bad_fault_requests() -> None:
    async with running() as sim:
        with pytest.raises(FaultError, match="kind"):
            sim.fault("explode")
        with pytest.raises(FaultError, match="variant"):
            sim.fault("malformed", variant="weird")
        with pytest.raises(FaultError, match="variant"):
            sim.fault("drop", variant="gently")
        with pytest.raises(FaultError, match="duration"):
            sim.fault("stall", duration=-1)


async def test_dead_scenario_answers_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with running(str(SCENARIOS / "dead.toml")) as sim, raw(sim.port, bind=None) as client:
        await client.send(BindTransceiver(system_id="x", password="y"))
        with trio.move_on_after(120) as waited:
            await client.receive(1)
        assert waited.cancelled_caught
        assert len(sim.connections) == 1  # accepted, and kept open
