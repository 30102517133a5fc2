"""Which route an MO message takes: the first rule that matches it, in the settings' order.

A rule matches on any of: the destination (the short code the consumer texted),
the keyword (the text's first word, case aside) and the sender's prefix; a rule
naming none matches everything. Without rules, every MO goes to the SMS
self-service when billing is enabled; a message no rule takes is kept, listed
and acknowledged, never refused for ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..store.mo import MoRoute

__all__ = ["MoRule", "choose", "keyword_of"]


@dataclass(frozen=True, slots=True)
class MoRule:
    """``target`` BILLING or TENANT (then ``tenant`` names whose endpoint; ``smpp``,
    when set, the system_id whose SMPP receiver binds get them instead of its URL)."""

    target: MoRoute
    destination: str = ""
    keyword: str = ""
    source_prefix: str = ""
    tenant: str | None = None
    smpp: str | None = None

    def matches(self, source: str, destination: str, text: str) -> bool:
        if self.destination and _digits(destination) != _digits(self.destination):
            return False
        if self.keyword and keyword_of(text) != self.keyword.casefold():
            return False
        return not self.source_prefix or _digits(source).startswith(_digits(self.source_prefix))


def keyword_of(text: str) -> str:
    """The text's first word, case folded ("" for a text of spaces)."""
    words = text.split(maxsplit=1)
    return words[0].casefold() if words else ""


def _digits(number: str) -> str:
    # "+359..." and "00359..." name the number "359..." does in an SMSC's address.
    number = number.strip()
    if number.startswith("+"):
        return number[1:]
    return number[2:] if number.startswith("00") else number


def choose(rules: Sequence[MoRule], source: str, destination: str, text: str) -> MoRule | None:
    """The first rule of ``rules`` matching the message; None: no route takes it."""
    for rule in rules:
        if rule.matches(source, destination, text):
            return rule
    return None
