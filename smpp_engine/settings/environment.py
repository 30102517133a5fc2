"""Overrides from the environment: ``SMPP_ENGINE__SECTION__KEY=value`` for any key.

Levels are separated by a double underscore and matched without regard to
case. Entries of an array of tables are addressed by their ``name``
(``SMPP_ENGINE__SMSC__PRIMARY__PASSWORD``), so secrets need not be in the file;
an API key not in the file is added by its variable.
A value is taken as a TOML value (number, boolean, array, inline table) unless
the key holds text, which is taken as it is. A variable that names no key is a
problem, so a typo does not pass unnoticed.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .errors import Problem, key_path
from .model import Settings
from .sections import table_model

__all__ = ["PREFIX", "Override", "apply_environment", "fold_entry_name"]

PREFIX = "SMPP_ENGINE__"

#: Lists a variable may add an entry to. An API key is whole with its name and
#: digest, so ``SMPP_ENGINE__HTTP__API_KEYS__OPS__SHA256`` gives a file holding no
#: key (or other keys) the key ``ops``. An ``[[smsc]]`` entry needs an address, an
#: account and a password: a name that matches none there is far likelier a typo,
#: and stays an error listing the names.
_ADDED_BY_NAME = frozenset({("http", "api_keys")})


@dataclass(frozen=True, slots=True)
class Override:
    """One key set from the environment: the variable and the key's path in the data."""

    variable: str
    path: tuple[str | int, ...]


def apply_environment(
    data: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], list[Override], list[Problem]]:
    """``data`` with every ``SMPP_ENGINE__`` variable of ``environ`` applied.

    Returns the new data (``data`` is not changed), what was overridden, and the
    variables that could not be applied.
    """
    result = copy.deepcopy(dict(data))
    overrides: list[Override] = []
    problems: list[Problem] = []
    for variable in sorted(environ):
        if not variable.upper().startswith(PREFIX):
            continue
        outcome = _apply(result, variable, environ[variable])
        if isinstance(outcome, Override):
            overrides.append(outcome)
        else:
            problems.append(outcome)
    return result, overrides, problems


def _apply(data: dict[str, Any], variable: str, raw: str) -> Override | Problem:
    """Walk the models and the data along the variable's levels; set the value at the end."""
    parts = variable[len(PREFIX) :].split("__")
    if not all(parts):
        return Problem(variable, "(environment)", "expected key levels separated by __")
    model: type[BaseModel] = Settings
    container = data
    path: list[str | int] = []
    i = 0
    while True:
        key = parts[i].lower()
        last = i == len(parts) - 1
        where = key_path([*path, key], data)
        if key not in model.model_fields:
            hint = difflib.get_close_matches(key, list(model.model_fields), n=1)
            message = f"unknown key (did you mean {hint[0]!r}?)" if hint else "unknown key"
            return Problem(variable, where, message)
        annotation = model.model_fields[key].annotation
        if last:
            container[key] = _parse(raw, annotation)
            return Override(variable, (*path, key))
        item = _named_item_model(annotation)
        if item is not None:
            addable = (*path, key) in _ADDED_BY_NAME
            if addable:
                container.setdefault(key, [])
            entries = container.get(key)
            entries = entries if isinstance(entries, list) else []
            index = _entry_named(entries, parts[i + 1])
            if index is None and addable and entries is container[key]:
                # Named as written, in lower case: a variable cannot spell "-".
                entries.append({"name": parts[i + 1].lower()})
                index = len(entries) - 1
            if index is None:
                names = ", ".join(str(e.get("name")) for e in entries if isinstance(e, dict))
                message = f"expected the name of one of its entries ({names or 'none'})"
                return Problem(variable, where, message, repr(parts[i + 1]))
            container, model = entries[index], item
            path += [key, index]
            i += 2
            if i == len(parts):
                return Problem(variable, key_path(path, data), "expected one of its keys after it")
            continue
        sub = table_model(annotation)
        if sub is None or typing.get_origin(annotation) is list:
            return Problem(variable, where, "is a value, not a table")
        child = container.setdefault(key, {})
        if not isinstance(child, dict):
            return Problem(variable, where, "is not a table here")
        container, model = child, sub
        path.append(key)
        i += 1


def _entry_named(entries: list[Any], name: str) -> int | None:
    """The index of the entry called ``name`` (case and ``-``/``_`` aside)."""
    wanted = fold_entry_name(name)
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and fold_entry_name(str(entry.get("name", ""))) == wanted:
            return index
    return None


def fold_entry_name(name: str) -> str:
    """An entry's name as variables match it: case aside, ``_`` standing for ``-``."""
    return name.casefold().replace("-", "_")


def _members(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for a in typing.get_args(annotation) if a is not types.NoneType)
    return (annotation,)


def _named_item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a list's entries when they are addressed by ``name``."""
    if typing.get_origin(annotation) is not list:
        return None
    model = table_model(annotation)
    return model if model is not None and "name" in model.model_fields else None


def _takes_text(annotation: Any) -> bool:
    for member in _members(annotation):
        if member is str:
            return True
        if typing.get_origin(member) is Literal and all(
            isinstance(arg, str) for arg in typing.get_args(member)
        ):
            return True
    return False


def _parse(raw: str, annotation: Any) -> Any:
    if _takes_text(annotation):
        return raw
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw  # validation then says what was expected
