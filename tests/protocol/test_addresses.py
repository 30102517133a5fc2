"""Sender ids and destinations are checked before anything reaches the SMSC."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol import CommandStatus, PduError, SubmitSm, encode_pdu
from smpp_engine.protocol.addresses import (
    Address,
    check_address,
    destination_address,
    sender_address,
)

S = CommandStatus


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("ACME", Address(5, 0, "ACME")),
        ("Water Co", Address(5, 0, "Water Co")),
        ("ABCDEFGHIJK", Address(5, 0, "ABCDEFGHIJK")),
        ("+447700900123", Address(1, 1, "447700900123")),
        ("00447700900123", Address(1, 1, "447700900123")),
        ("+44 7700 900123", Address(1, 1, "447700900123")),
        ("07700900123", Address(2, 1, "07700900123")),
        ("1234", Address(2, 1, "1234")),
    ],
)
def test_senders_get_the_ton_and_npi_smscs_expect(given_text: str, expected: Address) -> None:
    assert sender_address(given_text) == expected


@pytest.mark.parametrize(
    ("given_text", "field", "status"),
    [
        ("ABCDEFGHIJKL", "source_addr", S.ESME_RINVSRCADR),  # 12 characters
        ("", "source_addr", S.ESME_RINVSRCADR),
        ("Сбербанк", "source_addr", S.ESME_RINVSRCADR),  # not GSM
        ("ACME€", "source_addr", S.ESME_RINVSRCADR),  # GSM, but no C-octet string carries it
        ("ΔEH", "source_addr", S.ESME_RINVSRCADR),
        ("AC\x07ME", "source_addr", S.ESME_RINVSRCADR),  # a control character
        ("AC\nME", "source_addr", S.ESME_RINVSRCADR),
        ("[ACME]", "source_addr", S.ESME_RINVSRCADR),  # escaped in GSM: SMSCs mangle it
        ("Café", "source_addr", S.ESME_RINVSRCADR),
        ("+12345678901234567", "source_addr", S.ESME_RINVSRCADR),  # 17 digits
        ("+0447700900123", "source_addr", S.ESME_RINVSRCADR),
    ],
)
def test_bad_senders_are_refused_with_the_field_named(
    given_text: str, field: str, status: int
) -> None:
    with pytest.raises(PduError) as info:
        sender_address(given_text)
    assert (info.value.field, info.value.status) == (field, status)
    assert info.value.value is not None


def test_destinations_must_be_numbers() -> None:
    assert destination_address("+359888123456") == Address(1, 1, "359888123456")
    with pytest.raises(PduError) as info:
        destination_address("ACME")
    assert (info.value.field, info.value.status) == ("destination_addr", S.ESME_RINVDSTADR)


@pytest.mark.parametrize(
    ("address", "field", "bad_field", "status"),
    [
        (Address(5, 1, "ACME"), "source_addr", "source_addr_npi", S.ESME_RINVSRCNPI),
        (Address(1, 0, "4477"), "source_addr", "source_addr_npi", S.ESME_RINVSRCNPI),
        (Address(3, 1, "4477"), "source_addr", "source_addr_ton", S.ESME_RINVSRCTON),
        (Address(5, 0, "ACME"), "destination_addr", "destination_addr_ton", S.ESME_RINVDSTTON),
        (Address(1, 1, "44a7"), "destination_addr", "destination_addr", S.ESME_RINVDSTADR),
    ],
)
def test_explicit_combinations_are_checked(
    address: Address, field: str, bad_field: str, status: int
) -> None:
    with pytest.raises(PduError) as info:
        check_address(address, field)
    assert (info.value.field, info.value.status) == (bad_field, status)


@given(st.text(max_size=30))
def test_any_text_gives_an_address_or_the_typed_error(text: str) -> None:
    try:
        address = sender_address(text)
    except PduError as err:
        assert err.field is not None and err.field.startswith("source_addr")
    else:
        assert check_address(address, "source_addr") == address


@given(st.text(max_size=30))
def test_every_sender_accepted_can_be_written_into_a_submit_sm(text: str) -> None:
    """The check at the door is the encoder's: what passes never fails at submit time."""
    try:
        address = sender_address(text)
    except PduError:
        return
    pdu = SubmitSm(
        source_addr_ton=address.ton,
        source_addr_npi=address.npi,
        source_addr=address.addr,
        destination_addr="447700900123",
        short_message=b"x",
    )
    assert encode_pdu(pdu)
