"""Throttling, the error mix and latency, and that a seed replays them exactly."""

from __future__ import annotations

from collections import Counter

import trio

from metrics import THROTTLE_EVENTS, child
from smpp_engine.protocol import (
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    SubmitSm,
    SubmitSmResp,
    Tag,
)
from smpp_engine.simulator import Scenario, parse_scenario

from .helpers import raw, running


def _burst(count: int, registered_delivery: int = 0) -> list[SubmitSm]:
    return [
        SubmitSm(
            source_addr="1",
            destination_addr=f"4477009{i:05d}",
            registered_delivery=registered_delivery,
        )
        for i in range(count)
    ]


async def test_tps_limit_answers_throttled(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"throttle": {"tps": 10, "burst": 5}})
    counter = child(THROTTLE_EVENTS, "simulator", "tps", "ESME_RTHROTTLED")
    before = counter._value.get()
    async with running(scenario) as sim, raw(sim.port, system_id="tps") as client:
        await client.send(*_burst(20))
        statuses = Counter(r.command_status for r in await client.receive(20))
        assert statuses == {0: 5, CommandStatus.ESME_RTHROTTLED: 15}
        await trio.sleep(0.3)  # 3 tokens earned
        await client.send(*_burst(20))
        statuses = Counter(r.command_status for r in await client.receive(20))
        assert statuses == {0: 3, CommandStatus.ESME_RTHROTTLED: 17}
        await trio.sleep(10)  # refilled up to the burst only
        await client.send(*_burst(20))
        statuses = Counter(r.command_status for r in await client.receive(20))
        assert statuses == {0: 5, CommandStatus.ESME_RTHROTTLED: 15}
        assert sim.throttled == 47
        assert len(sim.records) == 13
    assert counter._value.get() == before + 47


async def test_throttle_with_queue_full_and_per_account_rate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    scenario = parse_scenario(
        {
            "throttle": {"tps": 100, "burst": 1, "status": "ESME_RMSGQFUL"},
            "accounts": [
                {"system_id": "slow", "password": "pw", "tps": 1},
                {"system_id": "raw", "password": "pw"},
            ],
        }
    )
    async with running(scenario) as sim:
        async with raw(sim.port, system_id="slow") as slow:
            await slow.send(*_burst(3))
            statuses = [r.command_status for r in await slow.receive(3)]
            assert sorted(statuses) == [0, CommandStatus.ESME_RMSGQFUL, CommandStatus.ESME_RMSGQFUL]
        async with raw(sim.port, system_id="raw") as fast:
            await fast.send(*_burst(3))
            statuses = [r.command_status for r in await fast.receive(3)]
            assert statuses.count(CommandStatus.ESME_RMSGQFUL) == 2  # burst 1, no time passed
            await trio.sleep(0.5)  # 100/s: plenty
            await fast.send(*_burst(1))
            (response,) = await fast.receive(1)
            assert response.command_status == 0


async def test_throttle_is_per_bind(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"throttle": {"tps": 1, "burst": 2}})
    async with (
        running(scenario) as sim,
        raw(sim.port, system_id="a") as one,
        raw(sim.port, system_id="a") as two,
    ):
        await one.send(*_burst(2))
        await two.send(*_burst(2))
        assert all(r.command_status == 0 for r in await one.receive(2))
        assert all(r.command_status == 0 for r in await two.receive(2))


FLAKY = {
    "submit": {
        "statuses": {"ESME_ROK": 80, "ESME_RSYSERR": 10, "ESME_RMSGQFUL": 10},
        "latency": {"distribution": "exponential", "mean": 0.5},
    },
    "smsc": {"message_ids": {"mode": "random"}},
    "receipts": {
        "states": {"DELIVRD": 2, "UNDELIV": 1},
        "delay": {"distribution": "uniform", "low": 0.1, "high": 3},
        "duplicate": 0.3,
    },
}


async def _run_flaky(scenario: Scenario) -> list[tuple[float, str, int, int, str]]:
    """(arrival time, command, sequence, status, id or receipt state) of everything
    received until nothing more comes for 20 (mock) seconds."""
    seen: list[tuple[float, str, int, int, str]] = []
    async with running(scenario) as sim, raw(sim.port) as client:
        start = trio.current_time()
        await client.send(*_burst(100, registered_delivery=1))
        while True:
            with trio.move_on_after(20) as quiet:
                (pdu,) = await client.receive(1)
            if quiet.cancelled_caught:
                break
            detail = getattr(pdu, "message_id", "") or str(pdu.tlvs.get(Tag.message_state, ""))
            seen.append(
                (
                    round(trio.current_time() - start, 9),
                    pdu.command_name,
                    pdu.sequence_number,
                    pdu.command_status,
                    detail,
                )
            )
            if isinstance(pdu, DeliverSm):
                await client.send(DeliverSmResp(sequence_number=pdu.sequence_number))
    return seen


async def test_error_mix_latency_and_receipts_replay_with_the_seed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    scenario = parse_scenario({"seed": 7, **FLAKY})
    first = await _run_flaky(scenario)
    second = await _run_flaky(scenario)
    assert first == second
    responses = [s for s in first if s[1] == "submit_sm_resp"]
    statuses = Counter(s[3] for s in responses)
    assert set(statuses) == {0, CommandStatus.ESME_RSYSERR, CommandStatus.ESME_RMSGQFUL}
    assert statuses[0] > 50
    # latency reorders responses: not in the order sent
    sequences = [s[2] for s in responses]
    assert sequences != sorted(sequences)
    receipts = [s for s in first if s[1] == "deliver_sm"]
    assert len(receipts) > statuses[0]  # some duplicated
    other = await _run_flaky(parse_scenario({"seed": 8, **FLAKY}))
    assert [s[3] for s in other if s[1] == "submit_sm_resp"] != [s[3] for s in responses]


async def test_fixed_latency_holds_every_response(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"submit": {"latency": 2.0}})
    async with running(scenario) as sim, raw(sim.port) as client:
        start = trio.current_time()
        await client.send(*_burst(3))
        responses = await client.receive(3)
        assert all(isinstance(r, SubmitSmResp) for r in responses)
        assert trio.current_time() - start >= 2.0
