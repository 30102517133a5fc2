"""config/README.md documents every key with its environment variable."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from smpp_engine.settings import Settings

README = Path(__file__).resolve().parents[2] / "config" / "README.md"


def _model(annotation: object) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def documented_keys(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str]]:
    """(key, environment variable as the README writes it) for every key under ``model``."""
    for key, field in model.model_fields.items():
        variable = f"{prefix}__{key.upper()}"
        sub = _model(field.annotation)
        # Lists of tables inside a table are given whole in one variable.
        if sub is None or key in ("api_keys", "smpp"):
            yield key, variable
        else:
            if typing.get_origin(field.annotation) is list:  # entries addressed by name
                variable += "__<NAME>"
            yield key, f"{variable}__<KEY>"
            yield from documented_keys(sub, variable)


def all_keys() -> Iterator[tuple[str, str]]:
    for section, field in Settings.model_fields.items():
        model = _model(field.annotation)
        assert model is not None
        named = typing.get_origin(field.annotation) is list
        prefix = f"SMPP_ENGINE__{section.upper()}" + ("__<NAME>" if named else "")
        yield from documented_keys(model, prefix)


def test_every_key_has_a_row_naming_its_variable() -> None:
    text = README.read_text("utf-8")
    rows = re.findall(r"^\| `([a-z_0-9]+)` \|[^|]*\| ([^|]*) \|", text, flags=re.MULTILINE)
    documented = {(key, variable.strip().strip("`")) for key, variable in rows}
    # The address, not a setting.
    documented.add(("name", "SMPP_ENGINE__SMSC__<NAME>__NAME"))
    documented.add(("name", "SMPP_ENGINE__TENANTS__<NAME>__NAME"))
    documented.add(("name", "SMPP_ENGINE__MO_ROUTES__<NAME>__NAME"))
    documented.add(("name", "SMPP_ENGINE__ROUTING__RULES__<NAME>__NAME"))
    missing = [pair for pair in all_keys() if pair not in documented]
    assert missing == []
