"""Log set-up: formats, levels, and secrets kept out of the rendered lines."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp_engine import logs, redaction


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    # configure() sets process-wide state; the other tests expect the defaults.
    redaction.forget_all()  # secrets remembered by tests run earlier in this process
    yield
    structlog.reset_defaults()
    redaction.forget_all()


def _emit(capsys: pytest.CaptureFixture[str], format: str, **fields: Any) -> str:
    """Configure with ``format``, log one warning with ``fields``, return what stderr got."""
    capsys.readouterr()
    logs.configure("debug", format=format)
    structlog.get_logger("test").warning("something happened", **fields)
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is for results only
    return captured.err


def test_auto_writes_json_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = json.loads(_emit(capsys, "auto", bind="smsc-a", sequence=7, message_id=42))
    assert line["event"] == "something happened"
    assert line["level"] == "warning"
    assert (line["bind"], line["sequence"], line["message_id"]) == ("smsc-a", 7, 42)
    assert "timestamp" in line


def test_console_format_is_human_readable(capsys: pytest.CaptureFixture[str]) -> None:
    output = _emit(capsys, "console", bind="smsc-a")
    assert "something happened" in output
    assert "smsc-a" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_the_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("error", format="json")
    structlog.get_logger("test").warning("not shown")
    structlog.get_logger("test").error("shown")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["shown"]


def test_the_level_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.LEVEL_VARIABLE, "error")
    logs.configure(format="json")
    structlog.get_logger("test").warning("not shown")
    assert capsys.readouterr().err == ""


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"format: .*'yaml'"):
        logs.configure(format="yaml")


def test_an_unknown_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"SMPP_ENGINE_LOG_LEVEL: .*'LOUD'"):
        logs.configure("loud")


# Key spellings seen in configuration and HTTP headers; every one must be caught.
SECRET_KEYS = st.sampled_from(
    [
        "password",
        "PASSWORD",
        "smsc_password",
        "passwd",
        "secret",
        "client_secret",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "authorization",
        "Authorization",
        "token",
        "access_token",
        "RefreshToken",
    ]
)
# ASCII letters and digits render as themselves in both formats, so "not in the
# output" is a real check (JSON would escape other characters and hide a leak).
SECRETS = st.text(alphabet=string.ascii_letters + string.digits, min_size=16, max_size=40)
PLAIN_KEYS = st.sampled_from(["smsc", "config", "request", "headers", "binds", "details"])


@st.composite
def events_hiding(draw: st.DrawFn, secret: str) -> tuple[dict[str, Any], list[Any]]:
    """Event fields with ``secret`` under a secret key at some depth, and the path to it."""
    key = draw(SECRET_KEYS)
    value: Any = {key: secret}
    path: list[Any] = [key]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            value = [value]
            path.insert(0, 0)
        outer = draw(PLAIN_KEYS)
        value = {outer: value, "host": "smsc.example"}
        path.insert(0, outer)
    return value, path


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), secret=SECRETS, format=st.sampled_from(["json", "console"]))
def test_a_secret_never_reaches_the_output(
    capsys: pytest.CaptureFixture[str], data: st.DataObject, secret: str, format: str
) -> None:
    fields, path = data.draw(events_hiding(secret))
    output = _emit(capsys, format, **fields)
    assert secret not in output
    assert logs.REDACTED in output
    if format == "json":
        found: Any = json.loads(output)
        for step in path:
            found = found[step]
        assert found == logs.REDACTED
    # The same value under a plain key is printed: the check above can see a leak.
    assert secret in _emit(capsys, format, note=secret)


def test_redaction_keeps_the_other_fields() -> None:
    event = {
        "event": "bound",
        "bind": "smsc-a",
        "smsc": {"host": "10.0.0.1", "password": "hunter2"},
        "binds": [{"system_id": "acme", "password": "hunter2"}],
    }
    assert logs.redact_secrets(None, "info", event) == {
        "event": "bound",
        "bind": "smsc-a",
        "smsc": {"host": "10.0.0.1", "password": "***"},
        "binds": [{"system_id": "acme", "password": "***"}],
    }


def test_standard_library_records_come_out_as_the_same_masked_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """asyncpg, Hypercorn and friends log through ``logging``: one JSON line each, with
    the traceback inside it and its secrets masked, never bare text between the lines."""
    logs.configure("info", "json")
    capsys.readouterr()
    try:
        raise ValueError("lost postgresql://gateway:hunter2-secret@db/engine")
    except ValueError:
        logging.getLogger("asyncpg.pool").warning("pool floor not restored", exc_info=True)
    logging.getLogger("noisy").debug("below the level")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["event"], record["logger"], record["level"]) == (
        "pool floor not restored",
        "asyncpg.pool",
        "warning",
    )
    assert "ValueError" in record["exception"]
    assert "hunter2-secret" not in lines[0]
