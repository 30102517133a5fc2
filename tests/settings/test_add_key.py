"""``smpp-engine config add-key NAME``: a new key printed once, only its digest kept."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from smpp_engine.settings import (
    ApiKeyEntryError,
    SettingsError,
    hash_api_key,
    load_settings,
    with_api_key,
)

from ..test_cli import run
from .helpers import MINIMAL, write

REPO = Path(__file__).resolve().parents[2]
DIGEST = "ab" * 32
OLD = "cd" * 32


def _keys(text: str) -> dict[str, str]:
    keys = tomllib.loads(text).get("http", {}).get("api_keys", [])
    return {key["name"]: key["sha256"] for key in keys}


@pytest.mark.parametrize(
    "layout",
    [
        "",
        "[http]\nport = 9090\n",
        "[http]\napi_keys = []\n",
        f'[http]\napi_keys = [{{ name = "old", sha256 = "{OLD}" }}]  # ops keys\n',
        f'[http]\napi_keys = [\n    {{ name = "old", sha256 = "{OLD}" }},  # ] not the end\n]\n',
        f'[http]\napi_keys = [\n    {{ name = "old", sha256 = "{OLD}" }}\n    # the end\n]\n',
        f'http.api_keys = [{{ name = "old", sha256 = "{OLD}" }}]\n',
        f'[[http.api_keys]]\nname = "old"\nsha256 = "{OLD}"\n',
    ],
    ids=[
        "no-http",
        "http-without-keys",
        "empty-inline",
        "inline-with-comment",
        "multi-line-trailing-comma",
        "multi-line-comment-last",
        "dotted-key",
        "array-of-tables",
    ],
)
def test_the_entry_is_added_whatever_the_layout_and_the_rest_is_kept(layout: str) -> None:
    text = layout + MINIMAL
    updated = with_api_key(text, "ops", DIGEST)
    before = _keys(text)
    assert _keys(updated) == {**before, "ops": DIGEST}
    assert tomllib.loads(updated)["smsc"] == tomllib.loads(text)["smsc"]
    for line in text.splitlines():  # comments stay as written
        assert line.partition("#")[2] in updated


@pytest.mark.parametrize("taken", ["ops", "OPS", "o-ps"])
def test_a_name_already_there_is_refused(taken: str) -> None:
    text = f'[http]\napi_keys = [{{ name = "o_ps", sha256 = "{OLD}" }}]\n'
    text = text.replace("o_ps", "ops") if taken != "o-ps" else text
    with pytest.raises(ApiKeyEntryError, match="already called"):
        with_api_key(text, taken, DIGEST)


def test_a_layout_it_cannot_extend_is_refused_rather_than_written_wrong() -> None:
    with pytest.raises(ApiKeyEntryError, match="cannot be extended"):
        with_api_key("http = { port = 9090, api_keys = [] }\n" + MINIMAL, "ops", DIGEST)


def test_add_key_prints_the_key_once_and_the_file_keeps_its_digest(tmp_path: Path) -> None:
    path = write(tmp_path, (REPO / "config" / "default.toml").read_text("utf-8"))
    path.chmod(0o640)
    result = run("config", "add-key", "ops", "--config", str(path))
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert result.stdout == key + "\n"  # the key alone: KEY=$(smpp-engine config add-key ...)
    assert "shown once" in result.stderr
    assert key not in path.read_text("utf-8")
    settings = load_settings(path, {})
    assert settings.http.api_key_digests() == {"ops": hash_api_key(key)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_every_key_is_new(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    first = run("config", "add-key", "ops", "-c", str(path)).stdout.strip()
    second = run("config", "add-key", "ci", "-c", str(path)).stdout.strip()
    assert first != second
    assert load_settings(path, {}).http.api_key_digests() == {
        "ops": hash_api_key(first),
        "ci": hash_api_key(second),
    }


def test_without_a_file_it_prints_the_key_and_the_entry_to_paste() -> None:
    result = run("config", "add-key", "ops")
    assert result.returncode == 0, result.stderr
    key, entry = result.stdout.splitlines()
    assert entry == f'{{ name = "ops", sha256 = "{hash_api_key(key)}" }}'
    assert "shown once" in result.stderr


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            f'[http]\napi_keys = [{{ name = "ops", sha256 = "{OLD}" }}]\n',
            ("ops",),
            "an API key is already called 'ops'",
        ),
        ("", ("",), "NAME must be 1 to 64 characters"),
        ("[http\n", ("ops",), "invalid TOML"),
        (None, ("ops",), "No such file"),
    ],
    ids=["name-taken", "empty-name", "not-toml", "no-file"],
)
def test_mistakes_are_one_line_and_exit_two_leaving_the_file_alone(
    tmp_path: Path, setup: str | None, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "engine.toml"
    if setup is not None:
        path.write_text(setup + MINIMAL, encoding="utf-8")
    result = run("config", "add-key", *args, "--config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    if setup is not None:
        assert path.read_text("utf-8") == setup + MINIMAL
    assert [p.name for p in tmp_path.iterdir()] == ([] if setup is None else ["engine.toml"])


@pytest.mark.parametrize(
    "layout",
    ["", f'[http]\napi_keys = [{{ name = "old", sha256 = "{OLD}" }}]\n'],
    ids=["no-keys", "inline"],
)
def test_add_key_with_scopes_writes_them_and_the_key_holds_only_those(
    tmp_path: Path, layout: str
) -> None:
    path = write(tmp_path, layout + MINIMAL)
    result = run(
        "config", "add-key", "app", "--scope", "send", "--scope", "read", "--scope", "send",
        "-c", str(path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    http = load_settings(path, {}).http
    assert http.api_key_scopes()["app"] == {"send", "read"}
    (entry,) = [key for key in http.api_keys if key.name == "app"]
    assert entry.scopes == ["send", "read"]  # each once, in the order given
    if layout:
        # The key written before scopes existed keeps every scope.
        assert http.api_key_scopes()["old"] == {"send", "campaigns", "billing", "read", "admin"}


def test_a_key_without_scopes_holds_all_and_an_unknown_scope_is_refused(tmp_path: Path) -> None:
    result = run(
        "config", "add-key", "app", "--scope", "everything", "-c", str(write(tmp_path, MINIMAL))
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "--scope 'everything'" in result.stderr and "admin" in result.stderr
    printed = run("config", "add-key", "app", "--scope", "admin")
    _, entry = printed.stdout.splitlines()
    assert entry.endswith('scopes = ["admin"] }')
    bad = f'[http]\napi_keys = [{{ name = "x", sha256 = "{OLD}", scopes = ["root"] }}]\n'
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, bad + MINIMAL), {})
    assert "http.api_keys" in str(raised.value) and "root" in str(raised.value)
    empty = f'[http]\napi_keys = [{{ name = "x", sha256 = "{OLD}", scopes = [] }}]\n'
    with pytest.raises(SettingsError):
        load_settings(write(tmp_path, empty + MINIMAL), {})
