"""The production example validates once the environment gives its secrets and TLS files exist."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smpp_engine.esme import BindType
from smpp_engine.protocol import Alphabet, Concatenation, MessageIdPolicy
from smpp_engine.settings import SettingsError, load_settings
from throttling import Priority

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "production.example.toml"
SECRETS = {
    "SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": "pr1mary",
    "SMPP_ENGINE__SMSC__BACKUP__PASSWORD": "backup2",
}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example beside the TLS files it names (relative to its folder)."""
    path = tmp_path / "engine.toml"
    shutil.copy(EXAMPLE, path)
    (tmp_path / "tls").mkdir()
    for name in ("operator-ca.pem", "client.pem", "client.key"):
        (tmp_path / "tls" / name).write_text("PEM\n")
    return path


def test_the_production_example_validates(example: Path) -> None:
    settings = load_settings(example, SECRETS)
    assert settings.store.url.startswith("postgresql://")
    assert settings.log.format == "json"
    assert not settings.simulator.enabled
    assert settings.http.priority() is Priority.TRANSACTIONAL
    assert set(settings.http.api_key_digests()) == {"billing-system", "grafana"}
    primary, backup = (smsc.to_route() for smsc in settings.smsc)
    assert (primary.name, primary.binds, primary.rate) == ("primary", 4, 200)
    assert primary.esme.password == "pr1mary"
    assert primary.esme.tls is not None
    assert primary.esme.tls.ca_file == str(example.parent / "tls" / "operator-ca.pem")
    assert primary.esme.tls.key_file == str(example.parent / "tls" / "client.key")
    assert primary.id_policy is MessageIdPolicy.HEX_TO_DEC
    assert backup.esme.bind_type is BindType.TRANSMITTER
    assert backup.text_profile.default_alphabet is Alphabet.LATIN1
    assert backup.concatenation is Concatenation.SAR
    assert settings.billing.route == "primary"
    assert settings.notices.time_zones().name_for("73431234567") == "Asia/Yekaterinburg"


def test_without_its_secrets_the_example_names_each_missing_password(example: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(example, {})
    assert caught.value.keys == ["smsc[primary].password", "smsc[backup].password"]
    assert all(p.source == str(example) for p in caught.value.problems)


def test_without_its_tls_files_the_example_names_each_key(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    shutil.copy(EXAMPLE, path)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, SECRETS)
    assert caught.value.keys == [
        "smsc[primary].tls.ca_file",
        "smsc[primary].tls.cert_file",
        "smsc[primary].tls.key_file",
        "smsc[backup].tls.ca_file",
    ]
    assert str(tmp_path / "tls" / "client.key") in str(caught.value)
