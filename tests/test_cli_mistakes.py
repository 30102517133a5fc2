"""Ordinary mistakes are one line on stderr naming what is wrong, exit status 2, no traceback.

A port in use, a CSV or settings file that is missing or unreadable, bad rows in
a group CSV, malformed quiet hours, a store that cannot be opened: each is
something the operator fixes, so each is reported the way an operator reads it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from smpp_engine import redaction
from smpp_engine.cli import app

COMMAND = [sys.executable, "-m", "smpp_engine"]
SCENARIOS = Path(__file__).resolve().parent.parent / "config" / "scenarios"
#: Where nothing listens: a PostgreSQL store there cannot be opened.
DOWN = "postgresql://engine@127.0.0.1:1/gateway"

SMSC = """
[[smsc]]
name = "default"
host = "127.0.0.1"
port = 2775
system_id = "engine"
password = "secret1"
"""


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    yield
    redaction.forget_all()
    structlog.reset_defaults()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def one_line(result: Result | subprocess.CompletedProcess[str], *names: str) -> str:
    """The one stderr line of a refused command, checked to name each of ``names``."""
    code = result.exit_code if isinstance(result, Result) else result.returncode
    stderr = result.stderr
    assert code == 2, stderr
    assert "Traceback" not in stderr + result.stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/engine.db"\n' + text, encoding="utf-8")
    return path


# --- ports in use ---------------------------------------------------------------------------


def test_run_names_the_http_port_in_use(tmp_path: Path, taken_port: int) -> None:
    path = settings(tmp_path, f"[http]\nport = {taken_port}\n[simulator]\nenabled = false\n" + SMSC)
    line = one_line(process("run", "--config", str(path)), "HTTP API", "[http] port")
    assert f"127.0.0.1:{taken_port}" in line and "in use" in line


def test_sim_names_its_ports_in_use(taken_port: int) -> None:
    line = one_line(process("sim", "--port", str(taken_port)), "SMPP port", "--port")
    assert f"127.0.0.1:{taken_port}" in line and "in use" in line
    line = one_line(
        process("sim", "--port", "0", "--control-port", str(taken_port)),
        "control API",
        "--control-port",
    )
    assert f"127.0.0.1:{taken_port}" in line


def test_run_names_the_simulator_port_in_use(tmp_path: Path, taken_port: int) -> None:
    text = f"[http]\nenabled = false\n[simulator]\nenabled = true\nport = {taken_port}\n" + SMSC
    line = one_line(process("run", "--config", str(settings(tmp_path, text))), "[simulator] port")
    assert f"simulator's SMPP port cannot listen on 127.0.0.1:{taken_port}" in line


def test_a_port_taken_after_the_check_is_named_all_the_same() -> None:
    from smpp_engine.asgi_serving import ListenError  # noqa: PLC0415
    from smpp_engine.cli.ports import Listener, listen_failure  # noqa: PLC0415

    http = Listener("the HTTP API", "[http] port", "127.0.0.1", 8080, http=True)
    smpp = Listener("the simulator's SMPP port", "[simulator] port", "127.0.0.1", 2775, False)
    in_use = OSError(98, "Address already in use")
    assert listen_failure(ListenError("127.0.0.1", 8080, in_use), [http, smpp]) == (
        "the HTTP API cannot listen on 127.0.0.1:8080 ([http] port): Address already in use"
    )
    assert listen_failure(BaseExceptionGroup("wrapped", [in_use]), [http, smpp]) == (
        "the simulator's SMPP port cannot listen on 127.0.0.1:2775 ([simulator] port): "
        "Address already in use"
    )
    assert listen_failure(ValueError("no"), [http, smpp]) is None


# --- files that are missing, unreadable or bad ----------------------------------------------


def test_a_missing_recipients_csv_is_named(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/c.db"
    missing = str(tmp_path / "nope.csv")
    create = ["campaign", "create", "c", "--template", "Hi", "--sender", "ACME"]
    one_line(invoke(*create, "--csv", missing, "--store", store), f"--csv {missing}", "No such")
    one_line(
        invoke("campaign", "group", "create", "g", "--csv", missing, "--store", store), missing
    )
    one_line(invoke("campaign", "group", "add", "g", "--csv", missing, "--store", store), missing)
    one_line(invoke(*create, "--csv", str(tmp_path), "--store", store), "Is a directory")


def test_a_missing_billing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    line = one_line(invoke("billing", "import", missing, "--store", f"sqlite:///{tmp_path}/b.db"))
    assert line == f"error: {missing}: cannot be read: No such file or directory"


def test_a_missing_mo_csv_of_the_simulator_scenario_is_named(tmp_path: Path) -> None:
    scenario = (SCENARIOS / "utility.toml").read_text(encoding="utf-8")
    assert "mo_readings.csv" in scenario
    (tmp_path / "utility.toml").write_text(scenario.replace("mo_readings.csv", "gone.csv"))
    text = '[http]\nenabled = false\n[simulator]\nenabled = true\nscenario = "utility.toml"\n'
    path = settings(tmp_path, text + SMSC)
    for result in (invoke("config", "check", str(path)), invoke("run", "--config", str(path))):
        one_line(result, "simulator.scenario", "gone.csv", "No such file")


def test_bad_rows_in_a_group_csv_are_named_by_row_and_field(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text("msisdn,name\n+447700900001,Ann\nnot-a-number,Bob\n+447700900003,\n")
    store = f"sqlite:///{tmp_path}/g.db"
    line = one_line(invoke("campaign", "group", "create", "g", "--csv", str(csv), "--store", store))
    assert line.startswith(
        f"error: --csv {csv}: refused, 1 bad row: line 3: msisdn = 'not-a-number'"
    )
    undecodable = tmp_path / "latin1.csv"
    undecodable.write_bytes("msisdn,name\n+447700900001,Jos\xe9\n".encode("latin-1"))
    one_line(
        invoke("campaign", "group", "create", "h", "--csv", str(undecodable), "--store", store),
        "UTF-8",
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda folder: folder / "missing.toml", "No such file or directory"),
        (lambda folder: folder, "Is a directory"),
        (lambda folder: _write(folder / "latin1.toml", b"# caf\xe9\n"), "not UTF-8 text"),
        (lambda folder: _write(folder / "broken.toml", b"[store\n"), "invalid TOML"),
    ],
)
def test_a_settings_file_that_cannot_be_read_is_one_line(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    for args in (
        ["config", "check", str(path)],
        ["run", "--config", str(path)],
        ["status", "1", "--config", str(path)],
        ["campaign", "list", "--config", str(path)],
    ):
        one_line(invoke(*args), str(path), reason)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- quiet hours from the command line -------------------------------------------------------


def test_quiet_hours_off_is_taken_and_a_malformed_window_is_named(tmp_path: Path) -> None:
    csv = tmp_path / "to.csv"
    csv.write_text("msisdn\n+447700900001\n")
    create = ["campaign", "create", "c", "--template", "Hi", "--sender", "ACME", "--csv", str(csv)]
    create += ["--store", f"sqlite:///{tmp_path}/q.db", "--dry-run", "--json"]
    done = invoke(*create, "--quiet-weekday", "off", "--quiet-weekend", "OFF")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["queued"] == 1
    line = one_line(invoke(*create, "--quiet-weekday", "25:00-07:00"), "--quiet-weekday")
    assert line == "error: --quiet-weekday '25:00-07:00': expected \"HH:MM-HH:MM\" or off"
    one_line(invoke(*create, "--quiet-weekend", "evenings"), "--quiet-weekend 'evenings'")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--start", "tomorrow"),
        ("--start", "2030-01-01T09:00"),
        ("--kind", "spam"),
        ("--on-error", "ignore"),
        ("--time-zone", "Mars/Olympus"),
        ("--sender", "ACME€"),
    ],
)
def test_a_bad_campaign_option_is_named_with_its_value(
    tmp_path: Path, option: str, value: str
) -> None:
    csv = tmp_path / "to.csv"
    csv.write_text("msisdn\n+447700900001\n")
    create = ["campaign", "create", "c", "--template", "Hi", "--sender", "ACME", "--csv", str(csv)]
    create += ["--store", f"sqlite:///{tmp_path}/q.db", "--dry-run"]
    one_line(invoke(*create, option, value), f"{option} {value!r}")


# --- stores that cannot be opened ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status", "1", "--store", DOWN],
        ["campaign", "status", "c", "--store", DOWN],
        ["campaign", "optout", "remove", "+447700900001", "--store", DOWN],
        ["billing", "payment", "1", "10.00", "--store", DOWN],
        ["status", "1", "--store", "sqlite:////no/such/folder/engine.db"],
        ["status", "1", "--store", "mysql://db/engine"],
    ],
)
def test_a_store_that_cannot_be_opened_is_one_line(args: list[str]) -> None:
    one_line(invoke(*args), "store ")


def test_run_gateway_and_demo_name_a_store_that_cannot_be_opened(tmp_path: Path) -> None:
    path = settings(tmp_path, "[http]\nenabled = false\n[simulator]\nenabled = false\n" + SMSC)
    env = {"SMPP_ENGINE__STORE__URL": DOWN, "SMPP_ENGINE__LOG__LEVEL": "error"}
    one_line(process("run", "--config", str(path), env=env), f"store {DOWN}: cannot be opened")
    gateway = ["gateway", "--store", DOWN, "--host", "127.0.0.1", "--port", "1"]
    gateway += ["--system-id", "x", "--password", "y"]
    one_line(process(*gateway, env={"SMPP_ENGINE_LOG_LEVEL": "error"}), f"store {DOWN}")
    demo = process(
        "demo", "--store", DOWN, "--consumers", "3", "--readings", "1", "--balances", "1"
    )
    one_line(demo, f"store {DOWN}: cannot be opened")


def test_an_unknown_log_level_is_one_line(tmp_path: Path) -> None:
    path = settings(tmp_path, "[http]\nenabled = false\n" + SMSC)
    one_line(
        invoke("gateway", "--store", "sqlite:///x.db", "--host", "h", "--port", "1",
               "--system-id", "x", "--password", "y", env={"SMPP_ENGINE_LOG_LEVEL": "loud"}),
        "SMPP_ENGINE_LOG_LEVEL", "'LOUD'",
    )  # fmt: skip
    one_line(
        invoke("run", "--config", str(path), env={"SMPP_ENGINE__LOG__LEVEL": "loud"}),
        "log.level",
    )


def test_a_number_that_is_not_one_is_named(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/o.db"
    one_line(invoke("campaign", "optout", "add", "call-me", "--store", store), "'call-me'")


def test_the_root_group_reports_what_escaped_a_command_in_one_line() -> None:
    import typer  # noqa: PLC0415

    from smpp_engine.asgi_serving import ListenError  # noqa: PLC0415
    from smpp_engine.cli.errors import ReportingGroup  # noqa: PLC0415
    from smpp_engine.store import StoreError  # noqa: PLC0415

    failures: dict[str, BaseException] = {
        "listen": ListenError("127.0.0.1", 8080, OSError(98, "Address already in use")),
        "smpp": OSError(98, "Address already in use"),
        "file": FileNotFoundError(2, "No such file or directory", "/data/members.csv"),
        "grouped": BaseExceptionGroup("nursery", [FileNotFoundError(2, "Nope", "/x.csv")]),
        "store": StoreError("sqlite", "disk I/O error"),
    }
    toy = typer.Typer(cls=ReportingGroup)

    def raising(error: BaseException) -> Callable[[], None]:
        def command() -> None:
            raise error

        return command

    for name, error in failures.items():
        toy.command(name)(raising(error))
    expected = {
        "listen": (2, "error: cannot listen on 127.0.0.1:8080: Address already in use"),
        "smpp": (2, "error: cannot listen: Address already in use"),
        "file": (2, "error: /data/members.csv: No such file or directory"),
        "grouped": (2, "error: /x.csv: Nope"),
        "store": (1, "error: sqlite store: disk I/O error"),
    }
    for name, (code, line) in expected.items():
        result = CliRunner().invoke(toy, [name])
        assert (result.exit_code, result.stderr) == (code, line + "\n"), name


# --- usage mistakes and a reader that leaves -----------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["send", "--port", "x"], ["'--port'", "send --help"]),
        (["sendd"], ["'sendd'", "Did you mean 'send'"]),
        (["send", "--bogus"], ["--bogus", "send --help"]),
        (["campaign", "status"], ["'name'", "campaign status --help"]),
    ],
)
def test_a_usage_mistake_is_one_line_naming_the_option(args: list[str], names: list[str]) -> None:
    one_line(process(*args), *names)


def test_nothing_given_shows_the_help() -> None:
    shown = process("campaign")
    assert shown.returncode == 2
    assert "Usage:" in shown.stdout and "campaign" in shown.stdout
    assert "error" not in shown.stderr and "Traceback" not in shown.stderr


#: A command of the root group writing more than a pipe holds.
_TALKATIVE = """
import typer
from smpp_engine.cli.errors import ReportingGroup
app = typer.Typer(cls=ReportingGroup)
@app.command()
def talk() -> None:
    for _ in range(20_000):
        typer.echo("x" * 100)
@app.command()
def other() -> None: ...
app()
"""


def test_output_read_only_in_part_leaves_no_traceback() -> None:
    # `| head -c 5`: the reader closes the pipe after a few bytes.
    with subprocess.Popen(
        [sys.executable, "-c", _TALKATIVE, "talk"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    ) as running:
        assert running.stdout is not None and running.stderr is not None
        assert running.stdout.read(5) == b"xxxxx"
        running.stdout.close()
        stderr = running.stderr.read().decode()
        running.wait(timeout=60)
    assert stderr == ""
    assert running.returncode == 1
