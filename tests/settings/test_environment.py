"""SMPP_ENGINE__SECTION__KEY overrides any key; entries of [[smsc]] by name; typos are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from smpp_engine.settings import SettingsError, load_settings

from .helpers import MINIMAL, load_text, write

TWO = (
    MINIMAL
    + """
[[smsc]]
name = "bulk-2"
host = "127.0.0.1"
port = 2776
system_id = "bulk"
password = "secret2"
"""
)


def test_a_section_key_is_overridden(tmp_path: Path) -> None:
    settings = load_text(tmp_path, MINIMAL, {"SMPP_ENGINE__STORE__URL": "sqlite:///other.db"})
    assert settings.store.url == "sqlite:///other.db"


def test_levels_and_values_are_matched_without_regard_to_case(tmp_path: Path) -> None:
    environ = {"smpp_engine__Http__PORT": "9090", "SMPP_ENGINE__LOG__LEVEL": "debug"}
    settings = load_text(tmp_path, MINIMAL, environ)
    assert settings.http.port == 9090
    assert settings.log.level == "debug"


def test_an_smsc_entry_is_addressed_by_its_name(tmp_path: Path) -> None:
    environ = {
        "SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": "fromenv",
        # dashes in a name are written as underscores in a variable name
        "SMPP_ENGINE__SMSC__BULK_2__WINDOW": "99",
    }
    settings = load_text(tmp_path, TWO, environ)
    primary, bulk = settings.smsc
    assert (primary.password, primary.window) == ("fromenv", 10)
    assert (bulk.password, bulk.window) == ("secret2", 99)


def test_nested_tables_are_created_as_needed(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM\n")
    environ = {
        "SMPP_ENGINE__SMSC__PRIMARY__TLS__CA_FILE": str(ca),
        "SMPP_ENGINE__NOTICES__CAPS__PER_DAY": "1",
    }
    settings = load_text(tmp_path, MINIMAL, environ)
    route = settings.smsc[0].to_route()
    assert route.esme.tls is not None
    assert route.esme.tls.ca_file == str(ca)
    assert settings.notices.frequency_caps().per_day == 1


def test_values_are_typed_by_the_key_they_set(tmp_path: Path) -> None:
    environ = {
        "SMPP_ENGINE__SMSC__PRIMARY__THROUGHPUT": "12.5",
        "SMPP_ENGINE__SMSC__PRIMARY__ALLOW_LATIN1": "true",
        "SMPP_ENGINE__SMSC__PRIMARY__BINDS": "3",
        # a text key keeps digits as text: a password may well be all digits
        "SMPP_ENGINE__SMSC__PRIMARY__PASSWORD": "12345678",
        "SMPP_ENGINE__SMSC__PRIMARY__SYSTEM_TYPE": "true",
        "SMPP_ENGINE__NOTICES__WEEKEND_DAYS": "[4, 5]",
        "SMPP_ENGINE__NOTICES__TIME_ZONE_PREFIXES": '{ "1212" = "America/New_York" }',
    }
    settings = load_text(tmp_path, MINIMAL, environ)
    smsc = settings.smsc[0]
    assert smsc.throughput == 12.5
    assert smsc.allow_latin1 is True
    assert smsc.binds == 3
    assert smsc.password == "12345678"
    assert smsc.system_type == "true"
    assert settings.notices.weekend_days == [4, 5]
    assert settings.notices.time_zone_prefixes == {"1212": "America/New_York"}


def test_a_whole_array_can_be_given(tmp_path: Path) -> None:
    digest = "ab" * 32
    environ = {"SMPP_ENGINE__HTTP__API_KEYS": f'[{{ name = "ops", sha256 = "{digest}" }}]'}
    settings = load_text(tmp_path, MINIMAL, environ)
    assert settings.http.api_key_digests() == {"ops": digest}


def test_the_embedded_default_takes_overrides_too() -> None:
    settings = load_settings(None, {"SMPP_ENGINE__SIMULATOR__ENABLED": "false"})
    assert not settings.simulator.enabled


@pytest.mark.parametrize(
    ("variable", "key", "hint"),
    [
        ("SMPP_ENGINE__HTTP__PROT", "http.prot", "'port'"),
        ("SMPP_ENGINE__SMSC__PRIMARY__WINDW", "smsc[primary].windw", "'window'"),
        ("SMPP_ENGINE__STROE__URL", "stroe", "'store'"),
        ("SMPP_ENGINE__SMSC__PRIMARY__TLS__CAFILE", "smsc[primary].tls.cafile", "'ca_file'"),
    ],
)
def test_a_variable_naming_no_key_is_an_error_naming_it(
    tmp_path: Path, variable: str, key: str, hint: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_text(tmp_path, MINIMAL, {variable: "1"})
    (problem,) = caught.value.problems
    assert (problem.source, problem.key) == (variable, key)
    assert "unknown key" in problem.message
    assert hint in problem.message


def test_an_unknown_smsc_name_is_an_error_listing_the_names(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_text(tmp_path, TWO, {"SMPP_ENGINE__SMSC__SECONDARY__PASSWORD": "x"})
    text = str(caught.value)
    assert "SMPP_ENGINE__SMSC__SECONDARY__PASSWORD: smsc:" in text
    assert "primary, bulk-2" in text


@pytest.mark.parametrize(
    "variable",
    [
        "SMPP_ENGINE__HTTP",
        "SMPP_ENGINE__HTTP__PORT__X",
        "SMPP_ENGINE__SMSC__PRIMARY",
        "SMPP_ENGINE__",
    ],
)
def test_a_variable_that_stops_short_or_goes_too_deep_is_an_error_naming_it(
    tmp_path: Path, variable: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_text(tmp_path, MINIMAL, {variable: "1"})
    (problem,) = caught.value.problems
    assert variable in (problem.source, problem.origin)


def test_a_wrong_value_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, {"SMPP_ENGINE__SMSC__PRIMARY__PORT": "http"})
    (problem,) = caught.value.problems
    assert problem.key == "smsc[primary].port"
    assert problem.origin == "SMPP_ENGINE__SMSC__PRIMARY__PORT"
    assert str(problem) == (
        f"{path}: smsc[primary].port: expected a valid integer (got 'http') "
        "[set by SMPP_ENGINE__SMSC__PRIMARY__PORT]"
    )


def test_other_variables_are_left_alone(tmp_path: Path) -> None:
    environ = {"SMPP_ENGINE_LOG_LEVEL": "debug", "SMPP_ENGINE_PASSWORD": "x", "HOME": "/"}
    assert load_text(tmp_path, MINIMAL, environ) == load_text(tmp_path, MINIMAL)


def test_an_api_key_is_addressed_by_its_name(tmp_path: Path) -> None:
    text = f'[http]\napi_keys = [{{ name = "ops", sha256 = "{"0" * 64}" }}]\n' + MINIMAL
    digest = "cd" * 32
    settings = load_text(tmp_path, text, {"SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256": digest})
    assert settings.http.api_key_digests() == {"ops": digest}


@pytest.mark.parametrize(
    "http", ["", "[http]\n", "[http]\napi_keys = []\n"], ids=["no-http", "no-keys", "empty-list"]
)
def test_an_api_key_variable_adds_the_key_to_a_file_holding_none(tmp_path: Path, http: str) -> None:
    digest = "ab" * 32
    environ = {"SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256": digest}
    settings = load_text(tmp_path, http + MINIMAL, environ)
    assert settings.http.api_key_digests() == {"ops": digest}


def test_an_api_key_variable_adds_a_key_beside_those_in_the_file(tmp_path: Path) -> None:
    text = f'[http]\napi_keys = [{{ name = "ops", sha256 = "{"0" * 64}" }}]\n' + MINIMAL
    environ = {"SMPP_ENGINE__HTTP__API_KEYS__CI__SHA256": "cd" * 32}
    settings = load_text(tmp_path, text, environ)
    assert settings.http.api_key_digests() == {"ops": "0" * 64, "ci": "cd" * 32}


def test_an_added_api_key_without_a_valid_digest_is_an_error_naming_the_variable(
    tmp_path: Path,
) -> None:
    environ = {"SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256": "not-a-digest"}
    with pytest.raises(SettingsError) as caught:
        load_text(tmp_path, MINIMAL, environ)
    (problem,) = caught.value.problems
    assert problem.key == "http.api_keys[ops].sha256"
    assert problem.origin == "SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256"
