"""Scenario files: the shipped ones load; broken ones are refused naming key and value."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import trio

from smpp_engine.protocol import CommandStatus, MessageState
from smpp_engine.simulator import (
    Scenario,
    ScenarioError,
    Simulator,
    load_scenario,
    parse_scenario,
    run_simulator,
)
from smpp_engine.simulator.randomness import Exponential, Fixed, LogNormal

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


@pytest.mark.parametrize("name", ["healthy", "throttling", "flaky", "dead", "phased", "utility"])
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.name == name


def test_shipped_scenarios_mean_what_they_say() -> None:
    healthy = load_scenario(SCENARIOS / "healthy.toml")
    assert healthy.accounts == ()
    assert healthy.submit.statuses == {}
    assert healthy.receipts.delay == Fixed(value=0)
    throttling = load_scenario(SCENARIOS / "throttling.toml")
    assert throttling.throttle.tps == 50
    assert throttling.throttle.status == CommandStatus.ESME_RTHROTTLED
    flaky = load_scenario(SCENARIOS / "flaky.toml")
    assert CommandStatus.ESME_RSYSERR in flaky.submit.statuses
    assert isinstance(flaky.submit.latency, LogNormal)
    assert isinstance(flaky.receipts.delay, Exponential)
    assert flaky.receipts.before_resp > 0
    assert flaky.receipts.duplicate > 0
    assert load_scenario(SCENARIOS / "dead.toml").faults.stall
    phased = load_scenario(SCENARIOS / "phased.toml")
    names = [phase.scenario.name for phase in phased.phases if phase.scenario]
    assert names == ["healthy", "throttling", "dead", "healthy"]
    assert phased.phases[-1].duration is None
    utility = load_scenario(SCENARIOS / "utility.toml")
    assert utility.mo.csv is not None and utility.mo.csv.is_file()


def _write(tmp_path: Path, text: str, name: str = "broken.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[receipts]\ndelay = { distribution = 'exponential', mean = -1 }\n",
            "receipts.delay.mean = -1: Input should be greater than 0",
        ),
        (
            "[submit.statuses]\nESME_RBOGUS = 1\n",
            "submit.statuses.ESME_RBOGUS = 'ESME_RBOGUS': unknown command_status",
        ),
        (
            "[receipts.states]\nDELIVERD = 1\n",
            "receipts.states.DELIVERD = 'DELIVERD': unknown receipt state",
        ),
        ("[receipts.states]\nENROUTE = 1\n", "ENROUTE is not a final state"),
        ("[throttle]\ntps = 'fast'\n", "throttle.tps = 'fast'"),
        ("[smsc]\nsystem_idd = 'x'\n", "smsc.system_idd = 'x': Extra inputs are not permitted"),
        ("[receipts]\nbefore_resp = 1.5\n", "receipts.before_resp = 1.5"),
        ("[receipts]\ndelay = { distribution = 'gamma', k = 2 }\n", "receipts.delay"),
        (
            "[receipts]\ndelay = { distribution = 'uniform', low = 2, high = 1 }\n",
            "high (1.0) must not be below low (2.0)",
        ),
        (
            "[[accounts]]\nsystem_id = 'a'\npassword = 'far-too-long'\n",
            "accounts[0].password = 'far-too-long'",
        ),
        ("[[accounts]]\nsystem_id = 'a'\n[[accounts]]\nsystem_id = 'a'\n", "listed twice"),
        (
            "[[mo.messages]]\nsource = '1'\ndestination = '2'\n",
            "mo.messages[0].text: Field required",
        ),
        (
            "[[phases]]\nuse = 'healthy'\nduration = 5\n[receipts]\ndelay = 1\n",
            "move receipts into the phase scenarios",
        ),
        (
            "[[phases]]\nuse = 'no-such-scenario'\nduration = 5\n",
            "phases[0].use = 'no-such-scenario': no scenario file no-such-scenario.toml",
        ),
        ("[[phases]]\nuse = 'healthy'\n[[phases]]\nuse = 'dead'\n", "phases[0] needs a duration"),
        ("[mo]\ncsv = 'missing.csv'\n", "mo.csv = 'missing.csv'"),
        ("seed = \n", "not valid TOML"),
    ],
)
def test_broken_scenario_names_key_and_value(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, search=[SCENARIOS])
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "Traceback" not in message


def test_broken_csv_row_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "mo.csv").write_text("source,destination,text,delay\n1,2,hi,soon\n")
    path = _write(tmp_path, "[mo]\ncsv = 'mo.csv'\n")
    with pytest.raises(ScenarioError, match=r"mo.csv = 'mo.csv': line 2: delay = 'soon'"):
        load_scenario(path)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file"):
        load_scenario(tmp_path / "nope.toml")


def test_phase_may_be_inline_and_names_default_to_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[[phases]]\nduration = 2\n[phases.scenario]\nthrottle = { tps = 5 }\n"
        "[[phases]]\nuse = 'healthy'\n",
        name="timeline.toml",
    )
    scenario = load_scenario(path, search=[SCENARIOS])
    assert scenario.name == "timeline"
    first = scenario.phases[0].scenario
    assert first is not None and first.throttle.tps == 5


def test_values_in_many_spellings() -> None:
    scenario = parse_scenario(
        {
            "submit": {"statuses": {"RTHROTTLED": 1, "0x14": 1, "0": 2}},
            "receipts": {"states": {"undeliverable": 1, "2": 1}, "delay": 1.5},
        }
    )
    assert scenario.submit.statuses == {0x58: 1, 0x14: 1, 0: 2}
    assert set(scenario.receipts.states) == {MessageState.UNDELIVERABLE, MessageState.DELIVERED}
    assert scenario.receipts.delay == Fixed(value=1.5)


async def test_run_simulator_refuses_a_broken_file_before_listening(tmp_path: Path) -> None:
    path = _write(tmp_path, "[throttle]\ntps = -5\n")
    with pytest.raises(ScenarioError, match=r"throttle.tps = -5"):
        await run_simulator("127.0.0.1", 0, path, None)


async def test_run_simulator_serves_the_given_scenario() -> None:
    async with trio.open_nursery() as nursery:
        sim: Simulator = await nursery.start(
            run_simulator, "127.0.0.1", 0, SCENARIOS / "throttling.toml", None
        )
        assert sim.port > 0
        assert sim.scenario.name == "throttling"
        nursery.cancel_scope.cancel()


def test_default_scenario_is_healthy() -> None:
    sim = Simulator()
    assert sim.scenario == load_scenario(SCENARIOS / "healthy.toml")
    assert sim.accounts.open
    # the built-in defaults behave the same way
    defaults = Scenario()
    assert (defaults.accounts, defaults.submit.statuses, defaults.throttle.tps) == ((), {}, None)
    assert defaults.receipts.delay == Fixed(value=0)


def test_default_scenario_without_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("smpp_engine.simulator.scenario._REPO_SCENARIOS", tmp_path)
    monkeypatch.chdir(tmp_path)
    sim = Simulator()
    assert sim.scenario == Scenario(name="healthy")


async def test_run_simulator_defaults_to_healthy() -> None:
    async with trio.open_nursery() as nursery:
        sim: Simulator = await nursery.start(run_simulator, "127.0.0.1", 0, None, 0)
        assert sim.scenario.name == "healthy"
        assert sim.scenario.smsc.system_id == "SIMSMSC"  # the file, not the built-in defaults
        assert sim.control_port
        nursery.cancel_scope.cancel()


def test_the_readme_examples_are_valid() -> None:
    text = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        parse_scenario(tomllib.loads(block), base_dir=SCENARIOS, search=[SCENARIOS])
