"""A secret never appears in an error or in what ``config show`` / ``config check`` print."""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from smpp_engine.cli import app
from smpp_engine.settings import SettingsError, load_settings

from .helpers import MINIMAL

_ALPHABET = string.ascii_letters + string.digits + string.punctuation + "äöüßéñ"
passwords = st.text(_ALPHABET, min_size=6, max_size=8)
long_passwords = st.text(_ALPHABET, min_size=9, max_size=24)
PLACEHOLDER = "Zq9~xW"


def _file(text: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="settings-secrets-"))
    path = folder / "engine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error_text(text: str, environ: dict[str, str]) -> str:
    try:
        load_settings(_file(text), environ)
    except SettingsError as exc:
        return str(exc)
    raise AssertionError("expected the settings to be refused")


def _cli(args: list[str], environ: dict[str, str]) -> str:
    result = CliRunner().invoke(app, args, env=environ)
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@settings(max_examples=40, deadline=None)
@given(passwords)
def test_errors_never_show_a_password(password: str) -> None:
    broken = MINIMAL.replace("port = 2775", 'port = "x"')

    def errors(secret: str) -> str:
        env = {"SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": secret}
        in_file = broken.replace('"secret1"', json.dumps(secret))
        misspelt = MINIMAL.replace("password =", f"password = {json.dumps(secret)}\npasswrd =")
        as_table = MINIMAL.replace(
            'password = "secret1"', f"password = {{ x = {json.dumps(secret)} }}"
        )
        url = f'[store]\nurl = "mysql://engine:{secret}@db/x"\n' + MINIMAL
        return "\n".join(
            [
                _error_text(broken, env),
                _error_text(in_file, {}),
                _error_text(misspelt, {}),
                _error_text(as_table, {}),
                _error_text(url, {}),
                _error_text(MINIMAL, {**env, "SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": secret * 2}),
            ]
        )

    assume(password not in errors(PLACEHOLDER))
    assert password not in errors(password)


@settings(max_examples=40, deadline=None)
@given(long_passwords)
def test_a_too_long_password_is_described_by_its_length_only(password: str) -> None:
    text = _error_text(MINIMAL, {"SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": password})
    assert password not in text
    assert f"a hidden value of {len(password)} characters" in text


@settings(max_examples=25, deadline=None)
@given(passwords, passwords)
def test_show_and_check_mask_every_secret(password: str, database_password: str) -> None:
    path = _file(MINIMAL + '[simulator]\npassword = "simpass"\n')

    def printed(secret: str, db_secret: str) -> str:
        env = {
            "SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": secret,
            "SMPP_ENGINE__STORE__URL": f"postgresql://engine:{db_secret}@db:5432/x",
        }
        return "\n".join(
            [
                _cli(["config", "show", str(path)], env),
                _cli(["config", "show", str(path), "--format", "json"], env),
                _cli(["config", "check", str(path), "--json"], env),
                _cli(["config", "check", str(path)], env),
            ]
        )

    baseline = printed(PLACEHOLDER, PLACEHOLDER)
    assume(password not in baseline and database_password not in baseline)
    output = printed(password, database_password)
    assert password not in output
    assert database_password not in output
    assert "simpass" not in output
    assert "postgresql://engine:***@db:5432/x" in output
