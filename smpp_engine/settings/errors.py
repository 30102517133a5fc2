"""Settings problems: each names the file, the key path, what was expected and what was found.

A secret's value is never part of a problem: :func:`shown_value` hides the
value of a secret key, masks URL credentials, and masks by value every secret
the settings hold (:func:`masked` does the same to a problem's message), so an
error message can go to a terminal or a log as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..redaction import is_secret_key, mask_text, mask_url

__all__ = ["Problem", "SettingsError", "hidden_key", "masked", "shown_value"]

#: Not a secret, but not shown in a problem either: a refused digest may be a key pasted in.
_HIDDEN_IN_PROBLEMS = frozenset({"sha256"})

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
        # One line per problem, even when a nested check reported several lines.
        message = " ".join(part.strip() for part in self.message.splitlines() if part.strip())
        text = f"{self.source}: {self.key}: {message}"
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
        if count == 1:  # one line: a missing file, one mistyped value
            super().__init__(f"invalid settings: {self.problems[0]}")
            return
        header = f"invalid settings ({count} problems):"
        super().__init__("\n".join([header, *(f"  {problem}" for problem in self.problems)]))

    @property
    def keys(self) -> list[str]:
        """The key paths at fault, in order."""
        return [problem.key for problem in self.problems]


def hidden_key(key: str) -> bool:
    """Whether a problem shows nothing of the value under ``key``."""
    return is_secret_key(key) or key in _HIDDEN_IN_PROBLEMS


def shown_value(path: Iterable[str | int], value: object, secrets: Collection[str] = ()) -> str:
    """``value`` as a problem shows it: a secret by its length only, credentials and
    ``secrets`` masked wherever they appear, a long value cut."""
    keys = [part for part in path if isinstance(part, str)]
    last = keys[-1] if keys else ""
    if hidden_key(last):
        size = len(value) if isinstance(value, str) else None
        return "a hidden value" if size is None else f"a hidden value of {size} characters"
    if last == "url" and isinstance(value, str):
        value = mask_url(value)
    text = mask_text(repr(value), secrets)
    return text if len(text) <= _LONGEST_SHOWN else text[: _LONGEST_SHOWN - 3] + "..."


def masked(problem: Problem, secrets: Collection[str]) -> Problem:
    """``problem`` with credentials and ``secrets`` masked in its message and value."""
    return dataclasses.replace(
        problem,
        message=mask_text(problem.message, secrets),
        value=None if problem.value is None else mask_text(problem.value, secrets),
    )


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
