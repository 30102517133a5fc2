"""A receipt's deliver_sm is sent as octets spliced from cached pieces: they must be
exactly what encoding the deliver_sm gives, whatever the message and the settings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.protocol import (
    DataSm,
    MessageState,
    PduError,
    SubmitSm,
    Tag,
    encode_pdu,
    parse_receipt,
)
from smpp_engine.protocol.codec import HEADER
from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.simulator.records import MessageRecord
from smpp_engine.simulator.routing import Outgoing

# Printable ASCII, some Latin-1, and a character Latin-1 cannot encode.
_ADDRESS = st.text(alphabet="0123456789+ABCxyz é€", max_size=24)
NOW = 1.8e9  # the simulator's clock reads as the wall clock (a start not run)
_RECEIPT_FIELDS = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["text", "tlv", "both"]),
        "include_text": st.booleans(),
        "id_format": st.sampled_from(["same", "hex", "decimal"]),
        "date_digits": st.sampled_from([10, 12]),
    }
)


def _record(
    sim: Simulator, number: int, pdu: SubmitSm | DataSm, state: MessageState
) -> MessageRecord:
    message_id = sim.ids.encode(number)
    return MessageRecord(number, message_id, "esme", "esme/TRX#1", pdu, NOW, NOW, state, NOW)


_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "number": st.integers(min_value=1, max_value=2**40),
    "source": _ADDRESS,
    "destination": _ADDRESS,
    "tons": st.tuples(*[st.integers(0, 255)] * 4),
    "text": st.binary(max_size=160),
    "data_coding": st.sampled_from([0, 3, 8]),
    "reference": st.none() | st.integers(0, 0xFFFF) | st.integers(0x10000, 0x20000),
    "state": st.sampled_from(list(MessageState)),
    "intermediate": st.booleans(),
    "data_sm": st.booleans(),
    "later": st.sampled_from([0.0, 0.5, 59.0, 3600.0]),
}


@settings(max_examples=200, deadline=None)
@given(receipts=_RECEIPT_FIELDS, data=st.data())
def test_receipt_octets_are_the_deliver_sm_encoded(
    receipts: dict[str, object], data: st.DataObject
) -> None:
    # One simulator for a message and its variants, each differing from it in one
    # field: what the simulator keeps from one receipt must not leak into another.
    sim = Simulator(parse_scenario({"receipts": receipts}))
    message = data.draw(st.fixed_dictionaries(_FIELDS))
    _check_octets(sim, **message)
    _check_octets(sim, **{**message, "number": message["number"] ^ 1})  # another id
    for name in data.draw(st.lists(st.sampled_from(sorted(_FIELDS)), max_size=8)):
        variant = {**message, name: data.draw(_FIELDS[name])}
        if name == "tons":  # one of the four
            at = data.draw(st.integers(0, 3))
            variant["tons"] = tuple(
                data.draw(st.integers(0, 255)) if i == at else ton
                for i, ton in enumerate(message["tons"])
            )
        _check_octets(sim, **variant)


def _check_octets(
    sim: Simulator,
    number: int,
    source: str,
    destination: str,
    tons: tuple[int, int, int, int],
    text: bytes,
    data_coding: int,
    reference: int | None,
    state: MessageState,
    intermediate: bool,
    data_sm: bool,
    later: float,
) -> None:
    fields: dict[str, Any] = {
        "source_addr_ton": tons[0],
        "source_addr_npi": tons[1],
        "source_addr": source,
        "dest_addr_ton": tons[2],
        "dest_addr_npi": tons[3],
        "destination_addr": destination,
        "data_coding": data_coding,
        "tlvs": {} if reference is None else {Tag.user_message_reference.value: reference},
    }
    if data_sm:
        fields["tlvs"] = {**fields["tlvs"], Tag.message_payload.value: text}
        pdu: SubmitSm | DataSm = DataSm(**fields)
    else:
        pdu = SubmitSm(short_message=text, **fields)
    record = _record(sim, number, pdu, state)
    now = NOW + later

    body = sim.receipts.build_octets(record, destination, state, now, intermediate=intermediate)

    receipt = sim.receipts.build(record, destination, state, now, intermediate=intermediate)
    receipt.sequence_number = 42
    if body is None:
        with pytest.raises(PduError):
            encode_pdu(receipt)
        return
    assert HEADER.pack(16 + len(body), 0x00000005, 0, 42) + body == encode_pdu(receipt)
    receipt.sequence_number = 0
    assert Outgoing(None, "receipt", "esme", body=body).pdu == receipt


def test_plain_receipts_go_as_octets() -> None:
    """The common receipt is spliced, not left to the encoder (the reason for all this)."""
    sim = Simulator(parse_scenario({}))
    pdu = SubmitSm(source_addr="BENCH", destination_addr="447700900123", short_message=b"hi")
    record = _record(sim, 1, pdu, MessageState.DELIVERED)
    body = sim.receipts.build_octets(record, "447700900123", MessageState.DELIVERED, NOW)
    assert body is not None
    receipt = Outgoing(None, "receipt", "esme", body=body).pdu
    read = parse_receipt(receipt.esm_class, receipt.short_message, receipt.tlvs)
    assert (read.message_id, read.state, read.text) == (
        record.message_id,
        MessageState.DELIVERED,
        "hi",
    )
