"""Read the settings: the TOML file (or the embedded default), the environment, validation.

Every problem is collected before anything is reported, so one run of
``smpp-engine config check`` shows them all.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..redaction import secrets_in
from .checks import cross_check
from .environment import apply_environment
from .errors import Problem, SettingsError, hidden_key, key_path, masked, shown_value
from .model import Settings
from .sections import table_model

__all__ = ["EMBEDDED_SOURCE", "default_toml", "load_settings", "read_toml"]

#: How problems in the embedded default name their file.
EMBEDDED_SOURCE = "<embedded default.toml>"

_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def default_toml() -> str:
    """The text of the embedded default settings (SQLite, the built-in simulator)."""
    return resources.files(__package__).joinpath("default.toml").read_text("utf-8")


def read_toml(text: str, source: str) -> dict[str, Any]:
    """``text`` parsed; a syntax error names the file, the line and the column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _POSITION.match(str(exc))
        if match is None:
            raise SettingsError([Problem(source, "(file)", f"invalid TOML: {exc}")]) from None
        where = f"line {match['line']}, column {match['column']}"
        raise SettingsError([Problem(source, where, f"invalid TOML: {match['reason']}")]) from None


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in ``path`` (None: the embedded default) with ``environ``'s overrides.

    ``environ`` defaults to the process environment. Relative file names in the
    settings (TLS files, a scenario path) are taken from ``path``'s folder.
    Raises :class:`SettingsError` listing every problem, every secret it holds
    masked (by key, in URLs, and by value wherever it appears).
    """
    environment = os.environ if environ is None else environ
    if path is None:
        source, text, base = EMBEDDED_SOURCE, default_toml(), Path.cwd()
    else:
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError([Problem(source, "(file)", f"cannot be read: {reason}")]) from None
        base = path.resolve().parent
    data, overrides, problems = apply_environment(read_toml(text, source), environment)
    secrets = frozenset(secrets_in(data))
    origins = {override.path: override.variable for override in overrides}
    try:
        settings = Settings.model_validate(data, context={"base_dir": base})
    except ValidationError as exc:
        problems += _validation_problems(exc, data, source, origins, secrets)
        raise SettingsError([masked(p, secrets) for p in problems]) from None
    problems += cross_check(settings, source)
    if problems:
        raise SettingsError([masked(p, secrets) for p in problems])
    return settings


def _validation_problems(
    exc: ValidationError,
    data: Mapping[str, Any],
    source: str,
    origins: Mapping[tuple[str | int, ...], str],
    secrets: frozenset[str],
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = key_path(loc, data)
        origin = origins.get(loc)
        kind = error["type"]
        if kind == "missing":
            problems.append(Problem(source, where, "required, but not given", None, origin))
        elif kind == "extra_forbidden":
            # No value shown: an unknown key may well be a misspelt password.
            problems.append(Problem(source, where, _unknown(loc), None, origin))
        else:
            message = _expected(error["msg"])
            value = _shown_input(loc, error.get("input"), secrets)
            problems.append(Problem(source, where, message, value, origin))
    return problems


_REWORDED = (
    ("Value error, ", ""),
    ("Input should be ", "expected "),
    ("String should have ", "expected "),
    ("List should have ", "expected "),
    ("String should match pattern ", "expected text matching "),
)


def _expected(message: str) -> str:
    """pydantic's message, worded as what was expected."""
    for prefix, replacement in _REWORDED:
        if message.startswith(prefix):
            return replacement + message[len(prefix) :]
    return message


def _shown_input(loc: tuple[str | int, ...], value: object, secrets: frozenset[str]) -> str:
    # A whole table or array may hold a secret: say only what it was.
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if _holds_secret(loc):
        # Text where a table of secrets belongs ("[http] api_keys" set to a key
        # from the environment) is likely the secret itself.
        return "a hidden value"
    return shown_value(loc, value, secrets)


def _holds_secret(loc: Iterable[str | int]) -> bool:
    """Whether the key at ``loc`` is a table (or array of tables) with a secret key in it."""
    model: type[BaseModel] | None = Settings
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = table_model(field.annotation) if field is not None else None
    return field is not None and model is not None and _secret_inside(model)


def _secret_inside(model: type[BaseModel]) -> bool:
    for name, field in model.model_fields.items():
        inner = table_model(field.annotation)
        if hidden_key(name) or (inner is not None and inner is not model and _secret_inside(inner)):
            return True
    return False


def _unknown(loc: Iterable[str | int]) -> str:
    """'unknown key', with the nearest known key of the same table when one is close."""
    *parents, key = [part for part in loc if isinstance(part, str)]
    model: type[BaseModel] | None = Settings
    for parent in parents:
        field = model.model_fields.get(parent) if model is not None else None
        model = table_model(field.annotation) if field is not None else None
    if model is None:
        return "unknown key"
    hint = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f"unknown key (did you mean {hint[0]!r}?)" if hint else "unknown key"
