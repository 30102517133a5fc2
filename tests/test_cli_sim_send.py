"""`smpp-engine sim` and `smpp-engine send`, run as separate processes as a user runs them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_cli import _command, run

SCENARIOS = Path(__file__).resolve().parent.parent / "config" / "scenarios"


@pytest.fixture
def simulator_port(request: pytest.FixtureRequest) -> Iterator[int]:
    scenario = getattr(request, "param", "healthy")
    process = subprocess.Popen(
        [*_command(), "sim", "--port", "0", "--scenario", str(SCENARIOS / f"{scenario}.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "listening"
        yield int(ready["port"])
    finally:
        process.terminate()
        process.wait(timeout=10)


def _send(
    port: int, *extra: str, text: str = "Hello from the CLI"
) -> subprocess.CompletedProcess[str]:
    return run(
        "send",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--system-id",
        "billing",
        "--password",
        "secret",
        "--source",
        "ACME",
        "--dest",
        "+447700900123",
        "--text",
        text,
        *extra,
    )


def test_send_reports_accepted_messages_and_their_receipts(simulator_port: int) -> None:
    long_text = "Your water bill is ready. " * 12  # three parts
    result = _send(simulator_port, "--count", "4", "--wait-receipts", "10", text=long_text)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {
        "submitted",
        "accepted",
        "rejected",
        "unknown",
        "retried",
        "receipts",
        "elapsed_s",
    }
    assert report["submitted"] == report["accepted"] == 12
    assert (report["rejected"], report["unknown"]) == (0, 0)
    assert report["receipts"] == {"DELIVRD": 12}


def test_send_without_waiting_for_receipts(simulator_port: int) -> None:
    result = _send(simulator_port, "--count", "3", "--bind", "transmitter", "--window", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["submitted"], report["accepted"], report["receipts"]) == (3, 3, {})


@pytest.mark.parametrize("simulator_port", ["flaky"], indirect=True)
def test_msg_id_type_matches_receipts_whose_ids_differ_in_format(simulator_port: int) -> None:
    # flaky.toml answers submit_sm with hex ids and sends receipts with decimal ones.
    # Read as-is the ids never match; the wait would run out with no receipt counted.
    result = _send(
        simulator_port, "--count", "20", "--wait-receipts", "120", "--msg-id-type", "hex_to_dec"
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["accepted"] > 0
    assert sum(report["receipts"].values()) == report["accepted"]
    # The scenario refuses some submits on purpose: then the exit status says so.
    assert result.returncode == (0 if report["accepted"] == report["submitted"] else 1)


@pytest.mark.parametrize("simulator_port", ["utility"], indirect=True)
def test_a_wrong_password_fails_with_a_clear_error(simulator_port: int) -> None:
    result = run(
        "send",
        "--host",
        "127.0.0.1",
        "--port",
        str(simulator_port),
        "--system-id",
        "billing",
        "--password",
        "wrong",
        "--source",
        "ACME",
        "--dest",
        "+447700900123",
        "--text",
        "x",
    )
    assert result.returncode == 1
    assert "ESME_RINVPASWD" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--source", "TOO-LONG-SENDER-ID"), "source_addr"),
        (("--dest", "ACME"), "destination_addr"),
        (("--bind", "receiver"), "--bind"),
        (("--msg-id-type", "hex"), "--msg-id-type must be one of as_is, hex_to_dec"),
    ],
)
def test_bad_input_is_refused_before_connecting(args: tuple[str, ...], message: str) -> None:
    base = {
        "--host": "127.0.0.1",
        "--port": "9",
        "--system-id": "u",
        "--password": "p",
        "--source": "ACME",
        "--dest": "+447700900123",
        "--text": "x",
        "--bind": "transceiver",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run("send", *[item for pair in base.items() for item in pair])
    assert result.returncode == 2
    assert message in result.stderr


def test_sim_refuses_a_broken_scenario_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[receipts]\ndelay = { distribution = "fixed", value = -1 }\n')
    result = run("sim", "--port", "0", "--scenario", str(broken))
    assert result.returncode == 2
    assert "receipts.delay" in result.stderr


def test_send_against_an_smsc_that_throttles_now_and_then_gets_every_submit_accepted(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "throttles.toml"
    scenario.write_text(
        'name = "throttles"\nseed = 3\n[submit.statuses]\nESME_ROK = 98\nESME_RTHROTTLED = 2\n'
    )
    process = subprocess.Popen(
        [*_command(), "sim", "--port", "0", "--scenario", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(json.loads(process.stdout.readline())["port"])
        done = _send(port, "--count", "300")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert (report["submitted"], report["accepted"], report["rejected"]) == (300, 300, 0)
    assert report["retried"] > 0  # the SMSC did throttle: they were sent again


def test_the_simulator_sets_its_start_up_objects_aside_from_full_collections() -> None:
    """As a started gateway does: a load test's tail is then not the simulator's collector."""
    process = subprocess.Popen(
        [*_command(), "sim", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["event"] == "listening"
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    settled = [
        json.loads(line) for line in errors.splitlines() if "start-up objects set aside" in line
    ]
    assert len(settled) == 1 and settled[0]["objects"] > 10_000, errors[-2000:]
