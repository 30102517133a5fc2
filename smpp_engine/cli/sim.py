"""``smpp-engine sim``: the SMSC simulator as a process of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import trio
import typer

from .. import logs
from ..heap import settle_after_start
from ..interrupts import run_until_interrupted
from .errors import fail
from .ports import Listener, ensure_free

__all__ = ["sim"]

Opt = typer.Option


def sim(  # noqa: PLR0917 - one parameter per command-line option
    host: Annotated[str, Opt(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, Opt(help="SMPP port (0 picks a free one).")] = 2775,
    scenario: Annotated[
        Path | None, Opt(help="Scenario TOML file (see config/scenarios/); default: healthy.")
    ] = None,
    control_port: Annotated[
        int | None,
        Opt(help="HTTP control API port on 127.0.0.1 (0 picks a free one); none if omitted."),
    ] = None,
    scenario_dir: Annotated[
        Path | None,
        Opt(
            help="The only folder whose files control requests may name (scenarios, MO CSV); "
            "default: the folder of the scenario."
        ),
    ] = None,
    control_token: Annotated[
        str | None,
        Opt(
            envvar="SMPP_SIM_CONTROL_TOKEN",
            show_default=False,
            help="Bearer token every control request must carry (at least 16 characters); "
            "prefer the environment variable to the option, which others can see in ps.",
        ),
    ] = None,
) -> None:
    """Run the SMSC simulator until interrupted.

    The first line on stdout is JSON: {"event": "listening", "host", "port",
    "control_port"}; logs go to stderr.
    """
    # Imported here: the control API's web stack costs 0.4 s, which `pdu` should not pay.
    from ..simulator import ScenarioError, Simulator  # noqa: PLC0415

    logs.configure()
    listeners = [Listener("the SMPP port", "--port", host, port, http=False)]
    if control_port is not None:
        listeners.append(
            Listener("the control API", "--control-port", "127.0.0.1", control_port, http=True)
        )
    ensure_free(listeners)
    if scenario_dir is not None and not scenario_dir.is_dir():
        raise fail(f"--scenario-dir {scenario_dir}: not a folder")
    try:  # a broken scenario is refused before anything listens
        simulator = Simulator(
            scenario,
            host=host,
            port=port,
            control_port=control_port,
            scenario_dir=scenario_dir,
            control_token=control_token,
        )
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:  # the token's length; the message does not quote it
        raise fail(str(exc)) from None

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(simulator.run)
            settle_after_start()  # its load tests' tails are not the collector's
            ready = {
                "event": "listening",
                "host": host,
                "port": simulator.port,
                "control_port": simulator.control_port,
            }
            print(json.dumps(ready), flush=True)

    run_until_interrupted(serve)
