"""Sender ids: alphanumeric up to 11 characters (TON 5), numbers up to 16 digits (TON 1 or 2)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.http_api.errors import ApiError
from smpp_engine.http_api.messages import sender_fields

from .conftest import Api

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
alphanumeric = st.text(ALNUM, min_size=1, max_size=30).filter(lambda s: not s.isdigit())
digits = st.text("0123456789", min_size=1, max_size=24)


@given(alphanumeric)
def test_an_alphanumeric_sender_is_at_most_11_characters(sender: str) -> None:
    if len(sender) <= 11:
        assert sender_fields(sender) == (5, 0, sender)
    else:
        with pytest.raises(ApiError) as refused:
            sender_fields(sender)
        assert (refused.value.status, refused.value.field) == (422, "from")
        assert refused.value.value == sender


@given(digits)
def test_an_international_sender_is_at_most_16_digits(number: str) -> None:
    sender = "+" + number
    if len(number) <= 16 and not number.startswith("0"):
        assert sender_fields(sender) == (1, 1, number)
    else:
        with pytest.raises(ApiError) as refused:
            sender_fields(sender)
        assert refused.value.field == "from"


@given(digits)
def test_a_number_without_plus_is_national_unless_it_starts_with_00(number: str) -> None:
    if number.startswith("00"):
        international = number[2:]
        valid = 1 <= len(international) <= 16 and not international.startswith("0")
        expected = (1, 1, international)
    else:
        valid = len(number) <= 16
        expected = (2, 1, number)
    if valid:
        assert sender_fields(number) == expected
    else:
        with pytest.raises(ApiError):
            sender_fields(number)


@pytest.mark.parametrize(
    ("sender", "ton", "source"),
    [("WATERCO", 5, "WATERCO"), ("+447700900001", 1, "447700900001"), ("5566", 2, "5566")],
)
async def test_the_stored_message_carries_the_senders_ton(
    sqlite_api: Api, sender: str, ton: int, source: str
) -> None:
    answer = await sqlite_api.client.post(
        "/v1/messages", json={"to": "447700900123", "from": sender, "text": "Hi"}
    )
    assert answer.status_code == 201, answer.text
    (claimed,) = await sqlite_api.store.claim("main", 10, owner="test", now=time.time(), lease=30.0)
    assert (claimed.source_ton, claimed.source) == (ton, source)
