"""Templates: placeholders, escaping, rendering errors, and what the texts cost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.campaigns import (
    MissingFieldError,
    Template,
    TemplateSyntaxError,
    TextPreview,
    preview_text,
)
from smpp_engine.protocol import Alphabet, Concatenation, DataCoding, TextProfile, TextTooLongError


def test_fields_are_listed_once_in_order_of_first_use() -> None:
    template = Template("{name}, you owe {amount} by {due_date}. Thank you, {name}.")
    assert template.fields == ("name", "amount", "due_date")


def test_render_fills_every_placeholder() -> None:
    template = Template("{name}, you owe {amount} by {due date}. Thank you, {name}.")
    values = {"name": "Ann", "amount": "12.50", "due date": "31.12", "unused": "x"}
    assert template.render(values) == "Ann, you owe 12.50 by 31.12. Thank you, Ann."


def test_doubled_braces_are_literal_braces() -> None:
    template = Template("{{code}} is {code}; {{{code}}} }}{{")
    assert template.fields == ("code",)
    assert template.render({"code": "7"}) == "{code} is 7; {7} }{"


def test_braces_inside_values_are_not_read_as_fields() -> None:
    assert Template("Hi {name}").render({"name": "{amount} }{"}) == "Hi {amount} }{"


def test_spaces_around_a_field_name_are_ignored() -> None:
    assert Template("{ amount }").fields == ("amount",)


@pytest.mark.parametrize(
    ("text", "position"),
    [("Pay {amount", 4), ("Pay amount}", 10), ("{}", 0), ("{ }", 0), ("a } {b}", 2), ("", 0)],
)
def test_syntax_errors_name_the_template_and_position(text: str, position: int) -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        Template(text)
    assert info.value.field == "template"
    assert info.value.value == text
    assert info.value.position == position


def test_a_missing_value_names_the_field() -> None:
    with pytest.raises(MissingFieldError) as info:
        Template("{name} owes {amount}").render({"name": "Ann"})
    assert (info.value.field, info.value.value) == ("amount", None)


def test_a_blank_value_is_missing_too() -> None:
    with pytest.raises(MissingFieldError) as info:
        Template("{name} owes {amount}").render({"name": "  ", "amount": "5"})
    assert (info.value.field, info.value.value) == ("name", "  ")


_literal = st.text(max_size=10)  # braces included: they must be escaped
_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
_value = st.text(min_size=1, max_size=10).filter(lambda v: bool(v.strip()))


@given(st.lists(st.tuples(_literal, _name, _value), min_size=1, max_size=5), _literal)
def test_render_agrees_with_str_format(parts: list[tuple[str, str, str]], tail: str) -> None:
    values: dict[str, str] = {}
    text = ""
    for literal, name, value in parts:
        values.setdefault(name, value)
        text += _escape(literal) + "{" + name + "}"
    text += _escape(tail)
    template = Template(text)
    assert template.fields == tuple(values)
    # str.format is the reference for escaping and substitution.
    assert template.render(values) == text.format_map(values)


def _escape(literal: str) -> str:
    return literal.replace("{", "{{").replace("}", "}}")


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_a_syntax_error(text: str) -> None:
    try:
        template = Template(text)
    except TemplateSyntaxError as exc:
        assert exc.value == text
        return
    rendered = template.render(dict.fromkeys(template.fields, "x"))
    assert "{" not in rendered or "{{" in text


# Previews: the protocol core decides the coding and the part count.


def test_a_gsm_template_counts_extension_characters_twice() -> None:
    template = Template("{filler}€")
    one = template.preview({"filler": "a" * 158})  # 158 + 2 septets = 160
    assert (one.alphabet, one.parts, one.units, one.units_per_part) == (Alphabet.GSM7, 1, 160, 160)
    assert one.data_coding == DataCoding.SMSC_DEFAULT
    assert one.data_coding_name == "SMSC_DEFAULT"
    two = template.preview({"filler": "a" * 159})  # 161 septets: two parts of up to 153
    assert (two.parts, two.units, two.units_per_part) == (2, 161, 153)


def test_a_debt_notice_with_euro_signs() -> None:
    shown = Template("Dear {name}, you owe €{amount} [due {due}].").preview(
        {"name": "Ann", "amount": "12.50", "due": "31.12"}
    )
    assert shown.alphabet is Alphabet.GSM7
    # [, ] and € cost two septets each.
    assert shown.units == len(shown.text) + 3
    assert shown.parts == 1


@pytest.mark.parametrize(
    ("length", "parts", "per_part"), [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)]
)
def test_a_cyrillic_template_is_ucs2_at_70_and_67_per_part(
    length: int, parts: int, per_part: int
) -> None:
    template = Template("Уважаемый {name}, ваш долг {amount} лв.")
    fixed = len(template.render({"name": "x", "amount": "y"})) - 2
    filler = "Ж" * (length - fixed - 1)
    shown = template.preview({"name": filler, "amount": "5"})
    assert len(shown.text) == length
    assert shown.alphabet is Alphabet.UCS2
    assert shown.data_coding_name == "UCS2"
    assert (shown.parts, shown.units_per_part) == (parts, per_part)


def test_preview_follows_the_binds_profile_and_method() -> None:
    text = "Café " * 40  # 200 characters, é is in GSM
    assert preview_text(text).parts == 2
    assert preview_text(text, method=Concatenation.UDH16).units_per_part == 152
    latin = preview_text("ção", profile=TextProfile(allow_latin1=True))
    assert latin.alphabet is Alphabet.LATIN1
    assert latin.data_coding_name == "LATIN1"


def test_preview_of_a_text_over_255_parts_raises_the_protocol_error() -> None:
    with pytest.raises(TextTooLongError):
        Template("{x}").preview({"x": "Ж" * 67 * 256})


def test_preview_rows_gives_the_worst_case() -> None:
    template = Template("Hello {name}, you owe {amount}.")
    rows = [
        {"name": "Ann", "amount": "5"},
        {"name": "Анна", "amount": "5"},  # UCS-2
        {"name": "B" * 200, "amount": "5"},  # two GSM parts
        {"name": "Ж" * 100, "amount": "5"},  # two UCS-2 parts
        {"name": "Ж" * 150, "amount": "5"},  # three UCS-2 parts
        {"name": "Cy"},  # no amount: cannot be sent
        {"name": "Ж" * 67 * 256, "amount": "5"},  # too long: cannot be sent
    ]
    shown = template.preview_rows(rows)
    assert shown.rows == 7
    assert shown.failed == 2
    assert shown.max_parts == 3
    assert shown.total_parts == 1 + 1 + 2 + 2 + 3
    assert shown.ucs2_rows == 3
    assert shown.any_ucs2
    assert isinstance(shown.worst, TextPreview)
    assert shown.worst.text == template.render(rows[4])


def test_preview_rows_of_gsm_rows_needs_no_ucs2() -> None:
    shown = Template("Hi {name}").preview_rows([{"name": "Ann"}, {"name": "Bob"}])
    assert (shown.any_ucs2, shown.max_parts, shown.failed) == (False, 1, 0)


def test_preview_rows_of_nothing() -> None:
    shown = Template("Hi {name}").preview_rows([])
    assert (shown.rows, shown.max_parts, shown.worst) == (0, 0, None)
