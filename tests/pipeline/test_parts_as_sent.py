"""A segment a client sent over the SMPP server face goes upstream as it came."""

from __future__ import annotations

import contextlib
import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.pipeline import submit_parts
from smpp_engine.protocol import Concatenation, PduError, SegmentPayload, Tag

from .test_parts_and_receipts import claimed

UDH_PART = b"\x05\x00\x03\x2a\x03\x02" + b"second part of three"


def test_a_udh_part_keeps_the_clients_udh_coding_and_bytes_not_re_split() -> None:
    payload = SegmentPayload(0x40, 0, UDH_PART, {}).encode()
    message = dataclasses.replace(claimed("second part of three"), payload=payload)
    # Whatever the route would do with the text, the client's segment is sent.
    ((part, pdu),) = submit_parts(message, method=Concatenation.SAR)
    assert part == 0
    assert pdu.short_message == UDH_PART
    assert pdu.esm_class == 0x40 and pdu.data_coding == 0
    assert pdu.destination_addr == message.destination


def test_a_sar_part_keeps_its_tlvs() -> None:
    tlvs = {Tag.sar_msg_ref_num: 7, Tag.sar_total_segments: 2, Tag.sar_segment_seqnum: 1}
    payload = SegmentPayload(0, 8, "привет".encode("utf-16-be"), tlvs).encode()
    message = dataclasses.replace(claimed("привет"), payload=payload)
    ((_, pdu),) = submit_parts(message)
    assert pdu.tlvs == tlvs and pdu.data_coding == 8


def test_only_the_content_bits_of_esm_class_and_the_content_tlvs_are_kept() -> None:
    segment = SegmentPayload.of(
        0x43, 0, b"x", {Tag.sar_msg_ref_num: 1, Tag.receipted_message_id: "abc"}
    )
    assert segment.esm_class == 0x40
    assert segment.tlvs == {Tag.sar_msg_ref_num: 1}


@given(
    st.sampled_from([0, 0x40]),
    st.integers(0, 255),
    st.binary(max_size=255),
    st.dictionaries(
        st.sampled_from([Tag.sar_msg_ref_num, Tag.user_message_reference, Tag.destination_port]),
        st.integers(0, 0xFFFF),
    ),
)
def test_the_stored_form_decodes_to_what_was_encoded(
    esm_class: int, data_coding: int, short_message: bytes, tlvs: dict[int, int]
) -> None:
    segment = SegmentPayload(esm_class, data_coding, short_message, dict(tlvs))
    assert SegmentPayload.decode(segment.encode()) == segment


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(PduError):
        SegmentPayload.decode(data)
