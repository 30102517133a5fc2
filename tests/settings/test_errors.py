"""Every problem names the file, the key path and what was expected; all are listed at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.settings import BillingSettings, Problem, SettingsError, load_settings

from .helpers import MINIMAL, write


def problems_of(folder: Path, text: str, environ: dict[str, str] | None = None) -> list[Problem]:
    path = write(folder, text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ or {})
    assert all(problem.source == str(path) for problem in caught.value.problems)
    return caught.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_a_wrong_type_names_the_key_the_expected_type_and_the_value(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + 'window = "ten"\n'))
    assert problem.key == "smsc[primary].window"
    assert problem.message == "expected a valid integer"
    assert problem.value == "'ten'"
    assert str(problem) == (
        f"{tmp_path / 'engine.toml'}: smsc[primary].window: expected a valid integer (got 'ten')"
    )


def test_numbers_are_not_taken_from_text(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, '[http]\nport = "8080"\n' + MINIMAL))
    assert problem.key == "http.port"


def test_an_unknown_key_is_named_with_the_nearest_known_one(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "throughtput = 10\n"))
    assert problem.key == "smsc[primary].throughtput"
    assert problem.message == "unknown key (did you mean 'throughput'?)"
    assert problem.value is None


def test_an_unknown_table_is_named(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, "[stroe]\nurl = 'x'\n" + MINIMAL))
    assert problem.key == "stroe"
    assert "did you mean 'store'" in problem.message


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL.replace('host = "127.0.0.1"\n', "")))
    assert (problem.key, problem.message) == ("smsc[primary].host", "required, but not given")


def test_no_smsc_at_all_is_a_problem(tmp_path: Path) -> None:
    assert only(problems_of(tmp_path, "[log]\nlevel = 'info'\n")).key == "smsc"


def test_a_missing_tls_file_names_the_key_and_the_path(tmp_path: Path) -> None:
    text = MINIMAL + '[smsc.tls]\nca_file = "certs/ca.pem"\n'
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "smsc[primary].tls.ca_file"
    assert str(tmp_path / "certs" / "ca.pem") in problem.message
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("PEM\n")
    settings = load_settings(write(tmp_path, text), {})
    assert settings.smsc[0].tls is not None
    assert settings.smsc[0].tls.ca_file == str(tmp_path / "certs" / "ca.pem")


def test_a_key_file_without_a_cert_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "client.key").write_text("KEY\n")
    problem = only(problems_of(tmp_path, MINIMAL + '[smsc.tls]\nkey_file = "client.key"\n'))
    assert problem.key == "smsc[primary]"
    assert "key_file" in problem.message and "cert_file" in problem.message


def test_duplicate_smsc_names_are_refused(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "\n" + MINIMAL))
    assert problem.key == "smsc[1].name"
    assert "no other [[smsc]]" in problem.message
    assert problem.value == "'primary'"


def test_the_billing_route_must_be_an_smsc(tmp_path: Path) -> None:
    text = MINIMAL + '[billing]\nenabled = true\nroute = "default"\n'
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "billing.route"
    assert problem.message == "expected the name of an [[smsc]] ('primary')"
    assert problem.value == "'default'"


def test_a_disabled_billing_may_name_any_route(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL + '[billing]\nroute = "x"\n'), {})
    assert not settings.billing.enabled


@pytest.mark.parametrize(
    "sender", ["ThisIsTooLong", "12345678901234567", "", "Привет", "+0123", "ACME\x00"]
)
def test_a_bad_sender_id_is_refused(tmp_path: Path, sender: str) -> None:
    text = MINIMAL + f'[billing]\nenabled = true\nroute = "primary"\nsource_addr = "{sender}"\n'
    text = text.replace("\x00", "\\u0000")
    if not sender:
        assert load_settings(write(tmp_path, text), {}).billing.source_addr == ""
        return
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "billing.source_addr"
    assert "sender id" in problem.message


@given(
    st.one_of(
        st.text(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            min_size=1,
            max_size=11,
        ),
        st.from_regex(r"\+[1-9][0-9]{0,14}", fullmatch=True),
    )
)
def test_a_sender_of_up_to_11_letters_or_16_digits_is_taken(sender: str) -> None:
    assert BillingSettings(source_addr=sender).source_addr == sender


def test_a_bad_api_key_digest_is_refused(tmp_path: Path) -> None:
    text = '[http]\napi_keys = [{ name = "ops", sha256 = "plain-key" }]\n' + MINIMAL
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "http.api_keys[ops].sha256"
    assert "64 hex digits" in problem.message
    # The refused value may be the key itself, pasted where its digest belongs.
    assert problem.value == "a hidden value of 9 characters"


def test_a_bad_quiet_window_and_zone_are_refused(tmp_path: Path) -> None:
    text = '[notices]\nquiet_weekday = "late-early"\ntime_zone = "Mars/Olympus"\n' + MINIMAL
    problems = problems_of(tmp_path, text)
    assert [p.key for p in problems] == ["notices.quiet_weekday", "notices.time_zone"]
    assert "HH:MM-HH:MM" in problems[0].message


def test_an_unknown_scenario_is_refused_only_when_the_simulator_runs(tmp_path: Path) -> None:
    text = '[simulator]\nenabled = true\nscenario = "nonesuch"\n' + MINIMAL
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "simulator.scenario"
    assert "nonesuch" in problem.message
    off = text.replace("enabled = true", "enabled = false")
    assert load_settings(write(tmp_path, off), {}).simulator.scenario == "nonesuch"


def test_a_scenario_beside_the_settings_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mine.toml").write_text('name = "mine"\n')
    text = '[simulator]\nenabled = true\nscenario = "mine"\n' + MINIMAL
    settings = load_settings(write(tmp_path, text), {})
    assert settings.simulator.scenario == str(tmp_path / "scenarios" / "mine.toml")
    assert settings.simulator.load_scenario().name == "mine"


def test_the_route_rules_are_checked_when_loading(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "lease = 10\nresponse_timeout = 30\n"))
    assert problem.key == "smsc[primary]"
    assert "lease" in problem.message


def test_flash_on_a_route_whose_text_has_no_message_class_is_a_settings_error(
    tmp_path: Path,
) -> None:
    for profile in ("allow_latin1 = true\n", "default_alphabet = 'latin1'\n"):
        problem = only(problems_of(tmp_path, MINIMAL + "flash = true\n" + profile))
        assert problem.key == "smsc[primary]"
        assert "flash needs text written as GSM 7-bit or UCS-2" in problem.message
    settings = load_settings(write(tmp_path, MINIMAL + "flash = true\n"), {})
    assert settings.smsc[0].flash


def test_a_bad_schedule_setting_names_the_field_and_value(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "schedule_delivery = 'later'\n"))
    assert problem.key == "smsc[primary].schedule_delivery"
    assert "'later'" in problem.message or "later" in str(problem)
    problem = only(problems_of(tmp_path, MINIMAL + "schedule_lead = 7200\n"))
    assert problem.key == "smsc[primary].schedule_lead"


def test_invalid_toml_names_the_file_line_and_column(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "window = \n"))
    assert problem.key == "line 7, column 10"
    assert problem.message.startswith("invalid TOML: ")


def test_an_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "absent.toml", {})
    assert str(caught.value).endswith(
        f"{tmp_path / 'absent.toml'}: (file): cannot be read: No such file or directory"
    )


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = '[log]\nlevel = "loud"\n[http]\nport = -1\n' + MINIMAL + "binds = 0\n"
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, text), {"SMPP_ENGINE__HTTP__HOTS": "x"})
    problems = caught.value.problems
    assert [p.key for p in problems] == [
        "http.hots",
        "log.level",
        "http.port",
        "smsc[primary].binds",
    ]
    error = SettingsError(problems)
    assert str(error).splitlines()[0] == "invalid settings (4 problems):"


_TWO_ROUTES = MINIMAL + MINIMAL.replace('"primary"', '"backup"').split("[store]")[0]


def test_a_rule_naming_an_unknown_route_names_the_key(tmp_path: Path) -> None:
    text = (
        _TWO_ROUTES
        + '[[routing.rules]]\nname = "uk"\nprefixes = ["44"]\nroutes = ["primary", "spare"]\n'
    )
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "routing.rules[uk].routes[1]"
    assert problem.message == "expected the name of an [[smsc]] ('primary', 'backup')"
    assert problem.value == "'spare'"


def test_an_unknown_default_route_names_the_key(tmp_path: Path) -> None:
    text = (
        _TWO_ROUTES
        + '[routing]\ndefault = ["gone"]\n[[routing.rules]]\nname = "r"\nroutes = ["backup"]\n'
    )
    problem = only(problems_of(tmp_path, text))
    assert problem.key == "routing.default[0]"


def test_an_empty_rule_set_is_refused(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path, MINIMAL + "[routing]\nrules = []\n"))
    assert problem.key == "routing.rules"


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ('routes = ["primary", "backup"]\nweights = [1]\n', "routing.rules[r]"),
        ('routes = ["primary"]\nhours = "8-20"\n', "routing.rules[r].hours"),
        ('routes = ["primary"]\ntime_zone = "Mars/Olympus"\n', "routing.rules[r].time_zone"),
        ('routes = ["primary"]\nkinds = ["urgent"]\n', "routing.rules[r].kinds[0]"),
        ('routes = ["primary", "primary"]\n', "routing.rules[r].routes"),
        ("routes = []\n", "routing.rules[r].routes"),
    ],
)
def test_a_bad_rule_names_its_key(tmp_path: Path, rule: str, key: str) -> None:
    text = _TWO_ROUTES + '[[routing.rules]]\nname = "r"\n' + rule
    assert only(problems_of(tmp_path, text)).key == key


def test_without_routing_there_is_no_table_and_with_it_the_default_is_the_first_route(
    tmp_path: Path,
) -> None:
    assert load_settings(write(tmp_path, _TWO_ROUTES), {}).routing_table() is None
    text = _TWO_ROUTES + '[[routing.rules]]\nname = "uk"\nprefixes = ["44"]\nroutes = ["backup"]\n'
    table = load_settings(write(tmp_path, text), {}).routing_table()
    assert table is not None
    assert table.default == ("primary",)
    assert [rule.routes for rule in table.rules] == [("backup",)]


@pytest.mark.parametrize("key", ["pool_size", "answers_pool_size"])
def test_a_pool_of_no_connections_is_named(tmp_path: Path, key: str) -> None:
    problem = only(problems_of(tmp_path, f"[store]\n{key} = 0\n" + MINIMAL))
    assert (problem.key, problem.message, problem.value) == (
        f"store.{key}",
        "expected greater than or equal to 1",
        "0",
    )
