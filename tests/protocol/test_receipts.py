"""Delivery receipts: esm_class, parsing (corpus, TLVs, fuzz), formatting, id policies."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol import receipts as receipts_module
from smpp_engine.protocol.receipts import (
    MessageIdError,
    MessageIdPolicy,
    MessageState,
    Receipt,
    ReceiptError,
    format_receipt_text,
    is_intermediate_notification,
    is_receipt,
    parse_receipt,
    receipt_id_key,
    receipt_tlvs,
    response_id_key,
)
from smpp_engine.protocol.tlv import NetworkErrorCode, Tag, TlvValue, decode_tlvs, encode_tlvs

RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427
NETWORK_ERROR_CODE = 0x0423
MESSAGE_PAYLOAD = 0x0424
STRIP = " \t\r\n\x0b\x0c\x00"  # what the parser trims around the text

CORPUS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "receipt_corpus.json").read_text(encoding="utf-8")
)


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# -- corpus of receipt texts as real SMSCs send them -----------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_corpus(case: dict[str, Any]) -> None:
    receipt = parse_receipt(0x04, case["raw"].encode("latin-1"), {})
    assert receipt.message_id == case["id"]
    assert receipt.state is MessageState[case["state"]]
    assert receipt.error == case["error"]
    assert receipt.submit_date == _when(case["submit_date"])
    assert receipt.done_date == _when(case["done_date"])
    assert receipt.network_error is None
    assert receipt.intermediate is False
    for key, attribute in (
        ("submitted", "submitted"),
        ("delivered", "delivered"),
        ("text", "text"),
    ):
        if key in case:
            assert getattr(receipt, attribute) == case[key]
    if "extra" in case:
        assert receipt.extra == case["extra"]


@pytest.mark.parametrize("case", CORPUS, ids=[case["name"] for case in CORPUS])
def test_corpus_in_message_payload(case: dict[str, Any]) -> None:
    raw = case["raw"].encode("latin-1")
    assert parse_receipt(0x04, b"", {MESSAGE_PAYLOAD: raw}) == parse_receipt(0x04, raw, {})


def test_short_message_wins_over_message_payload() -> None:
    receipt = parse_receipt(0x04, b"id:1 stat:DELIVRD", {MESSAGE_PAYLOAD: b"id:2 stat:EXPIRED"})
    assert (receipt.message_id, receipt.state) == ("1", MessageState.DELIVERED)


def test_canonical_receipt_all_fields() -> None:
    raw = (
        b"id:0123456789 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
        b"stat:DELIVRD err:000 text:Hello world"
    )
    assert parse_receipt(0x04, raw, {}) == Receipt(
        message_id="0123456789",
        state=MessageState.DELIVERED,
        error="000",
        submitted=1,
        delivered=1,
        submit_date=datetime(2024, 1, 15, 12, 30),
        done_date=datetime(2024, 1, 15, 12, 31),
        text="Hello world",
    )


def test_first_occurrence_of_a_field_wins() -> None:
    receipt = parse_receipt(0x04, b"id:1 stat:DELIVRD id:2 stat:EXPIRED foo:a FOO:b", {})
    assert (receipt.message_id, receipt.state, receipt.extra) == (
        "1",
        MessageState.DELIVERED,
        {"foo": "a"},
    )


# -- TLVs -------------------------------------------------------------------------------


def test_tlv_only_receipt() -> None:
    tlvs: dict[int, TlvValue] = {
        RECEIPTED_MESSAGE_ID: "3A0F2C",
        MESSAGE_STATE: 2,
        NETWORK_ERROR_CODE: NetworkErrorCode(3, 0),
    }
    assert parse_receipt(0x04, b"", tlvs) == Receipt(
        message_id="3A0F2C",
        state=MessageState.DELIVERED,
        network_error=NetworkErrorCode(3, 0),
    )


def test_tlvs_win_over_text_but_text_fills_the_rest() -> None:
    raw = (
        b"id:TEXTID sub:001 dlvrd:000 submit date:2401151230 done date:240115123159 "
        b"stat:DELIVRD err:042 text:hi"
    )
    tlvs: dict[int, TlvValue] = {
        Tag.receipted_message_id: "TLVID",
        Tag.message_state: MessageState.REJECTED.value,
        Tag.network_error_code: NetworkErrorCode(3, 11),
    }
    assert parse_receipt(0x04, raw, tlvs) == Receipt(
        message_id="TLVID",
        state=MessageState.REJECTED,
        error="042",
        network_error=NetworkErrorCode(3, 11),
        submitted=1,
        delivered=0,
        submit_date=datetime(2024, 1, 15, 12, 30),
        done_date=datetime(2024, 1, 15, 12, 31, 59),
        text="hi",
    )


def test_id_from_tlv_state_from_text() -> None:
    receipt = parse_receipt(0x04, b"stat:EXPIRED err:0", {RECEIPTED_MESSAGE_ID: "77"})
    assert (receipt.message_id, receipt.state) == ("77", MessageState.EXPIRED)


def test_state_from_tlv_id_from_text() -> None:
    receipt = parse_receipt(0x04, b"id:78 stat:BOGUS", {MESSAGE_STATE: 5})
    assert (receipt.message_id, receipt.state) == ("78", MessageState.UNDELIVERABLE)


def test_invalid_tlv_state_falls_back_to_text() -> None:
    receipt = parse_receipt(0x04, b"id:79 stat:DELIVRD", {MESSAGE_STATE: 42})
    assert receipt.state is MessageState.DELIVERED


def test_invalid_tlv_state_without_text_is_an_error() -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipt(0x04, b"", {RECEIPTED_MESSAGE_ID: "1", MESSAGE_STATE: 42})
    assert (caught.value.field, caught.value.value) == ("message_state", 42)


def test_empty_tlv_id_falls_back_to_text() -> None:
    receipt = parse_receipt(0x04, b"id:80 stat:DELIVRD", {RECEIPTED_MESSAGE_ID: ""})
    assert receipt.message_id == "80"


def test_raw_bytes_tlvs_are_read() -> None:
    tlvs: dict[int, TlvValue] = {
        RECEIPTED_MESSAGE_ID: b"00AB\x00",
        MESSAGE_STATE: b"\x08",
        NETWORK_ERROR_CODE: b"\x03\x01\x02",
    }
    assert parse_receipt(0x04, b"", tlvs) == Receipt(
        message_id="00AB",
        state=MessageState.REJECTED,
        network_error=NetworkErrorCode(3, 0x0102),
    )


def test_tlvs_through_the_codec() -> None:
    receipt = Receipt("5F3A", MessageState.EXPIRED, network_error=NetworkErrorCode(3, 27))
    wire = encode_tlvs(receipt_tlvs(receipt))
    assert parse_receipt(0x04, b"", decode_tlvs(wire, 0, len(wire))) == receipt


def test_receipt_tlvs() -> None:
    assert receipt_tlvs(Receipt("A1", MessageState.DELIVERED)) == {0x001E: "A1", 0x0427: 2}
    with_error = Receipt("A1", MessageState.UNDELIVERABLE, network_error=NetworkErrorCode(3, 1))
    assert receipt_tlvs(with_error) == {
        0x001E: "A1",
        0x0427: 5,
        0x0423: NetworkErrorCode(3, 1),
    }


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("short_message", "tlvs", "field", "value"),
    [
        (b"id:1 stat:FOO err:0", {}, "stat", "FOO"),
        (b"id:1 err:0", {}, "stat", None),
        (b"stat:DELIVRD err:0", {}, "id", None),
        (b"id: stat:DELIVRD", {}, "id", None),
        (b"", {}, "id", None),
        (b"Hello, this is not a receipt", {}, "id", None),
        (b"", {MESSAGE_STATE: 2}, "id", None),
        (b"", {RECEIPTED_MESSAGE_ID: "1"}, "stat", None),
    ],
)
def test_receipt_errors(
    short_message: bytes, tlvs: dict[int, TlvValue], field: str, value: object
) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipt(0x04, short_message, tlvs)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.field, caught.value.value) == (field, value)


def test_receipt_error_message_is_bounded() -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipt(0x04, b"id:1 stat:" + b"X" * 10_000, {})
    assert len(str(caught.value)) < 200


# -- esm_class --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("esm_class", "receipt", "intermediate"),
    [
        (0x00, False, False),
        (0x04, True, False),
        (0x44, True, False),  # UDHI set too
        (0xC4, True, False),  # GSM feature bits set too
        (0x07, True, False),  # message mode bits are ignored
        (0x08, False, False),  # SME delivery acknowledgement
        (0x10, False, False),  # SME manual/user acknowledgement
        (0x18, False, False),  # conversation abort
        (0x20, False, True),
        (0x60, False, True),
        (0x24, False, False),  # reserved type, neither
        (0x0C, False, False),
    ],
)
def test_esm_class(esm_class: int, receipt: bool, intermediate: bool) -> None:
    assert is_receipt(esm_class) is receipt
    assert is_intermediate_notification(esm_class) is intermediate


def test_intermediate_notification() -> None:
    receipt = parse_receipt(0x20, b"id:9 sub:001 dlvrd:000 stat:ENROUTE err:000", {})
    assert receipt.intermediate is True
    assert receipt.state is MessageState.ENROUTE
    assert not receipt.state.final
    assert parse_receipt(0x04, b"id:9 stat:DELIVRD", {}).intermediate is False


# -- MessageState -----------------------------------------------------------------------


def test_message_state_values() -> None:
    assert {s.name: s.value for s in MessageState} == {
        "SCHEDULED": 0,
        "ENROUTE": 1,
        "DELIVERED": 2,
        "EXPIRED": 3,
        "DELETED": 4,
        "UNDELIVERABLE": 5,
        "ACCEPTED": 6,
        "UNKNOWN": 7,
        "REJECTED": 8,
        "SKIPPED": 9,
    }


def test_final_states() -> None:
    assert {s for s in MessageState if not s.final} == {
        MessageState.SCHEDULED,
        MessageState.ENROUTE,
    }


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (MessageState.ENROUTE, "ENROUTE"),
        (MessageState.DELIVERED, "DELIVRD"),
        (MessageState.EXPIRED, "EXPIRED"),
        (MessageState.DELETED, "DELETED"),
        (MessageState.UNDELIVERABLE, "UNDELIV"),
        (MessageState.ACCEPTED, "ACCEPTD"),
        (MessageState.UNKNOWN, "UNKNOWN"),
        (MessageState.REJECTED, "REJECTD"),
        (MessageState.SKIPPED, "SKIPPED"),
    ],
)
def test_stat_words(state: MessageState, word: str) -> None:
    assert state.stat_word == word
    assert MessageState.from_stat_word(word) is state
    assert MessageState.from_stat_word(word.lower()) is state
    assert MessageState.from_stat_word(state.name.title()) is state


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("DELIVERED", MessageState.DELIVERED),
        ("UNDELIVERABLE", MessageState.UNDELIVERABLE),
        ("UNDELIVERED", MessageState.UNDELIVERABLE),
        ("FAILED", MessageState.UNDELIVERABLE),
        ("REJECTED", MessageState.REJECTED),
        ("ACCEPTED", MessageState.ACCEPTED),
        ("DELETED", MessageState.DELETED),
        ("skipped", MessageState.SKIPPED),
    ],
)
def test_stat_word_variants(word: str, state: MessageState) -> None:
    assert MessageState.from_stat_word(word) is state


def test_unknown_stat_word() -> None:
    with pytest.raises(ReceiptError) as caught:
        MessageState.from_stat_word("FOO")
    assert (caught.value.field, caught.value.value) == ("stat", "FOO")


# -- formatting -------------------------------------------------------------------------


def test_format_canonical() -> None:
    receipt = Receipt(
        message_id="0123456789",
        state=MessageState.DELIVERED,
        error="000",
        submitted=1,
        delivered=1,
        submit_date=datetime(2024, 1, 15, 12, 30, 45),
        done_date=datetime(2024, 1, 15, 12, 31, 59),
        text="Hello world, this is longer than twenty",
    )
    assert format_receipt_text(receipt) == (
        b"id:0123456789 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
        b"stat:DELIVRD err:000 text:Hello world, this is"
    )
    assert format_receipt_text(receipt, date_digits=12) == (
        b"id:0123456789 sub:001 dlvrd:001 submit date:240115123045 done date:240115123159 "
        b"stat:DELIVRD err:000 text:Hello world, this is"
    )


def test_format_minimal_and_extra() -> None:
    assert format_receipt_text(Receipt("7", MessageState.UNDELIVERABLE)) == b"id:7 stat:UNDELIV"
    receipt = Receipt("7", MessageState.EXPIRED, extra={"smsc": "S1"}, text="")
    assert format_receipt_text(receipt) == b"id:7 stat:EXPIRED smsc:S1 text:"


def test_format_text_outside_latin1_is_replaced() -> None:
    receipt = Receipt("7", MessageState.DELIVERED, text="Привет café")
    assert format_receipt_text(receipt).endswith(b"text:?????? caf\xe9")


@pytest.mark.parametrize(
    ("receipt", "field"),
    [
        (Receipt("", MessageState.DELIVERED), "id"),
        (Receipt("a b", MessageState.DELIVERED), "id"),
        (Receipt("идент", MessageState.DELIVERED), "id"),
        (Receipt("1", MessageState.DELIVERED, error="0 1"), "err"),
        (Receipt("1", MessageState.DELIVERED, submitted=-1), "sub"),
        (Receipt("1", MessageState.DELIVERED, submit_date=datetime(1999, 12, 31)), "submit date"),
        (Receipt("1", MessageState.DELIVERED, extra={"stat": "x"}), "stat"),
        (Receipt("1", MessageState.DELIVERED, extra={"a:b": "x"}), "a:b"),
        (Receipt("1", MessageState.DELIVERED, extra={"k": "x y"}), "k"),
    ],
)
def test_format_rejects_what_would_not_round_trip(receipt: Receipt, field: str) -> None:
    with pytest.raises(ReceiptError) as caught:
        format_receipt_text(receipt)
    assert caught.value.field == field


def test_format_date_digits() -> None:
    with pytest.raises(ValueError, match="date_digits"):
        format_receipt_text(Receipt("1", MessageState.DELIVERED), date_digits=8)


_TOKEN_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0xFF)
_tokens = st.text(_TOKEN_CHARS, max_size=12)
_ids = st.text(_TOKEN_CHARS, min_size=1, max_size=64)
_extra_keys = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True).filter(
    lambda key: key not in {"id", "sub", "dlvrd", "stat", "err", "text", "submitdate", "donedate"}
)
_texts = st.text(st.characters(max_codepoint=0xFF), max_size=20).map(lambda t: t.strip(STRIP))
_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59))


@st.composite
def receipts(draw: st.DrawFn, *, date_digits: int) -> Receipt:
    def date() -> datetime | None:
        value = draw(st.none() | _dates)
        if value is None:
            return None
        return value.replace(microsecond=0, second=value.second if date_digits == 12 else 0)

    return Receipt(
        message_id=draw(_ids),
        state=draw(st.sampled_from(MessageState)),
        error=draw(st.none() | _tokens),
        network_error=draw(
            st.none() | st.builds(NetworkErrorCode, st.integers(0, 255), st.integers(0, 0xFFFF))
        ),
        submitted=draw(st.none() | st.integers(0, 10**6)),
        delivered=draw(st.none() | st.integers(0, 10**6)),
        submit_date=date(),
        done_date=date(),
        text=draw(st.none() | _texts),
        intermediate=draw(st.booleans()),
        extra=draw(st.dictionaries(_extra_keys, _tokens, max_size=3)),
    )


def _esm_class(receipt: Receipt) -> int:
    return 0x20 if receipt.intermediate else 0x04


@given(st.sampled_from([10, 12]).flatmap(lambda d: st.tuples(st.just(d), receipts(date_digits=d))))
def test_format_then_parse_text_only(case: tuple[int, Receipt]) -> None:
    date_digits, receipt = case
    raw = format_receipt_text(receipt, date_digits=date_digits)
    expected = dataclasses.replace(receipt, network_error=None)
    assert parse_receipt(_esm_class(receipt), raw, {}) == expected


@given(receipts(date_digits=12))
def test_format_then_parse_with_tlvs(receipt: Receipt) -> None:
    raw = format_receipt_text(receipt, date_digits=12)
    assert parse_receipt(_esm_class(receipt), raw, receipt_tlvs(receipt)) == receipt


@given(receipts(date_digits=12))
def test_tlvs_alone_carry_id_state_and_network_error(receipt: Receipt) -> None:
    parsed = parse_receipt(0x04, b"", receipt_tlvs(receipt))
    assert (parsed.message_id, parsed.state, parsed.network_error) == (
        receipt.message_id,
        receipt.state,
        receipt.network_error,
    )


@given(receipts(date_digits=12), st.text(st.characters(max_codepoint=0xFF), min_size=21))
def test_format_truncates_text_to_20_characters(receipt: Receipt, text: str) -> None:
    raw = format_receipt_text(dataclasses.replace(receipt, text=text))
    assert parse_receipt(0x04, raw, {}).text == text[:20].strip(STRIP)


# -- fuzz -------------------------------------------------------------------------------


def _parses_or_receipt_error(short_message: bytes, tlvs: dict[int, TlvValue]) -> None:
    try:
        receipt = parse_receipt(0x04, short_message, tlvs)
    except ReceiptError as error:
        assert error.field in {"id", "stat", "message_state"}
    else:
        assert receipt.message_id
        assert isinstance(receipt.state, MessageState)


_tlv_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    st.binary(max_size=80),
    st.builds(NetworkErrorCode, st.integers(), st.integers()),
)
_tlv_maps = st.dictionaries(
    st.sampled_from([RECEIPTED_MESSAGE_ID, MESSAGE_STATE, NETWORK_ERROR_CODE, MESSAGE_PAYLOAD])
    | st.integers(0, 0xFFFF),
    _tlv_values,
    max_size=5,
)


@given(st.binary(max_size=400), _tlv_maps)
def test_fuzz_random_bytes_and_tlvs(short_message: bytes, tlvs: dict[int, TlvValue]) -> None:
    _parses_or_receipt_error(short_message, tlvs)


_soup_tokens = st.sampled_from(
    [
        "id:",
        "id:12",
        "ID:0x1F",
        "sub:",
        "sub:001",
        "dlvrd:99999999999999999999999",
        "submit",
        "date:",
        "submit date:2401151230",
        "done date:9913321261",
        "done_date:240115123059",
        "stat:",
        "stat:DELIVRD",
        "Stat:nope",
        "err:",
        "err:000",
        "text:",
        "Text:a:b c",
        ":",
        "::",
        "a:b:c",
        "\x00",
        "\xff\xfe",
    ]
)


@given(
    st.lists(_soup_tokens, max_size=12),
    st.lists(st.sampled_from([" ", "  ", "\t", "", "\r\n"]), min_size=12, max_size=12),
    _tlv_maps,
)
def test_fuzz_field_soup(tokens: list[str], blanks: list[str], tlvs: dict[int, TlvValue]) -> None:
    text = "".join(token + blank for token, blank in zip(tokens, blanks, strict=False))
    _parses_or_receipt_error(text.encode("latin-1"), tlvs)


def test_long_run_without_colons_is_linear() -> None:
    # A regex that backtracked over every start position would take minutes here.
    with pytest.raises(ReceiptError):
        parse_receipt(0x04, b"x" * 65_535, {})
    with pytest.raises(ReceiptError):
        parse_receipt(0x04, b"x:" * 30_000, {})


# -- message id policies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "response", "receipt"),
    [
        (MessageIdPolicy.AS_IS, "0A1b", "0A1b"),
        (MessageIdPolicy.HEX_TO_DEC, "1A2B", "6699"),
        (MessageIdPolicy.HEX_TO_DEC, "001a2b", "0006699"),
        (MessageIdPolicy.HEX_TO_DEC, "0", "000"),
        (MessageIdPolicy.DEC_TO_HEX, "6699", "1a2b"),
        (MessageIdPolicy.DEC_TO_HEX, "06699", "00001A2B"),
        (MessageIdPolicy.STRIP_LEADING_ZEROS, "000123", "123"),
        (MessageIdPolicy.STRIP_LEADING_ZEROS, "000", "0"),
        (MessageIdPolicy.CASE_INSENSITIVE, "3a0f2c", "3A0F2C"),
    ],
)
def test_policy_same_message(policy: MessageIdPolicy, response: str, receipt: str) -> None:
    assert response_id_key(response, policy) == receipt_id_key(receipt, policy)


@pytest.mark.parametrize(
    ("policy", "response", "receipt"),
    [
        (MessageIdPolicy.AS_IS, "0A1b", "0a1b"),
        (MessageIdPolicy.AS_IS, "012", "12"),
        (MessageIdPolicy.HEX_TO_DEC, "1A2B", "66990"),
        (MessageIdPolicy.HEX_TO_DEC, "10", "10"),
        (MessageIdPolicy.DEC_TO_HEX, "10", "10"),
        (MessageIdPolicy.STRIP_LEADING_ZEROS, "0abc", "ABC"),
        (MessageIdPolicy.STRIP_LEADING_ZEROS, "1230", "123"),
        (MessageIdPolicy.CASE_INSENSITIVE, "0abc", "abc"),
    ],
)
def test_policy_different_messages(policy: MessageIdPolicy, response: str, receipt: str) -> None:
    assert response_id_key(response, policy) != receipt_id_key(receipt, policy)


@pytest.mark.parametrize(
    ("policy", "response", "receipt", "field", "value"),
    [
        (MessageIdPolicy.HEX_TO_DEC, "1G2B", "1", "message_id", "1G2B"),
        (MessageIdPolicy.HEX_TO_DEC, "0x1F", "1", "message_id", "0x1F"),
        (MessageIdPolicy.HEX_TO_DEC, "1_F", "1", "message_id", "1_F"),
        (MessageIdPolicy.HEX_TO_DEC, "1F", "1F", "receipted_message_id", "1F"),
        (MessageIdPolicy.HEX_TO_DEC, "1F", "+31", "receipted_message_id", "+31"),
        (MessageIdPolicy.HEX_TO_DEC, "1F", "٣", "receipted_message_id", "٣"),
        (MessageIdPolicy.HEX_TO_DEC, "1F", "9" * 5000, "receipted_message_id", "9" * 5000),
        (MessageIdPolicy.DEC_TO_HEX, "1F", "1F", "message_id", "1F"),
        (MessageIdPolicy.DEC_TO_HEX, "31", "xyz", "receipted_message_id", "xyz"),
        (MessageIdPolicy.AS_IS, "", "1", "message_id", ""),
        (MessageIdPolicy.CASE_INSENSITIVE, "1", "", "receipted_message_id", ""),
    ],
)
def test_policy_rejects_ids_that_do_not_fit(
    policy: MessageIdPolicy, response: str, receipt: str, field: str, value: str
) -> None:
    with pytest.raises(MessageIdError) as caught:
        response_id_key(response, policy)
        receipt_id_key(receipt, policy)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.field, caught.value.value, caught.value.policy) == (field, value, policy)


def test_policy_values_are_config_words() -> None:
    assert MessageIdPolicy("hex_to_dec") is MessageIdPolicy.HEX_TO_DEC
    assert [p.value for p in MessageIdPolicy] == [
        "as_is",
        "hex_to_dec",
        "dec_to_hex",
        "strip_leading_zeros",
        "case_insensitive",
    ]


def _spell_hex(n: int, upper: bool, zeros: int) -> str:
    digits = f"{n:X}" if upper else f"{n:x}"
    return "0" * zeros + digits


_numbers = st.integers(min_value=0, max_value=2**256)


@given(_numbers, st.booleans(), st.integers(0, 4), st.integers(0, 4))
def test_hex_to_dec_keys_match(n: int, upper: bool, hex_zeros: int, dec_zeros: int) -> None:
    policy = MessageIdPolicy.HEX_TO_DEC
    response = _spell_hex(n, upper, hex_zeros)
    receipt = "0" * dec_zeros + str(n)
    assert response_id_key(response, policy) == receipt_id_key(receipt, policy)


@given(_numbers, _numbers)
def test_hex_to_dec_keys_differ_for_different_numbers(n: int, m: int) -> None:
    policy = MessageIdPolicy.HEX_TO_DEC
    same = response_id_key(f"{n:x}", policy) == receipt_id_key(str(m), policy)
    assert same is (n == m)


@given(_numbers, _numbers, st.booleans())
def test_dec_to_hex_keys(n: int, m: int, upper: bool) -> None:
    policy = MessageIdPolicy.DEC_TO_HEX
    assert response_id_key(str(n), policy) == receipt_id_key(_spell_hex(n, upper, 1), policy)
    same = response_id_key(str(n), policy) == receipt_id_key(_spell_hex(m, upper, 0), policy)
    assert same is (n == m)


@given(st.text(min_size=1, max_size=70), st.sampled_from(MessageIdPolicy))
def test_keys_are_strings_or_message_id_error(message_id: str, policy: MessageIdPolicy) -> None:
    for key_of in (response_id_key, receipt_id_key):
        with contextlib.suppress(MessageIdError):
            assert isinstance(key_of(message_id, policy), str)


_STAT_WORDS = st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "ACCEPTD", "deliv"])


@given(
    fields=st.tuples(_ids, _tokens, _tokens, _tokens, _tokens, _STAT_WORDS, _tokens),
    text=st.none()
    | st.builds(
        str.__add__,
        st.text(st.characters(max_codepoint=0xFF), max_size=30),
        st.sampled_from(["", " ", "\r\n", "\x00", " id:x stat:UNDELIV"]),
    ),
)
def test_the_standard_layout_reads_as_the_general_parser_does(
    fields: tuple[str, ...], text: str | None
) -> None:
    # Appendix B's exact layout is read by one match (the common case); the same
    # fields with upper-case keys go through the general loop. Both must agree,
    # values with colons, odd dates and counts, and a text full of keys included.
    keys = ("id", "sub", "dlvrd", "submit date", "done date", "stat", "err")
    tail = "" if text is None else f" text:{text}"

    def layout(upper: bool) -> bytes:
        spelled = (key.upper() if upper else key for key in keys)
        body = " ".join(f"{key}:{value}" for key, value in zip(spelled, fields, strict=True))
        return (body + tail).encode("latin-1")

    def outcome(raw: bytes) -> Receipt | str:
        try:
            return parse_receipt(0x04, raw, {})
        except ReceiptError as exc:
            return str(exc)

    assert outcome(layout(upper=False)) == outcome(layout(upper=True))


# -- the text read on first use -----------------------------------------------------------


def test_text_is_read_only_when_a_field_from_it_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = receipts_module._read_text
    monkeypatch.setattr(receipts_module, "_read_text", lambda body: read.append(body) or real(body))
    tlvs: dict[int, TlvValue] = {RECEIPTED_MESSAGE_ID: "A1", MESSAGE_STATE: 2}
    receipt = parse_receipt(0x04, b"id:X stat:UNDELIV err:042 done date:2401151231", tlvs)
    assert (receipt.message_id, receipt.state) == ("A1", MessageState.DELIVERED)
    assert read == []
    assert receipt.error == "042"
    assert receipt.done_date == datetime(2024, 1, 15, 12, 31)
    assert len(read) == 1  # once, for every field


def test_a_receipt_read_later_copies_pickles_and_prints_as_a_receipt() -> None:
    tlvs: dict[int, TlvValue] = {RECEIPTED_MESSAGE_ID: "A1", MESSAGE_STATE: 2}
    raw = b"id:X sub:001 dlvrd:001 err:000 text:hello"
    expected = Receipt(
        "A1", MessageState.DELIVERED, error="000", submitted=1, delivered=1, text="hello"
    )
    assert pickle.loads(pickle.dumps(parse_receipt(0x04, raw, tlvs))) == expected
    assert type(copy.copy(parse_receipt(0x04, raw, tlvs))) is Receipt
    assert repr(parse_receipt(0x04, raw, tlvs)) == repr(expected)
    assert dataclasses.replace(parse_receipt(0x04, raw, tlvs), text="x") == dataclasses.replace(
        expected, text="x"
    )
    assert expected == parse_receipt(0x04, raw, tlvs) != dataclasses.replace(expected, error="1")


@given(st.binary(max_size=200), st.sampled_from(MessageState), _ids.filter(str.strip))
def test_text_read_later_says_what_it_says_at_once(
    raw: bytes, state: MessageState, message_id: str
) -> None:
    later = parse_receipt(0x04, raw, {RECEIPTED_MESSAGE_ID: message_id, MESSAGE_STATE: state})
    # Without the id TLV the text is read at once; "id:" first wins over any id in raw.
    at_once = parse_receipt(0x04, b"id:Z " + raw, {MESSAGE_STATE: state.value})
    assert later == dataclasses.replace(at_once, message_id=later.message_id)
