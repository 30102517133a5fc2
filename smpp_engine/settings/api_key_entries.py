"""An API key's entry added to the text of a settings file, the rest left as written.

The file may hold its keys as an array of tables (``[[http.api_keys]]``), as an
inline array (``api_keys = [...]`` under ``[http]``, as the default has it) or
not at all. A new table is appended at the end when TOML allows it (no keys, or
an array of tables); an inline array gets the entry before its closing bracket.
Either way the result is parsed again and must hold exactly the keys it held plus
the new one, so an unusual layout is refused rather than written wrong.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import Any

from .environment import fold_entry_name

__all__ = ["ApiKeyEntryError", "api_key_entry", "with_api_key"]


class ApiKeyEntryError(ValueError):
    """The entry cannot be added: the name is taken, or the file's layout is not one known."""


def api_key_entry(name: str, digest: str, scopes: Sequence[str] | None = None) -> str:
    """The inline TOML table of one key: ``{ name = "ops", sha256 = "..." }``, with its
    ``scopes`` when given (none: the key may do everything)."""
    listed = "" if scopes is None else f", scopes = {_strings(scopes)}"
    return f"{{ name = {_string(name)}, sha256 = {_string(digest)}{listed} }}"


def with_api_key(text: str, name: str, digest: str, scopes: Sequence[str] | None = None) -> str:
    """``text`` (a settings file's TOML) with the key ``name`` added under ``[http] api_keys``,
    holding ``scopes`` when given.

    Raises :class:`ApiKeyEntryError` when a key is already called ``name`` (case,
    ``-`` and ``_`` aside, as the environment's variables address keys) or when
    the file keeps its keys in a way this cannot extend;
    :class:`tomllib.TOMLDecodeError` when ``text`` is not TOML.
    """
    keys = _keys(tomllib.loads(text))
    folded = fold_entry_name(name)
    taken = [key.get("name") for key in keys if fold_entry_name(str(key.get("name"))) == folded]
    if taken:
        raise ApiKeyEntryError(f"an API key is already called {taken[0]!r}")
    entry: dict[str, Any] = {"name": name, "sha256": digest}
    table = f"[[http.api_keys]]\nname = {_string(name)}\nsha256 = {_string(digest)}\n"
    if scopes is not None:
        entry["scopes"] = list(scopes)
        table += f"scopes = {_strings(scopes)}\n"
    wanted = [*keys, entry]
    separator = "" if text.endswith("\n") or not text else "\n"
    appended = f"{text}{separator}\n{table}"
    for candidate in (appended, _inline_added(text, api_key_entry(name, digest, scopes))):
        if candidate is not None and _holds(candidate, wanted):
            return candidate
    raise ApiKeyEntryError("its [http] api_keys cannot be extended automatically")


def _keys(data: dict[str, Any]) -> list[Any]:
    http = data.get("http", {})
    keys = http.get("api_keys", []) if isinstance(http, dict) else []
    return keys if isinstance(keys, list) else []


def _holds(text: str, wanted: list[Any]) -> bool:
    try:
        return _keys(tomllib.loads(text)) == wanted
    except tomllib.TOMLDecodeError:
        return False


def _inline_added(text: str, entry: str) -> str | None:
    """``text`` with ``entry`` put last in its inline ``api_keys = [...]``; None if none."""
    for start in _assignments(text):
        end = _closing_bracket(text, start)
        if end is None:
            continue
        last = _last_item_end(text, start, end)
        if last is None:  # an empty array
            return f"{text[: start + 1]}{entry}{text[end:]}"
        comma = "" if text[last - 1] == "," else ","
        line_end = text.find("\n", last, end)
        if line_end < 0:  # the array closes on its last item's line
            return f"{text[:last]}{comma} {entry}{text[last:]}"
        # One entry a line, as the array is written: a line of its own, indented alike.
        line_start = text.rfind("\n", 0, last) + 1
        indent = text[line_start:last][: -len(text[line_start:last].lstrip())]
        head, tail = text[:last] + comma + text[last : line_end + 1], text[line_end + 1 :]
        return f"{head}{indent}{entry},\n{tail}"
    return None


def _assignments(text: str) -> list[int]:
    """Offsets of the ``[`` of every line ``api_keys = [`` or ``http.api_keys = [``."""
    found = []
    offset = 0
    for line in text.splitlines(keepends=True):
        key, equals, value = line.partition("=")
        if equals and key.strip() in ("api_keys", "http.api_keys") and value.lstrip()[:1] == "[":
            found.append(offset + len(key) + 1 + len(value) - len(value.lstrip()))
        offset += len(line)
    return found


def _closing_bracket(text: str, start: int) -> int | None:
    """The offset of the bracket closing the one at ``start``; strings and comments skipped."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i
        elif char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        elif char in "\"'":
            i = _string_end(text, i)
            if i < 0:
                return None
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    """The offset of the quote closing the (single-line) string opened at ``start``; -1 if none."""
    quote = text[start]
    i = start + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _last_item_end(text: str, start: int, end: int) -> int | None:
    """Just past the array's last item (or its trailing comma); None for an empty array."""
    last = None
    i = start + 1
    while i < end:
        char = text[i]
        if char == "#":
            newline = text.find("\n", i)
            i = end if newline < 0 else newline
            continue
        if char in "\"'":
            closing = _string_end(text, i)
            i = end if closing < 0 else closing
        elif char in "[{":
            inner = _closing_bracket(text, i)
            i = end if inner is None else inner
        if not char.isspace():
            last = i + 1
        i += 1
    return last


def _strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(_string(value) for value in values) + "]"


def _string(value: str) -> str:
    # A JSON string is a TOML basic string (same escapes, \uXXXX included).
    return json.dumps(value)
