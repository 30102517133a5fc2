"""Message templates with per-recipient fields, and what their texts cost.

Syntax: ``{name}`` is replaced by the recipient's value for ``name``; ``{{`` and
``}}`` stand for literal braces (as in ``str.format``). A name is whatever lies
between the braces with surrounding spaces removed, so a CSV column called
``Due date`` is ``{Due date}``. A lone ``{`` or ``}`` or an empty ``{}`` is a
syntax error: a template that silently printed a brace would reach every recipient.

Values are inserted as they are: a ``{`` inside a value is never read as a field.
A missing or blank value is an error, since "Dear ," is worse than no message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from smpp_engine.protocol import (
    DEFAULT_PROFILE,
    Alphabet,
    Concatenation,
    DataCoding,
    TextProfile,
    TextTooLongError,
    plan_text,
)

from .errors import CampaignError

_TOKEN: Final = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateSyntaxError(CampaignError):
    """A template text that cannot be parsed; ``position`` is the offending index."""

    def __init__(self, reason: str, *, value: str, position: int) -> None:
        self.position = position
        super().__init__(f"{reason} at position {position}", field="template", value=value)


class MissingFieldError(CampaignError):
    """A template field without a value; ``field`` is its name, ``value`` what was given."""


@dataclass(frozen=True, slots=True)
class TextPreview:
    """What one rendered text costs: its coding and its number of SMS.

    ``parts`` counts SMS on the air (what the operator bills and the TPS limit
    counts); ``units`` is the text in septets, octets or UCS-2 units and
    ``units_per_part`` the most one of its SMS carries (160/153, 70/67, ...).
    """

    text: str
    alphabet: Alphabet
    data_coding: int
    parts: int
    units: int
    units_per_part: int

    @property
    def data_coding_name(self) -> str:
        """The SMPP name of ``data_coding`` (``SMSC_DEFAULT`` for GSM 7-bit, ``UCS2``)."""
        try:
            return DataCoding(self.data_coding).name
        except ValueError:  # a TS 23.038 coding group value; plan_text does not pick these
            return f"0x{self.data_coding:02X}"


@dataclass(frozen=True, slots=True)
class RowsPreview:
    """The worst case over a set of recipients' values.

    ``failed`` counts rows that cannot be sent: a field without a value, or a text
    longer than 255 parts (the planner skips them too). ``worst`` is the first
    row with ``max_parts``.
    """

    rows: int
    max_parts: int
    total_parts: int
    ucs2_rows: int
    failed: int
    worst: TextPreview | None

    @property
    def any_ucs2(self) -> bool:
        """Whether any row's text needs UCS-2 (70/67 characters per SMS)."""
        return self.ucs2_rows > 0


@dataclass(frozen=True, slots=True)
class Template:
    """A message text with ``{field}`` placeholders; raises :class:`TemplateSyntaxError`."""

    text: str
    # The fields in order of first use, and the text as a str.format string with
    # positional fields, literal braces doubled: rendering is then one C call.
    _order: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _format: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pieces = _parse(self.text)
        order = tuple(dict.fromkeys(pieces[1::2]))
        index = {name: i for i, name in enumerate(order)}
        out = [_escape(pieces[0])]
        for i in range(1, len(pieces), 2):
            out.append(f"{{{index[pieces[i]]}}}")
            out.append(_escape(pieces[i + 1]))
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_format", "".join(out))

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names in order of first use, each once."""
        return self._order

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one recipient; raises :class:`MissingFieldError`."""
        try:
            args = [values[name] for name in self._order]
        except KeyError:
            missing = next(name for name in self._order if name not in values)
            raise MissingFieldError(
                "no value for template field", field=missing, value=None
            ) from None
        if not all(map(str.strip, args)):
            blank = next(
                name for name, value in zip(self._order, args, strict=True) if not value.strip()
            )
            raise MissingFieldError(
                "template field value is blank", field=blank, value=values[blank]
            )
        return self._format.format(*args)

    def preview(
        self,
        values: Mapping[str, str],
        *,
        profile: TextProfile = DEFAULT_PROFILE,
        method: Concatenation = Concatenation.UDH8,
    ) -> TextPreview:
        """Coding and SMS count of the text rendered with sample ``values``.

        Raises :class:`MissingFieldError`, and the protocol core's
        ``TextTooLongError`` beyond 255 parts.
        """
        return preview_text(self.render(values), profile=profile, method=method)

    def preview_rows(
        self,
        rows: Iterable[Mapping[str, str]],
        *,
        profile: TextProfile = DEFAULT_PROFILE,
        method: Concatenation = Concatenation.UDH8,
    ) -> RowsPreview:
        """The worst case over ``rows``: most parts, UCS-2 rows, rows that cannot go."""
        count = max_parts = total = ucs2 = failed = 0
        worst: TextPreview | None = None
        for values in rows:
            count += 1
            try:
                shown = self.preview(values, profile=profile, method=method)
            except (MissingFieldError, TextTooLongError):
                failed += 1
                continue
            total += shown.parts
            if shown.alphabet is Alphabet.UCS2:
                ucs2 += 1
            if shown.parts > max_parts:
                max_parts, worst = shown.parts, shown
        return RowsPreview(count, max_parts, total, ucs2, failed, worst)


def preview_text(
    text: str,
    *,
    profile: TextProfile = DEFAULT_PROFILE,
    method: Concatenation = Concatenation.UDH8,
) -> TextPreview:
    """Coding and SMS count of ``text``, as the protocol core will send it."""
    plan = plan_text(text, profile, method)
    return TextPreview(
        text, plan.alphabet, plan.data_coding, plan.air_parts, plan.units, plan.units_per_part
    )


def _escape(literal: str) -> str:
    return literal.replace("{", "{{").replace("}", "}}")


def _parse(text: str) -> tuple[str, ...]:
    """Alternating literal text and field names: literal, name, literal, ..., literal."""
    if not text.strip():
        raise TemplateSyntaxError("the template is empty", value=text, position=0)
    pieces: list[str] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[pos : match.start()])
        pos = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif token in ("{", "}"):
            raise TemplateSyntaxError(
                f"unmatched {token!r} (write {token * 2!r} for a literal brace)",
                value=text,
                position=match.start(),
            )
        else:
            name = match.group(1).strip()
            if not name:
                raise TemplateSyntaxError("empty field name", value=text, position=match.start())
            pieces.append("".join(literal))
            pieces.append(name)
            literal = []
    literal.append(text[pos:])
    pieces.append("".join(literal))
    return tuple(pieces)
