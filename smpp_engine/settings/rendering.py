"""The effective settings as TOML or JSON data, secrets shown as ``***``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..redaction import MASK, is_secret_key, mask_text, mask_url, secrets_in
from .model import Settings

__all__ = ["MASK", "settings_data", "to_toml"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def settings_data(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain data (unset optional keys left out), secrets masked.

    A secret is masked under its own key and, by value, wherever else it appears.
    """
    raw = settings.model_dump(mode="json", exclude_none=True)
    data: dict[str, Any] = _masked(raw, frozenset(secrets_in(raw)))
    return data


def _masked(node: Any, secrets: frozenset[str], key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _masked(v, secrets, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_masked(item, secrets, key) for item in node]
    if not isinstance(node, str) or not node:
        return node
    if is_secret_key(key):
        return MASK
    return mask_text(mask_url(node) if key == "url" else node, secrets)


def to_toml(data: Mapping[str, Any]) -> str:
    """``data`` (tables, arrays of tables, scalars, arrays of scalars) as TOML text."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip() + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(data: Mapping[str, Any], prefix: tuple[str, ...], lines: list[str]) -> None:
    for key, value in data.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{_dotted((*prefix, key))}]"]
            _table(value, (*prefix, key), lines)
        elif _is_table_array(value):
            for entry in value:
                lines += ["", f"[[{_dotted((*prefix, key))}]]"]
                _table(entry, (*prefix, key), lines)


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(_key(key) for key in keys)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON escapes are TOML escapes, except that TOML also refuses a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
