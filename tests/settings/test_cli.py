"""``smpp-engine config check | show | hash-key``."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner, Result

from smpp_engine.cli import app
from smpp_engine.settings import Settings, hash_api_key

from .helpers import MINIMAL, write

REPO = Path(__file__).resolve().parents[2]


def invoke(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, args, env=env, input=stdin)


def test_check_a_valid_file_exits_zero_with_a_summary(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "throughput = 40\n")
    result = invoke(["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "smsc primary" in result.stdout
    assert "127.0.0.1:2775 as utility" in result.stdout
    assert "40/s" in result.stdout
    assert result.stdout.rstrip().endswith(f"{path}: valid")


def test_check_json_prints_the_loaded_settings(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    result = invoke(["config", "check", str(path), "--json"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["file"] == str(path)
    assert printed["settings"]["smsc"][0]["name"] == "primary"
    assert printed["settings"]["smsc"][0]["password"] == "***"


def test_check_an_invalid_file_exits_two_naming_file_key_and_expectation(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "window = 0\n")
    result = invoke(["config", "check", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        f"{path}: smsc[primary].window: expected greater than or equal to 1 (got 0)"
        in result.stderr
    )


def test_check_applies_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    result = invoke(["config", "check", str(path)], env={"SMPP_ENGINE__HTTP__PORTT": "1"})
    assert result.exit_code == 2
    assert "SMPP_ENGINE__HTTP__PORTT: http.portt: unknown key" in result.stderr


def test_check_a_missing_file_exits_two(tmp_path: Path) -> None:
    result = invoke(["config", "check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: (file): cannot be read" in result.stderr


def test_show_prints_the_effective_settings_as_toml(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    env = {"SMPP_ENGINE__SMSC__PRIMARY__WINDOW": "77", "SMPP_ENGINE__LOG__FORMAT": "json"}
    result = invoke(["config", "show", str(path)], env=env)
    assert result.exit_code == 0, result.output
    shown = Settings.model_validate(tomllib.loads(result.stdout))
    assert shown.smsc[0].window == 77
    assert shown.log.format == "json"
    assert shown.smsc[0].password == "***"


def test_show_without_a_file_prints_the_embedded_default_as_json() -> None:
    result = invoke(["config", "show", "--format", "json"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["smsc"][0]["name"] == "default"
    assert shown["simulator"]["password"] == "***"


def test_hash_key_reads_stdin_and_prints_the_line_to_paste() -> None:
    result = invoke(["config", "hash-key", "--name", "grafana"], stdin="s3cret-key\n")
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert "s3cret-key" not in line
    entry = tomllib.loads(f"api_keys = [{line}]")["api_keys"][0]
    assert entry == {"name": "grafana", "sha256": hash_api_key("s3cret-key")}


def test_hash_key_refuses_an_empty_key() -> None:
    result = invoke(["config", "hash-key"], stdin="\n")
    assert result.exit_code == 2
    assert "must not be empty" in result.stderr


def test_the_installed_command_checks_the_shipped_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smpp_engine", "config", "check", "config/default.toml", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["settings"]["smsc"][0]["port"] == 2775
