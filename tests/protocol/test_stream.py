"""Framing: any chunking gives the same PDUs; bad bytes give the typed error and nothing else."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.protocol import (
    CommandStatus,
    DataSm,
    EnquireLink,
    Pdu,
    PduError,
    PduStream,
    SubmitSm,
    Tag,
    encode_pdu,
)

from .strategies import any_pdu, expected_after_round_trip


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(st.lists(any_pdu, min_size=1, max_size=6), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_yields_the_same_pdus(pdus: list[Pdu], cuts: list[int]) -> None:
    wire = b"".join(encode_pdu(p) for p in pdus)
    stream = PduStream()
    out: list[Pdu] = []
    for chunk in _chunks(wire, cuts):
        stream.feed(chunk)
        out.extend(stream.pdus())
    assert out == [expected_after_round_trip(p) for p in pdus]
    assert stream.buffered == 0


def test_one_byte_at_a_time() -> None:
    pdus = [SubmitSm(sequence_number=i, short_message=b"x" * i) for i in range(1, 20)]
    wire = b"".join(encode_pdu(p) for p in pdus)
    stream = PduStream()
    out = []
    for i in range(len(wire)):
        stream.feed(wire[i : i + 1])
        if (pdu := stream.next_pdu()) is not None:
            out.append(pdu)
    assert out == pdus


def test_large_streams_stay_linear_and_compact() -> None:
    one = encode_pdu(EnquireLink(sequence_number=1))
    stream = PduStream()
    for _ in range(20):
        stream.feed(one * 5000)
        assert len(stream.pdus()) == 5000
    assert stream.buffered == 0


@pytest.mark.parametrize("length", [0, 15, 64 * 1024 + 1, 0xFFFFFFFF])
def test_command_length_out_of_bounds_is_a_framing_error_before_buffering(length: int) -> None:
    stream = PduStream()
    stream.feed(struct.pack(">I", length))  # only the length: no waiting for the claimed bytes
    with pytest.raises(PduError) as info:
        stream.next_pdu()
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN and info.value.framing
    stream.feed(encode_pdu(EnquireLink()))
    with pytest.raises(PduError):  # broken for good: it cannot resynchronise
        stream.next_pdu()


def test_framing_error_names_the_request_when_its_header_arrived() -> None:
    stream = PduStream()
    stream.feed(struct.pack(">IIII", 10, 0x00000004, 0, 77))
    with pytest.raises(PduError) as info:
        stream.next_pdu()
    assert (info.value.command_id, info.value.sequence_number) == (4, 77)


def test_configurable_maximum() -> None:
    stream = PduStream(max_command_length=100)
    stream.feed(encode_pdu(SubmitSm(short_message=b"x" * 120)))
    with pytest.raises(PduError) as info:
        stream.next_pdu()
    assert info.value.value > 100


def test_unknown_command_is_skipped_and_the_stream_goes_on() -> None:
    stream = PduStream()
    good = encode_pdu(EnquireLink(sequence_number=2))
    stream.feed(good + struct.pack(">IIII", 20, 0x0000_0999, 0, 9) + b"abcd" + good)
    assert stream.pdus() == [EnquireLink(sequence_number=2)]  # the good one is not lost
    with pytest.raises(PduError) as info:
        stream.pdus()
    assert (info.value.status, info.value.sequence_number) == (CommandStatus.ESME_RINVCMDID, 9)
    assert stream.pdus() == [EnquireLink(sequence_number=2)]


def _drain(stream: PduStream) -> int:
    """Pull until the stream wants more bytes or is broken; count PDUs and errors."""
    events = 0
    for _ in range(10_000):
        try:
            pdu = stream.next_pdu()
        except PduError as err:
            assert isinstance(err.status, int) and err.status != 0
            events += 1
            if err.framing:
                return events
            continue
        if pdu is None:
            return events
        events += 1
    raise AssertionError("decoder did not stop")


@settings(max_examples=500)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=5))
def test_random_bytes_yield_pdus_or_the_typed_error(data: bytes, cuts: list[int]) -> None:
    stream = PduStream()
    for chunk in _chunks(data, cuts):
        stream.feed(chunk)
        _drain(stream)


@settings(max_examples=500)
@given(
    any_pdu,
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_mutated_pdus_yield_pdus_or_the_typed_error(pdu: Pdu, flips: list[tuple[int, int]]) -> None:
    wire = bytearray(encode_pdu(pdu))
    for where, value in flips:
        index = 4 + where % (len(wire) - 4)  # keep command_length so the body is parsed
        wire[index] = value
    stream = PduStream()
    stream.feed(bytes(wire))
    _drain(stream)


@settings(max_examples=40, deadline=None)
@given(st.integers(4000, 60_000), st.lists(st.integers(1, 5000), min_size=1, max_size=30))
def test_a_long_pdu_arrives_whole_in_pieces_of_any_size(size: int, pieces: list[int]) -> None:
    # Longer than what the stream copies in front of the next piece: it grows in place.
    payload = {Tag.message_payload.value: bytes(range(256)) * (size // 256)}
    pdus: list[Pdu] = [
        EnquireLink(sequence_number=1),
        DataSm(sequence_number=2, destination_addr="1", tlvs=payload),
        EnquireLink(sequence_number=3),
        DataSm(sequence_number=4, destination_addr="2", tlvs=payload),
    ]
    wire = b"".join(encode_pdu(p) for p in pdus)
    stream = PduStream()
    out: list[Pdu] = []
    position = 0
    for n in itertools.cycle(pieces):
        if position >= len(wire):
            break
        stream.feed(wire[position : position + n])
        position += n
        out.extend(stream.pdus())
    assert out == pdus
    assert stream.buffered == 0
