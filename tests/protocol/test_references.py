"""Concatenation references: no repeat per destination, deterministic, bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol.references import ReferenceAllocator

destinations = st.lists(st.sampled_from(["+359888000001", "+359888000002", "+34600000003"]))


@given(
    st.sampled_from([8, 16]),
    st.integers(0, 2**32),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=700),
)
def test_no_repeat_within_the_recent_window(bits: int, seed: int, sends: list[str]) -> None:
    allocator = ReferenceAllocator(8 if bits == 8 else 16, seed=seed)
    history: dict[str, list[int]] = {}
    window = (1 << bits) - 1  # the previous 255 (or 65535) references
    for destination in sends:
        reference = allocator.next(destination)
        assert 0 <= reference < 1 << bits
        recent = history.setdefault(destination, [])
        assert reference not in recent[-window:]
        recent.append(reference)


def test_8_bit_window_is_255_previous_messages() -> None:
    allocator = ReferenceAllocator(8, start=250)
    references = [allocator.next("dest") for _ in range(256)]
    assert len(set(references)) == 256
    assert references[:7] == [250, 251, 252, 253, 254, 255, 0]  # wraps
    assert allocator.next("dest") == references[0]
    assert allocator.window == 256


def test_destinations_are_independent() -> None:
    allocator = ReferenceAllocator(16, start=0)
    assert [allocator.next("a"), allocator.next("b"), allocator.next("a")] == [0, 0, 1]


@given(st.integers(0, 2**32), destinations)
def test_deterministic_for_a_seed(seed: int, sends: list[str]) -> None:
    first = ReferenceAllocator(16, seed=seed)
    second = ReferenceAllocator(16, seed=seed)
    assert [first.next(d) for d in sends] == [second.next(d) for d in sends]


def test_memory_is_bounded_by_least_recent_use() -> None:
    allocator = ReferenceAllocator(8, max_destinations=2, start=10)
    allocator.next("a")  # 10
    allocator.next("b")
    allocator.next("a")  # 11, and "a" is now the most recent
    allocator.next("c")  # forgets "b"
    assert len(allocator) == 2
    assert allocator.next("a") == 12  # remembered
    assert allocator.next("b") == 10  # forgotten: starts afresh


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        ReferenceAllocator(12)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ReferenceAllocator(8, start=256)
    with pytest.raises(ValueError):
        ReferenceAllocator(16, max_destinations=0)
