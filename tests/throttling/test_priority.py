"""Strict priority lanes: replies never wait behind bulk; FIFO within a lane."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from throttling import Priority, PriorityLanes

BULK, TRANSACTIONAL, INTERACTIVE = Priority.BULK, Priority.TRANSACTIONAL, Priority.INTERACTIVE


def test_priorities_order_replies_first() -> None:
    assert INTERACTIVE > TRANSACTIONAL > BULK


def test_a_reply_overtakes_waiting_bulk_and_lanes_are_fifo() -> None:
    lanes: PriorityLanes[str] = PriorityLanes()
    for item, priority in [
        ("notice-1", BULK),
        ("notice-2", BULK),
        ("payment-1", TRANSACTIONAL),
        ("reply-1", INTERACTIVE),
        ("payment-2", TRANSACTIONAL),
        ("reply-2", INTERACTIVE),
    ]:
        lanes.push(item, priority)
    assert len(lanes) == 6
    assert lanes.counts() == {INTERACTIVE: 2, TRANSACTIONAL: 2, BULK: 2}
    assert [lanes.pop() for _ in range(7)] == [
        "reply-1",
        "reply-2",
        "payment-1",
        "payment-2",
        "notice-1",
        "notice-2",
        None,
    ]
    assert not lanes


def test_bulk_starves_while_replies_keep_coming() -> None:
    # Intended: bulk is the traffic that can wait.
    lanes: PriorityLanes[str] = PriorityLanes()
    lanes.push("notice", BULK)
    for n in range(1000):
        lanes.push(f"reply-{n}", INTERACTIVE)
        assert lanes.pop() == f"reply-{n}"
    assert lanes.count(BULK) == 1
    assert lanes.pop() == "notice"


def test_pop_batch_crosses_lanes_in_priority_order() -> None:
    lanes: PriorityLanes[int] = PriorityLanes()
    lanes.push(1, BULK)
    lanes.push(2, INTERACTIVE)
    lanes.push(3, TRANSACTIONAL)
    lanes.push(4, INTERACTIVE)
    assert lanes.pop_batch(3) == [2, 4, 3]
    assert lanes.pop_batch(0) == []
    assert lanes.pop_batch(10) == [1]
    assert lanes.pop_batch(10) == []


def test_requeue_puts_an_item_back_at_the_front_of_its_lane() -> None:
    lanes: PriorityLanes[str] = PriorityLanes()
    lanes.push("payment-1", TRANSACTIONAL)
    lanes.push("payment-2", TRANSACTIONAL)
    first = lanes.pop()
    assert first == "payment-1"
    lanes.requeue(first, TRANSACTIONAL)
    assert lanes.pop_batch(2) == ["payment-1", "payment-2"]


def test_a_priority_is_named_by_its_lower_case_label_and_by_nothing_else() -> None:
    assert [p.label for p in Priority] == ["bulk", "transactional", "interactive"]
    for priority in Priority:
        assert Priority.named(priority.label) is priority
    for wrong in ["BULK", "Bulk", "urgent", "", " bulk", "0", 2, None, ["bulk"]]:
        with pytest.raises(ValueError, match="expected one of interactive, transactional, bulk"):
            Priority.named(wrong)  # type: ignore[arg-type]


def test_invalid_arguments_are_refused() -> None:
    lanes: PriorityLanes[str | None] = PriorityLanes()
    # Only untyped code can pass a number that is no Priority.
    with pytest.raises(ValueError, match=r"priority .*got 7"):
        lanes.push("x", 7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"priority .*got -1"):
        lanes.count(-1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="item must not be None"):
        lanes.push(None, BULK)
    with pytest.raises(ValueError, match=r"n must be .*-1"):
        lanes.pop_batch(-1)
    assert len(lanes) == 0


operations = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from(list(Priority))),
        st.tuples(st.just("pop"), st.just(0)),
        st.tuples(st.just("batch"), st.integers(0, 6)),
    ),
    max_size=200,
)


@given(operations)
def test_pop_order_is_priority_then_arrival(ops: list[tuple[str, int]]) -> None:
    lanes: PriorityLanes[int] = PriorityLanes()
    waiting: list[tuple[int, int]] = []  # (priority, arrival) still queued
    arrival = 0
    for op, value in ops:
        if op == "push":
            lanes.push(arrival, value)
            waiting.append((value, arrival))
            arrival += 1
            continue
        wanted = 1 if op == "pop" else value
        expected = sorted(waiting, key=lambda entry: (-entry[0], entry[1]))[:wanted]
        for entry in expected:
            waiting.remove(entry)
        if op == "pop":
            assert lanes.pop() == (expected[0][1] if expected else None)
        else:
            assert lanes.pop_batch(value) == [item for _, item in expected]
        assert len(lanes) == len(waiting)
        for priority in Priority:
            assert lanes.count(priority) == sum(1 for p, _ in waiting if p == priority)
