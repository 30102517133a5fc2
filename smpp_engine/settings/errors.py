"""Settings problems: each names the file, the key path, what was expected and what was found.

A secret's value is never part of a problem: :func:`shown_value` hides it, so
an error message can go to a terminal or a log as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["SECRET_KEYS", "Problem", "SettingsError", "hide_url_password", "shown_value"]

#: Keys whose values are secrets wherever they appear.
SECRET_KEYS = frozenset({"password"})
#: Not shown in a problem either: a refused digest may be a key pasted in by mistake.
_HIDDEN_IN_PROBLEMS = SECRET_KEYS | {"sha256"}

_LONGEST_SHOWN = 80


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: where (``source``, ``key``), why (``message``), and what was found.

    ``value`` is already safe to show (None: nothing to show); ``origin`` names
    the environment variable that set the key, when one did.
    """

    source: str
    key: str
    message: str
    value: str | None = None
    origin: str | None = None

    def __str__(self) -> str:
        text = f"{self.source}: {self.key}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value})"
        if self.origin is not None:
            text += f" [set by {self.origin}]"
        return text


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = (
            "invalid settings (1 problem):"
            if count == 1
            else f"invalid settings ({count} problems):"
        )
        super().__init__("\n".join([header, *(f"  {problem}" for problem in self.problems)]))

    @property
    def keys(self) -> list[str]:
        """The key paths at fault, in order."""
        return [problem.key for problem in self.problems]


def hide_url_password(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``.

    The user part ends at the last ``@``, so a password holding ``/`` or ``@``
    (which should have been percent-encoded) is hidden whole all the same.
    """
    scheme, separator, rest = url.partition("://")
    user_part, at, host = rest.rpartition("@")
    if not (separator and at):
        return url
    user, colon, _password = user_part.partition(":")
    if not colon:
        return url
    return f"{scheme}://{user}:***@{host}"


def shown_value(path: Iterable[str | int], value: object) -> str:
    """``value`` as a problem shows it: a secret by its length only, a long value cut."""
    keys = [part for part in path if isinstance(part, str)]
    last = keys[-1] if keys else ""
    if last in _HIDDEN_IN_PROBLEMS:
        size = len(value) if isinstance(value, str) else None
        return "a hidden value" if size is None else f"a hidden value of {size} characters"
    if last == "url" and isinstance(value, str):
        value = hide_url_password(value)
    text = repr(value)
    return text if len(text) <= _LONGEST_SHOWN else text[: _LONGEST_SHOWN - 3] + "..."


def key_path(loc: Iterable[str | int], data: object) -> str:
    """A dotted key path; an array-of-tables entry is named by its ``name`` when it has one.

    ``("smsc", 0, "tls", "ca_file")`` reads ``smsc[primary].tls.ca_file``.
    """
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            entry = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            text += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
            node = entry
        else:
            text += f".{part}" if text else part
            node = node.get(part) if isinstance(node, dict) else None
    return text or "(top level)"
