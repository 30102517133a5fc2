"""What a reload reports it cannot apply: ``restart_needed`` over real settings files."""

from __future__ import annotations

from pathlib import Path

import pytest

from smpp_engine.control import restart_needed
from smpp_engine.settings import Settings, hash_smpp_password, load_settings

DIGEST = hash_smpp_password("secret1", iterations=1000)

BASE = f"""
[store]
url = "sqlite:///gateway.db"

[http]
port = 8080

[[smsc]]
name = "a"
host = "127.0.0.1"
port = 2775
system_id = "gw"
password = "pw"

[[tenants]]
name = "acme"

[[tenants.smpp]]
system_id = "acme1"
password_digest = "{DIGEST}"

[smpp_server]
port = 2776
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "settings.toml"
    path.write_text(text, "utf-8")
    return load_settings(path, environ={})


def test_unchanged_settings_need_no_restart(tmp_path: Path) -> None:
    assert restart_needed(_settings(tmp_path, BASE), _settings(tmp_path, BASE)) == []


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('url = "sqlite:///gateway.db"', 'url = "sqlite:///other.db"', ["store"]),
        ("port = 8080", "port = 8081", ["http.port"]),
        ("[smpp_server]\nport = 2776", "[smpp_server]\nport = 2777", ["smpp_server"]),
        ("[smpp_server]\nport = 2776", "", ["smpp_server"]),
        ('system_id = "acme1"', 'system_id = "acme2"', ["tenants.smpp"]),
    ],
    ids=["store", "http-port", "smpp-server-port", "smpp-server-removed", "credentials"],
)
def test_a_section_read_at_start_is_named_when_it_changes(
    tmp_path: Path, old: str, new: str, named: list[str]
) -> None:
    changed = BASE.replace(old, new)
    assert changed != BASE
    assert restart_needed(_settings(tmp_path, BASE), _settings(tmp_path, changed)) == named


def test_what_a_reload_applies_needs_no_restart(tmp_path: Path) -> None:
    changed = (
        BASE.replace("port = 2775", "port = 2785")  # a route changed
        + '\n[[smsc]]\nname = "b"\nhost = "127.0.0.1"\nport = 2795\nsystem_id = "g"\n'
        'password = "p"\n'
        + '\n[[tenants]]\nname = "beta"\n'  # a tenant without SMPP credentials
        + '\n[routing]\ndefault = ["b", "a"]\n'
        + '\n[[routing.rules]]\nname = "uk"\nprefixes = ["44"]\nroutes = ["b"]\n'
    )
    assert restart_needed(_settings(tmp_path, BASE), _settings(tmp_path, changed)) == []


def test_every_section_not_reloaded_is_compared(tmp_path: Path) -> None:
    # A section added to the settings later is read at start unless the reload
    # learns to apply it: its change must be reported, never silently ignored.
    running = _settings(tmp_path, BASE)
    reloaded = {"smsc", "routing", "http", "tenants"}
    for name in Settings.model_fields:
        if name in reloaded:
            continue
        loaded = running.model_copy(update={name: object()})
        assert restart_needed(running, loaded) == [name], name
