"""Phone numbers as people type them become E.164 digits, or a typed error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.campaigns import MsisdnError, check_country_code, normalise_msisdn
from smpp_engine.protocol import Address, destination_address

from .strategies import msisdns, spelled


@pytest.mark.parametrize(
    "text",
    [
        "+44 7700 900123",
        "0044 7700 900123",
        "(44) 7700-900123",
        "+44 (0)7700 900123",
        "+44 (0) 7700 900 123",
        "447700900123",
        " +44.7700.900123 ",
        "+44\u00a07700\u00a0900123",
        "(+44) 7700 900123",
    ],
)
def test_common_spellings_normalise_to_e164_digits(text: str) -> None:
    assert normalise_msisdn(text) == "447700900123"


def test_a_national_number_takes_the_default_country_code() -> None:
    assert normalise_msisdn("07700 900123", default_country_code="44") == "447700900123"
    assert normalise_msisdn("0888 123 456", default_country_code="359") == "359888123456"


def test_a_national_number_without_a_default_country_code_is_refused() -> None:
    with pytest.raises(MsisdnError) as info:
        normalise_msisdn("07700 900123")
    assert info.value.field == "msisdn"
    assert info.value.value == "07700 900123"
    assert "default country code" in info.value.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("+44 7700 9OO123", "letters"),  # capital O for zero
        ("call me", "letters"),
        ("4.47701E+11", "scientific notation"),
        ("+44 1234", "too short"),
        ("1234567", "too short"),
        ("+1234567890123456", "too long"),
        ("+44 7700 900123 #2", "only digits"),
        ("44/7700/900123", "only digits"),
        ("++447700900123", "only digits"),
        ("+0447700900123", "cannot start with 0"),
        ("000447700900123", "cannot start with 0"),
        ("", "empty"),
        ("+", "no digits"),
        ("\u0664\u0664\u0667\u0667\u0660\u0660\u0669\u0660\u0660", "only digits"),  # Arabic-Indic
    ],
)
def test_malformed_numbers_are_refused_with_field_value_and_reason(text: str, reason: str) -> None:
    with pytest.raises(MsisdnError) as info:
        normalise_msisdn(text, field="Phone")
    assert isinstance(info.value, ValueError)
    assert info.value.field == "Phone"
    assert info.value.value == text
    assert reason in info.value.reason


def test_the_digit_limits_are_8_and_15() -> None:
    assert normalise_msisdn("12345678") == "12345678"
    assert normalise_msisdn("123456789012345") == "123456789012345"


@pytest.mark.parametrize("code", ["", "0", "044", "1234", "4a", "+44"])
def test_a_bad_default_country_code_is_refused(code: str) -> None:
    with pytest.raises(MsisdnError) as info:
        normalise_msisdn("07700900123", default_country_code=code)
    assert (info.value.field, info.value.value) == ("default_country_code", code)
    with pytest.raises(MsisdnError):
        check_country_code(code)


@given(msisdns.flatmap(lambda digits: st.tuples(st.just(digits), spelled(digits))))
def test_any_spelling_of_a_number_normalises_to_its_digits(case: tuple[str, str]) -> None:
    digits, text = case
    assert normalise_msisdn(text) == digits


@given(msisdns, st.sampled_from(["44", "359", "1", "7"]))
def test_national_spelling_equals_international_with_the_default_code(
    national: str, code: str
) -> None:
    national = national[: 15 - len(code)]
    expected = code + national
    if len(expected) < 8:
        return
    assert normalise_msisdn("0" + national, default_country_code=code) == expected


@given(st.text(max_size=30))
def test_any_text_normalises_to_a_valid_number_or_raises_msisdn_error(text: str) -> None:
    try:
        result = normalise_msisdn(text, default_country_code="44")
    except MsisdnError as exc:
        assert exc.value == text
        assert exc.field == "msisdn"
        return
    assert result.isascii() and result.isdigit()
    assert 8 <= len(result) <= 15
    assert not result.startswith("0")
    # The protocol core accepts it as an international destination.
    assert destination_address("+" + result) == Address(1, 1, result)
    # Normalising is idempotent.
    assert normalise_msisdn(result) == result


@given(msisdns, st.text(st.characters(categories=["Lu", "Ll", "Lo"]), min_size=1, max_size=3))
def test_a_letter_anywhere_is_refused(digits: str, letters: str) -> None:
    for position in (0, len(digits) // 2, len(digits)):
        text = digits[:position] + letters + digits[position:]
        with pytest.raises(MsisdnError) as info:
            normalise_msisdn(text)
        assert info.value.value == text


@given(st.text("0123456789", min_size=16, max_size=25).map(lambda d: "9" + d[1:]))
def test_more_than_15_digits_is_too_long(digits: str) -> None:
    with pytest.raises(MsisdnError, match="too long"):
        normalise_msisdn("+" + digits)
