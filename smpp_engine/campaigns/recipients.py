"""Campaign recipients, from whatever source, and their de-duplication."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient: a normalised MSISDN (E.164 digits, no ``+``) and template values.

    ``line`` is where the recipient came from: the line of a CSV file, or the
    1-based position in a group, so every report can point back at the source.
    """

    msisdn: str
    fields: Mapping[str, str]
    line: int


@dataclass(frozen=True, slots=True)
class DuplicateRecipient:
    """A recipient left out because ``msisdn`` already appeared at ``first_line``.

    Not an error, but counted and shown: a duplicate is never dropped silently.
    """

    line: int
    msisdn: str
    first_line: int


def deduplicate(
    recipients: Iterable[Recipient],
) -> tuple[list[Recipient], list[DuplicateRecipient]]:
    """The first recipient of every MSISDN, and the later ones as duplicates."""
    first_lines: dict[str, int] = {}
    kept: list[Recipient] = []
    duplicates: list[DuplicateRecipient] = []
    for recipient in recipients:
        first = first_lines.get(recipient.msisdn)
        if first is None:
            first_lines[recipient.msisdn] = recipient.line
            kept.append(recipient)
        else:
            duplicates.append(DuplicateRecipient(recipient.line, recipient.msisdn, first))
    return kept, duplicates
