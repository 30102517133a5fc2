"""Switching scenarios while running, and timelines of phases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import trio

from metrics import SIMULATOR_SCENARIO, child
from smpp_engine.protocol import CommandStatus, EnquireLink, SubmitSm
from smpp_engine.simulator import parse_scenario

from .helpers import raw, running

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


def _burst(count: int) -> list[SubmitSm]:
    return [SubmitSm(source_addr="1", destination_addr="447700900001") for _ in range(count)]


async def _statuses(client: object, count: int) -> Counter[int]:
    assert hasattr(client, "send") and hasattr(client, "receive")
    await client.send(*_burst(count))
    return Counter(r.command_status for r in await client.receive(count))


async def test_switch_while_bound(autojump_clock: trio.testing.MockClock) -> None:
    async with running("healthy", search=[SCENARIOS]) as sim, raw(sim.port) as client:
        assert await _statuses(client, 30) == {0: 30}
        sim.set_scenario("throttling")  # 50/s, burst 10
        assert sim.scenario.name == "throttling"
        assert await _statuses(client, 30) == {0: 10, CommandStatus.ESME_RTHROTTLED: 20}
        sim.set_scenario(parse_scenario({"submit": {"statuses": {"ESME_RSYSERR": 1}}}))
        assert await _statuses(client, 5) == {CommandStatus.ESME_RSYSERR: 5}
        sim.set_scenario("healthy")
        assert await _statuses(client, 30) == {0: 30}
        ids = [record.number for record in sim.records]
        assert ids == sorted(set(ids))  # ids never repeat across switches


async def test_scenario_gauge_follows_the_switch() -> None:
    async with running("healthy", search=[SCENARIOS]) as sim:
        assert child(SIMULATOR_SCENARIO, "healthy")._value.get() == 1
        sim.set_scenario("flaky")
        assert child(SIMULATOR_SCENARIO, "healthy")._value.get() == 0
        assert child(SIMULATOR_SCENARIO, "flaky")._value.get() == 1
    assert child(SIMULATOR_SCENARIO, "flaky")._value.get() == 0  # stopped


async def test_phased_timeline(autojump_clock: trio.testing.MockClock) -> None:
    async with running("phased", search=[SCENARIOS]) as sim, raw(sim.port) as client:
        start = trio.current_time()
        assert (sim.phase_index, sim.scenario.name) == (0, "healthy")
        assert await _statuses(client, 30) == {0: 30}

        await trio.sleep_until(start + 31)
        assert (sim.phase_index, sim.scenario.name) == (1, "throttling")
        assert (await _statuses(client, 30))[CommandStatus.ESME_RTHROTTLED] == 20

        await trio.sleep_until(start + 61)
        assert (sim.phase_index, sim.scenario.name) == (2, "dead")
        await client.send(EnquireLink())
        with trio.move_on_after(10) as waited:
            await client.receive(1)
        assert waited.cancelled_caught  # stalled

        await trio.sleep_until(start + 81)
        assert (sim.phase_index, sim.scenario.name) == (3, "healthy")
        (answer,) = await client.receive(1)  # the enquire_link held during the dead phase
        assert answer.command_name == "enquire_link_resp"
        assert await _statuses(client, 30) == {0: 30}
        await trio.sleep(1000)
        assert sim.phase_index == 3  # the last phase runs for good


async def test_looping_timeline(autojump_clock: trio.testing.MockClock) -> None:
    timeline = parse_scenario(
        {
            "loop": True,
            "phases": [
                {"duration": 10, "scenario": {"name": "up"}},
                {"duration": 5, "scenario": {"name": "down", "faults": {"refuse_binds": True}}},
            ],
        }
    )
    async with running(timeline) as sim:
        start = trio.current_time()
        seen = []
        for moment in (1, 11, 16, 26, 31):
            await trio.sleep_until(start + moment)
            seen.append(sim.scenario.name)
        assert seen == ["up", "down", "up", "down", "up"]
