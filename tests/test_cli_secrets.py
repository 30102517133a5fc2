"""Known secrets pushed through every error path of the command line never come out.

Each test gives a command a password, a database password or an API key and
makes it fail in one way an operator can (a bad option, a bad store URL in any
shape, invalid settings from the file or the environment, a store that cannot
be opened, an unexpected error), then looks for the secret in everything the
command printed: stdout, stderr and its log lines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import structlog
import trio
import typer
from typer.testing import CliRunner, Result

from smpp_engine import redaction
from smpp_engine.cli import app
from smpp_engine.cli import gateway as cli_gateway
from smpp_engine.cli.errors import ReportingGroup
from smpp_engine.settings import hash_api_key

from .store.conftest import drop_database, fresh_database, require_postgres

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "billing-example.json"
COMMAND = [sys.executable, "-m", "smpp_engine"]

#: An SMPP password (8 Latin-1 characters); "~" is no sender character, "#" no URL one.
SMSC_SECRET = "Pw~s3c#8"
#: A database password, and the same sort of thing for other places.
DB_SECRET = "Db-s3cret-9731"
API_KEY = "plain-api-key-5521"
#: Where nothing listens: opening a PostgreSQL store there fails at once.
NOWHERE = "127.0.0.1:1"

#: A store URL carrying DB_SECRET, in every shape an operator may write one.
URL_SHAPES = {
    "userinfo": f"postgresql://engine:{DB_SECRET}@{NOWHERE}/gateway",
    "postgres scheme": f"postgres://engine:{DB_SECRET}@{NOWHERE}/gateway",
    "query": f"postgresql://engine@{NOWHERE}/gateway?password={DB_SECRET}",
    "no scheme": f"engine:{DB_SECRET}@db.example/gateway",
    "dsn": f"host=db.example user=engine password={DB_SECRET} dbname=gateway",
    "unknown scheme": f"mysql://engine:{DB_SECRET}@db.example/gateway",
}

SETTINGS = f"""\
[log]
format = "json"
level = "debug"

[http]
enabled = false
api_keys = [{{ name = "ops", sha256 = "{hash_api_key(API_KEY)}" }}]

