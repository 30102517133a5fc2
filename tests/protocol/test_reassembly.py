"""Reassembly: any order, duplicates, missing parts, timeouts and bounded memory."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol.coding import decode_text
from smpp_engine.protocol.errors import PduError
from smpp_engine.protocol.reassembly import (
    Abandoned,
    Duplicate,
    Reassembled,
    Reassembler,
)
from smpp_engine.protocol.segmentation import Concatenation, concatenation_info, split_text


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    """Parts of one message and the order they arrive in: shuffled, some twice."""
    parts = draw(st.lists(st.binary(max_size=20), min_size=1, max_size=12))
    order = list(range(1, len(parts) + 1))
    order += draw(st.lists(st.sampled_from(order), max_size=6))  # duplicates
    return parts, draw(st.permutations(order))


@given(deliveries())
def test_any_order_with_duplicates_gives_the_message_exactly_once(
    delivery: tuple[list[bytes], list[int]],
) -> None:
    parts, order = delivery
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    completed = []
    duplicates = 0
    for now, seqnum in enumerate(order):
        result = reassembler.add(
            "+34600000001",
            42,
            len(parts),
            seqnum,
            parts[seqnum - 1],
            data_coding=8,
            now=float(now),
        )
        if isinstance(result, Reassembled):
            completed.append(result)
        elif isinstance(result, Duplicate):
            assert result.same_payload
            duplicates += 1
    assert len(completed) == 1
    assert completed[0].payload == b"".join(parts)
    assert completed[0].data_coding == 8
    assert duplicates == len(order) - len(parts)
    assert len(reassembler) == 0
    assert reassembler.expire(1e9) == []


@given(st.lists(deliveries(), min_size=1, max_size=5), st.randoms())
def test_interleaved_sets_do_not_mix(
    sets: list[tuple[list[bytes], list[int]]], rnd: random.Random
) -> None:
    arrivals = [(ref, seq) for ref, (_, order) in enumerate(sets) for seq in order]
    rnd.shuffle(arrivals)
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    done: dict[int, bytes] = {}
    for ref, seq in arrivals:
        parts = sets[ref][0]
        result = reassembler.add(
            "src", ref, len(parts), seq, parts[seq - 1], data_coding=0, now=0.0
        )
        if isinstance(result, Reassembled):
            assert ref not in done
            done[ref] = result.payload
    assert done == {ref: b"".join(parts) for ref, (parts, _) in enumerate(sets)}


def test_surrogate_pair_split_by_a_foreign_sender_still_decodes() -> None:
    data = "ab😀cd".encode("utf-16-be")
    first, second = data[:6], data[6:]  # cut between the two halves of the pair
    reassembler = Reassembler(timeout=10.0, max_sets=4)
    assert reassembler.add("s", 1, 2, 2, second, data_coding=8, now=0.0) is None
    result = reassembler.add("s", 1, 2, 1, first, data_coding=8, now=1.0)
    assert isinstance(result, Reassembled)
    assert decode_text(result.payload, result.data_coding, strict=True) == "ab😀cd"


def test_escape_split_by_a_foreign_sender_still_decodes() -> None:
    reassembler = Reassembler(timeout=10.0, max_sets=4)
    reassembler.add("s", 1, 2, 1, b"price 5\x1b", data_coding=0, now=0.0)
    result = reassembler.add("s", 1, 2, 2, b"\x65!", data_coding=0, now=0.0)
    assert isinstance(result, Reassembled)
    assert decode_text(result.payload, 0) == "price 5€!"


def test_round_trip_with_the_segmenter() -> None:
    text = "Lectura del contador: 12345 kWh. ¿Correcto? " * 10
    reassembler = Reassembler(timeout=10.0, max_sets=4)
    segments = split_text(text, method=Concatenation.UDH16, reference=777)
    results = []
    for segment in reversed(segments):
        info = concatenation_info(0x40, segment.short_message, segment.tlvs)
        assert info is not None
        results.append(
            reassembler.add(
                "+34600000001",
                info.reference,
                info.total,
                info.seqnum,
                info.payload,
                data_coding=segment.data_coding,
                now=0.0,
                destination="1234",
            )
        )
    final = results[-1]
    assert isinstance(final, Reassembled)
    assert results[:-1] == [None] * (len(segments) - 1)
    assert decode_text(final.payload, final.data_coding) == text


def test_incomplete_set_expires_after_the_timeout_with_missing_parts() -> None:
    reassembler = Reassembler(timeout=30.0, max_sets=4)
    reassembler.add("s", 7, 4, 3, b"c", data_coding=0, now=100.0)
    reassembler.add("s", 7, 4, 1, b"a", data_coding=0, now=110.0)
    assert reassembler.expire(129.9) == []
    (gone,) = reassembler.expire(130.0)
    assert (gone.source, gone.reference, gone.total) == ("s", 7, 4)
    assert gone.missing == (2, 4)
    assert gone.received == {1: b"a", 3: b"c"}
    assert gone.reason is Abandoned.TIMEOUT
    assert gone.first_seen == 100.0
    assert len(reassembler) == 0
    assert reassembler.expire(1000.0) == []


def test_oldest_set_is_evicted_beyond_max_sets_and_reported() -> None:
    reassembler = Reassembler(timeout=300.0, max_sets=2)
    reassembler.add("s", 1, 2, 1, b"x", data_coding=0, now=0.0)
    reassembler.add("s", 2, 2, 1, b"x", data_coding=0, now=1.0)
    reassembler.add("s", 3, 2, 2, b"x", data_coding=0, now=2.0)
    assert len(reassembler) == 2
    (evicted,) = reassembler.expire(3.0)
    assert (evicted.reference, evicted.missing, evicted.reason) == (1, (2,), Abandoned.EVICTED)
    # The evicted set is gone: its second part starts a new set.
    assert reassembler.add("s", 1, 2, 2, b"y", data_coding=0, now=4.0) is None


def test_key_includes_source_destination_and_total() -> None:
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    add = reassembler.add
    assert add("s", 5, 2, 1, b"a", data_coding=0, now=0.0, destination="111") is None
    assert add("s", 5, 2, 2, b"b", data_coding=0, now=0.0, destination="222") is None
    assert add("t", 5, 2, 2, b"c", data_coding=0, now=0.0, destination="111") is None
    assert add("s", 5, 3, 2, b"d", data_coding=0, now=0.0, destination="111") is None
    assert len(reassembler) == 4
    done = add("s", 5, 2, 2, b"e", data_coding=0, now=0.0, destination="111")
    assert isinstance(done, Reassembled) and done.payload == b"ae"


def test_late_duplicate_after_completion_is_reported_not_reopened() -> None:
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    reassembler.add("s", 9, 2, 1, b"a", data_coding=0, now=0.0)
    assert isinstance(reassembler.add("s", 9, 2, 2, b"b", data_coding=0, now=1.0), Reassembled)
    late = reassembler.add("s", 9, 2, 2, b"b", data_coding=0, now=2.0)
    assert late == Duplicate("s", "", 9, 2, 2, same_payload=True)
    assert len(reassembler) == 0
    # A different payload under the same key is a new message reusing the reference.
    assert reassembler.add("s", 9, 2, 1, b"new", data_coding=0, now=3.0) is None
    assert len(reassembler) == 1


def test_conflicting_duplicate_is_flagged() -> None:
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    reassembler.add("s", 9, 3, 1, b"a", data_coding=0, now=0.0)
    result = reassembler.add("s", 9, 3, 1, b"other", data_coding=0, now=0.0)
    assert isinstance(result, Duplicate) and not result.same_payload


@pytest.mark.parametrize(("total", "seqnum"), [(3, 0), (3, 4), (0, 0), (256, 1)])
def test_invalid_part_numbers_are_typed_errors(total: int, seqnum: int) -> None:
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    with pytest.raises(PduError):
        reassembler.add("s", 1, total, seqnum, b"x", data_coding=0, now=0.0)


def test_single_part_set_completes_at_once() -> None:
    reassembler = Reassembler(timeout=60.0, max_sets=10)
    result = reassembler.add("s", 1, 1, 1, b"x", data_coding=3, now=0.0)
    assert result == Reassembled("s", "", 1, 1, b"x", 3)
