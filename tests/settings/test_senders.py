"""Every sender in the settings is checked at load by the encoder's own rule."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from smpp_engine.cli import app
from smpp_engine.protocol import PduError, sender_address
from smpp_engine.settings import Settings, SettingsError, load_settings
from smpp_engine.settings.sections import table_model
from smpp_engine.settings.senders import check_sender

from .helpers import MINIMAL, write

#: Key names that hold a sender id, whatever the table.
SENDER_KEY = re.compile(r"sender|source_addr|originator|from_addr", re.IGNORECASE)


def _sender_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for name, field in model.model_fields.items():
        inner = table_model(field.annotation)
        if inner is not None:
            found += _sender_fields(inner, f"{prefix}{name}.")
        elif SENDER_KEY.search(name):
            found.append((prefix + name, field))
    return found


def test_every_sender_key_is_checked_by_sender_address() -> None:
    fields = _sender_fields(Settings)
    assert "billing.source_addr" in [key for key, _ in fields]
    for key, field in fields:
        metadata = list(getattr(field, "metadata", []))
        annotation = getattr(field, "annotation", None)
        if typing.get_origin(annotation) is list:  # a list of senders: each typed SenderId
            (item,) = typing.get_args(annotation)
            metadata += list(getattr(item, "__metadata__", ()))
        validators = [getattr(m, "func", None) for m in metadata]
        assert check_sender in validators, f"{key} is not typed SenderId"


@pytest.mark.parametrize("sender", ["ACME€", "ΔEH", "AC[ME]", "ACME~", "Tab\tCo"])
def test_a_sender_the_encoder_refuses_is_refused_by_config_check(
    tmp_path: Path, sender: str
) -> None:
    with pytest.raises(PduError):
        sender_address(sender)
    escaped = sender.replace("\t", "\\t")
    path = write(tmp_path, MINIMAL + f'[billing]\nsource_addr = "{escaped}"\n')
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith(f"error: invalid settings: {path}: billing.source_addr: ")
    assert "expected a sender id: an alphanumeric sender" in line
    assert f"(got {sender!r})" in line


def test_a_sender_set_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(SettingsError) as raised:
        load_settings(path, {"SMPP_ENGINE__BILLING__SOURCE_ADDR": "ACME€"})
    (problem,) = raised.value.problems
    assert (problem.key, problem.value, problem.origin) == (
        "billing.source_addr",
        "'ACME€'",
        "SMPP_ENGINE__BILLING__SOURCE_ADDR",
    )


@pytest.mark.parametrize("sender", ["ACME", "City Water", "+447700900123", "5566", ""])
def test_a_sender_the_encoder_takes_is_taken(tmp_path: Path, sender: str) -> None:
    path = write(tmp_path, MINIMAL + f'[billing]\nsource_addr = "{sender}"\n')
    assert load_settings(path, {}).billing.source_addr == sender