[[smsc]]
name = "primary"
host = "127.0.0.1"
port = 1
system_id = "utility"
password = "{SMSC_SECRET}"
"""


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    # In-process commands remember the secrets they read and configure structlog.
    redaction.forget_all()
    yield
    redaction.forget_all()
    structlog.reset_defaults()


#: An environment without the password variable (None unsets it for the run).
NO_PASSWORD: dict[str, str | None] = {"SMPP_ENGINE_PASSWORD": None}


def invoke(
    args: list[str], env: Mapping[str, str | None] | None = None, stdin: str | None = None
) -> Result:
    return CliRunner().invoke(app, args, env=env, input=stdin)


def printed(result: Result | subprocess.CompletedProcess[str]) -> str:
    if isinstance(result, subprocess.CompletedProcess):
        return result.stdout + result.stderr
    return result.stdout + result.stderr


def assert_hidden(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output, f"{secret!r} leaked in: {output}"
    assert "Traceback" not in output


def settings_file(tmp_path: Path, text: str = SETTINGS) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- command-line options ----------------------------------------------------------------

GATEWAY = ["gateway", "--host", "127.0.0.1", "--port", "1", "--system-id", "utility"]


@pytest.mark.parametrize("shape", sorted(URL_SHAPES))
def test_gateway_never_shows_the_store_password(shape: str) -> None:
    result = invoke([*GATEWAY, "--store", URL_SHAPES[shape], "--password", "x"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert_hidden(printed(result), DB_SECRET)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("TooLong-s3cret", "at most 8 characters"),
        ("S€cret12", "Latin-1"),
    ],
)
def test_gateway_never_shows_a_refused_password(password: str, why: str) -> None:
    store = "sqlite:///unused.db"
    for args, env in (
        ([*GATEWAY, "--store", store, "--password", password], None),
        ([*GATEWAY, "--store", store], {"SMPP_ENGINE_PASSWORD": password}),
    ):
        result = invoke(args, env=env)
        assert result.exit_code == 2
        assert "--password" in result.stderr and why in result.stderr
        assert_hidden(printed(result), password)


def test_gateway_masks_the_password_inside_another_option() -> None:
    # system_id is refused and shown; it holds the password, which is masked by value.
    args = [*GATEWAY[:-1], SMSC_SECRET * 2, "--store", "sqlite:///unused.db"]
    result = invoke(args, env={"SMPP_ENGINE_PASSWORD": SMSC_SECRET})
    assert result.exit_code == 2
    assert "--system-id ***" in result.stderr
    assert_hidden(printed(result), SMSC_SECRET)


def test_gateway_and_send_without_a_password_say_where_to_put_it() -> None:
    send = ["send", "--host", "127.0.0.1", "--port", "1", "--system-id", "u"]
    send += ["--source", "ACME", "--dest", "+447700900123", "--text", "x"]
    for args in ([*GATEWAY, "--store", "sqlite:///unused.db"], send):
        result = invoke(args, env=NO_PASSWORD)
        assert result.exit_code == 2
        assert (
            result.stderr
            == "error: no SMPP password: set $SMPP_ENGINE_PASSWORD (or give --password)\n"
        )


SEND = ["send", "--host", "127.0.0.1", "--port", "1", "--system-id", "utility", "--source", "ACME"]
SEND += ["--dest", "+447700900123", "--text", "Hello"]


def test_send_takes_the_password_from_the_environment_and_never_shows_it() -> None:
    result = invoke([*SEND, "--bind", "receiver"], env={"SMPP_ENGINE_PASSWORD": SMSC_SECRET})
    assert result.exit_code == 2
    assert "--bind" in result.stderr
    assert_hidden(printed(result), SMSC_SECRET)
    refused = invoke([*SEND, "--password", "TooLong-s3cret"])
    assert refused.exit_code == 2
    assert "EsmeConfig.password" in refused.stderr
    assert_hidden(printed(refused), "TooLong-s3cret")


def test_send_asks_for_the_password_without_echo_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_gateway, "_interactive", lambda: True)
    # Nothing listens on port 1: the bind fails after the password was taken.
    result = invoke(SEND, env=NO_PASSWORD, stdin=SMSC_SECRET + "\n")
    assert "SMPP password" in result.stderr
    assert result.exit_code == 1
    assert_hidden(printed(result), SMSC_SECRET)


def test_the_password_option_says_it_is_visible_to_other_users() -> None:
    for command in ("send", "gateway"):
        help_text = invoke([command, "--help"], env={"COLUMNS": "200"}).stdout
        shown = " ".join(help_text.replace("│", " ").split())  # the text, out of its box
        assert "SMPP_ENGINE_PASSWORD" in shown
        assert "visible to other users of the machine" in shown


# --- stores that cannot be opened, by every store-reading command --------------------------

STORE_COMMANDS = {
    "status": ["status", "1"],
    "campaign list": ["campaign", "list"],
    "campaign group list": ["campaign", "group", "list"],
    "campaign optout add": ["campaign", "optout", "add", "+447700900123"],
    "billing import": ["billing", "import", str(EXAMPLE)],
    "billing sms": ["billing", "sms", "--from", "+79161234567", "--text", "BAL"],
    "billing payment": ["billing", "payment", "1234567890", "10.00"],
}


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
@pytest.mark.parametrize("shape", sorted(URL_SHAPES))
def test_a_store_that_cannot_be_opened_is_named_without_its_password(
    command: str, shape: str
) -> None:
    result = invoke([*STORE_COMMANDS[command], "--store", URL_SHAPES[shape]])
    assert result.exit_code == 2, printed(result)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "store" in lines[0]
    assert_hidden(printed(result), DB_SECRET)


def test_the_settings_store_url_is_masked_from_the_file_and_the_environment(
    tmp_path: Path,
) -> None:
    url = URL_SHAPES["userinfo"]
    path = settings_file(tmp_path, f'[store]\nurl = "{url}"\n' + SETTINGS)
    from_file = invoke(["status", "1", "--config", str(path)])
    assert from_file.exit_code == 2
    assert f"store postgresql://engine:***@{NOWHERE}/gateway: cannot be opened" in (
        from_file.stderr
    )
    from_env = invoke(
        ["campaign", "list", "--config", str(settings_file(tmp_path))],
        env={"SMPP_ENGINE__STORE__URL": URL_SHAPES["query"]},
    )
    assert from_env.exit_code == 2
    for result in (from_file, from_env):
        assert_hidden(printed(result), DB_SECRET, SMSC_SECRET)


def test_a_store_found_empty_is_named_without_its_password() -> None:
    require_postgres()
    dsn = trio.run(fresh_database)
    try:
        # Trust authentication: the password is taken and ignored.
        with_password = dsn.replace("://postgres@", f"://postgres:{DB_SECRET}@")
        result = invoke(["status", "424242", "--store", with_password])
        assert result.exit_code == 1
        assert "no message with id 424242 in postgresql://postgres:***@" in result.stderr
        assert_hidden(printed(result), DB_SECRET)
    finally:
        trio.run(drop_database, dsn)


# --- settings: config check and every command that loads them -------------------------------


def _settings_errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = settings_file(tmp_path, text)
    outputs = []
    for args in (["config", "check", str(path)], ["status", "1", "--config", str(path)]):
        result = invoke(args, env=env)
        assert result.exit_code == 2, printed(result)
        assert result.stdout == ""
        outputs.append(printed(result))
    return "\n".join(outputs)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SMPP_ENGINE__SMSC__PRIMARY__PASSWORD", "TooLong-" + SMSC_SECRET),
        ("SMPP_ENGINE__STORE__URL", URL_SHAPES["dsn"]),
        ("SMPP_ENGINE__STORE__URL", URL_SHAPES["no scheme"]),
        ("SMPP_ENGINE__STORE__URL", URL_SHAPES["unknown scheme"] + f"?password={DB_SECRET}"),
        ("SMPP_ENGINE__HTTP__API_KEYS", API_KEY),  # a key where the list of digests belongs
        ("SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256", API_KEY),  # a key instead of its digest
        ("SMPP_ENGINE__SMSC__NOSUCHROUTE__PASSWORD", SMSC_SECRET),
        ("SMPP_ENGINE__SMSC__PRIMARY__PASSWRD", SMSC_SECRET),
    ],
)
def test_an_environment_override_never_shows_its_secret(
    tmp_path: Path, variable: str, value: str
) -> None:
    output = _settings_errors(tmp_path, SETTINGS, {variable: value})
    assert variable in output
    assert_hidden(output, value, SMSC_SECRET, DB_SECRET, API_KEY)


@pytest.mark.parametrize(
    "change",
    [
        # the password as a table or an array, or misspelt
        (f'password = "{SMSC_SECRET}"', f'password = {{ value = "{SMSC_SECRET}" }}'),
        (f'password = "{SMSC_SECRET}"', f'password = ["{SMSC_SECRET}"]'),
        ("password = ", "passwrd = "),
        # the password inside other keys, which show their values when refused
        ('system_id = "utility"', f'system_id = "utility"\nsystem_type = "{SMSC_SECRET * 2}"'),
        ("[log]", f'[billing]\nsource_addr = "{SMSC_SECRET}"\n\n[log]'),
        ("[log]", f'[simulator]\nenabled = true\nscenario = "{SMSC_SECRET}"\n\n[log]'),
        # an API key pasted where its digest belongs
        (f'sha256 = "{hash_api_key(API_KEY)}"', f'sha256 = "{API_KEY}"'),
    ],
)
def test_a_refused_file_never_shows_a_secret(tmp_path: Path, change: tuple[str, str]) -> None:
    text = SETTINGS.replace(*change, 1)
    assert text != SETTINGS
    output = _settings_errors(tmp_path, text)
    assert_hidden(output, SMSC_SECRET, API_KEY)


def test_show_and_check_mask_a_query_password_and_the_secret_elsewhere(tmp_path: Path) -> None:
    url = f"postgresql://engine@db.example/gateway?password={DB_SECRET}"
    text = f'[store]\nurl = "{url}"\n' + SETTINGS.replace(
        'system_id = "utility"', f'system_id = "{SMSC_SECRET}"'
    )
    path = settings_file(tmp_path, text)
    for args in (
        ["config", "show", str(path)],
        ["config", "show", str(path), "--format", "json"],
        ["config", "check", str(path)],
        ["config", "check", str(path), "--json"],
    ):
        result = invoke(args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, printed(result)
        assert "password=***" in result.stdout
        assert_hidden(printed(result), DB_SECRET, SMSC_SECRET)


# --- an unexpected error: the traceback is printed, masked ----------------------------------


def test_an_unexpected_error_prints_its_traceback_with_secrets_masked() -> None:
    broken = typer.Typer(cls=ReportingGroup)

    @broken.command()
    def explode() -> None:
        redaction.remember(SMSC_SECRET)
        raise RuntimeError(f"cannot use {URL_SHAPES['userinfo']} with {SMSC_SECRET}")

    @broken.command()
    def other() -> None:
        """A second command, so that the app is a group."""

    result = CliRunner().invoke(broken, ["explode"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "RuntimeError: cannot use postgresql://engine:***@" in result.stderr
    assert DB_SECRET not in printed(result) and SMSC_SECRET not in printed(result)


# --- real processes: their log lines too ----------------------------------------------------


def test_run_logs_and_errors_never_show_a_secret(tmp_path: Path) -> None:
    url = URL_SHAPES["query"]
    path = settings_file(tmp_path, f'[store]\nurl = "{url}"\n' + SETTINGS)
    done = subprocess.run(
        [*COMMAND, "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256": hash_api_key(API_KEY)},
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"error: store postgresql://engine@{NOWHERE}")
    assert_hidden(printed(done), DB_SECRET, SMSC_SECRET)


def test_a_running_gateway_logs_no_secret(tmp_path: Path) -> None:
    # The SMSC is not there: the gateway logs its connection attempts until stopped.
    process = subprocess.Popen(
        [*COMMAND, "gateway", "--store", f"sqlite:///{tmp_path}/gw.db", "--host", "127.0.0.1",
         "--port", "1", "--system-id", "utility"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SMPP_ENGINE_PASSWORD": SMSC_SECRET, "SMPP_ENGINE_LOG_LEVEL": "debug"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["event"] == "running"
        time.sleep(1.5)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert len(stderr.splitlines()) > 2, stderr  # it did log
    assert_hidden(stdout + stderr, SMSC_SECRET)
