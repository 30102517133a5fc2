"""smpp_window_size: an ESME bind publishes its window, so window use can be graphed."""

from __future__ import annotations

import uuid

import trio
from prometheus_client import REGISTRY

from smpp_engine.esme import EsmeConfig, open_bind
from smpp_engine.protocol import SubmitSm
from smpp_engine.simulator import parse_scenario

from ..simulator.helpers import running


def sample(name: str, bind: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"side": "esme", "bind": bind})


async def test_window_use_is_in_flight_over_the_window() -> None:
    scenario = parse_scenario({"accounts": [{"system_id": "gateway", "password": "secret"}]})
    name = f"window-{uuid.uuid4().hex[:8]}"
    with trio.fail_after(30):  # only stops a hang
        async with running(scenario) as sim:
            config = EsmeConfig(
                host="127.0.0.1",
                port=sim.port,
                system_id="gateway",
                password="secret",
                name=name,
                window_size=7,
                enquire_link_interval=None,
            )
            assert sample("smpp_window_size", name) is None
            async with open_bind(config) as bind:
                assert sample("smpp_window_size", name) == 7
                sim.fault("stall")  # the submits stay unanswered, holding their slots
                for n in range(3):
                    await bind.send(SubmitSm(source_addr="ACME", destination_addr=f"+4470{n}"))
                while sample("smpp_in_flight", name) != 3:
                    await trio.sleep(0.01)
                in_flight, window = sample("smpp_in_flight", name), sample("smpp_window_size", name)
                assert (in_flight, window) == (3, 7)
                sim.fault("clear")
            assert sample("smpp_window_size", name) == 7
