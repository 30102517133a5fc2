"""The in-flight table: numbering, matching, deadlines and slots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from smpp_engine.protocol import (
    CommandId,
    EnquireLink,
    GenericNack,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    decode_pdu,
    encode_pdu,
)
from smpp_engine.protocol.window import (
    MAX_SEQUENCE,
    InFlight,
    SequenceAllocator,
    Window,
    WindowFull,
)

SUBMIT_SM_RESP = CommandId.submit_sm_resp.value


def fill(window: Window, count: int, now: float = 0.0, timeout: float = 10.0) -> list[InFlight]:
    return [window.register(SubmitSm(), now, timeout) for _ in range(count)]


# --- slots ------------------------------------------------------------------------


def test_full_window_raises_window_full_and_has_room_is_false() -> None:
    window = Window(3)
    fill(window, 3)
    assert not window.has_room
    with pytest.raises(WindowFull) as info:
        window.register(SubmitSm(), 0.0, 10.0)
    assert info.value.size == 3
    assert len(window) == 3  # the refused request left no trace


def test_a_response_frees_its_slot() -> None:
    window = Window(2)
    first, _ = fill(window, 2)
    assert window.resolve(first.sequence_number) is first
    assert window.has_room
    window.register(SubmitSm(), 0.0, 10.0)
    assert not window.has_room


def test_requests_that_take_no_slot_go_out_when_the_window_is_full() -> None:
    window = Window(1)
    fill(window, 1)
    control = window.register(EnquireLink(), 0.0, 10.0, takes_slot=False)
    assert control.sequence_number in window
    assert window.used == 1
    assert window.resolve(control.sequence_number) is control
    assert window.used == 1


# --- numbering and matching -------------------------------------------------------


def test_register_numbers_the_pdu_before_its_bytes_exist() -> None:
    window = Window(10)
    pdu = SubmitSm(destination_addr="4915112345678")
    inflight = window.register(pdu, 5.0, 10.0, context="msg-1")
    assert pdu.sequence_number == inflight.sequence_number == 1
    # The bytes are made afterwards and carry the number; a response that arrives at
    # once finds its request.
    wire = encode_pdu(pdu)
    assert decode_pdu(wire).sequence_number == 1
    found = window.resolve(1, SUBMIT_SM_RESP)
    assert found is inflight
    assert (found.context, found.sent_at, found.deadline) == ("msg-1", 5.0, 15.0)


def test_responses_match_in_any_order() -> None:
    window = Window(5)
    sent = fill(window, 5)
    for inflight in [*reversed(sent[::2]), *sent[1::2]]:
        assert window.resolve(inflight.sequence_number, SUBMIT_SM_RESP) is inflight
    assert len(window) == 0
    assert window.used == 0


def test_a_response_to_an_unknown_sequence_matches_nothing() -> None:
    window = Window(5)
    fill(window, 2)
    assert window.resolve(99, SUBMIT_SM_RESP) is None
    assert window.resolve(0, SUBMIT_SM_RESP) is None
    assert len(window) == 2


def test_a_response_of_another_type_does_not_take_the_request() -> None:
    window = Window(5)
    (inflight,) = fill(window, 1)
    assert window.resolve(inflight.sequence_number, CommandId.query_sm_resp.value) is None
    assert inflight.sequence_number in window
    assert window.used == 1
    # generic_nack answers any request.
    nack = GenericNack.command_id
    assert window.resolve(inflight.sequence_number, nack) is inflight


def test_a_request_is_answered_only_once() -> None:
    window = Window(5)
    (inflight,) = fill(window, 1)
    assert window.resolve(inflight.sequence_number) is inflight
    assert window.resolve(inflight.sequence_number) is None
    assert window.used == 0


def test_sequence_numbers_start_at_one_and_count_up() -> None:
    window = Window(5)
    assert [i.sequence_number for i in fill(window, 5)] == [1, 2, 3, 4, 5]


def test_sequence_wraps_to_one_after_the_maximum() -> None:
    window = Window(10, first_sequence=MAX_SEQUENCE - 1)
    numbers = [i.sequence_number for i in fill(window, 4)]
    assert numbers == [MAX_SEQUENCE - 1, MAX_SEQUENCE, 1, 2]


def test_the_wrap_skips_numbers_still_in_flight() -> None:
    window = Window(10)
    old = fill(window, 3)  # 1, 2, 3 stay outstanding
    window.resolve(old[1].sequence_number)  # 2 is free again
    window.allocator = SequenceAllocator(window._pending, MAX_SEQUENCE)
    numbers = [i.sequence_number for i in fill(window, 3)]
    assert numbers == [MAX_SEQUENCE, 2, 4]


def test_the_allocator_refuses_a_first_number_out_of_range() -> None:
    with pytest.raises(ValueError):
        SequenceAllocator(set(), 0)
    with pytest.raises(ValueError):
        SequenceAllocator(set(), MAX_SEQUENCE + 1)


def test_the_allocator_skips_a_run_of_numbers_in_use() -> None:
    allocator = SequenceAllocator({5, 6, 7, MAX_SEQUENCE, 1}, 5)
    assert allocator.allocate() == 8
    allocator = SequenceAllocator({MAX_SEQUENCE, 1, 2}, MAX_SEQUENCE)
    assert allocator.allocate() == 3
    assert allocator.allocate() == 4


class WrappingWindow(RuleBasedStateMachine):
    """Near the top of the range: numbers stay in 1..MAX, unique among those in flight,
    and each is the first free one after the previous (wrapping to 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.window = Window(8)
        self.outstanding: dict[int, InFlight] = {}
        self.last = 0

    @initialize(start=st.integers(MAX_SEQUENCE - 12, MAX_SEQUENCE))
    def start_near_the_top(self, start: int) -> None:
        self.window = Window(8, first_sequence=start)
        self.last = start - 1

    @precondition(lambda self: self.window.has_room)
    @rule()
    def register(self) -> None:
        inflight = self.window.register(SubmitSm(), 0.0, 10.0)
        seq = inflight.sequence_number
        assert 1 <= seq <= MAX_SEQUENCE
        assert seq not in self.outstanding
        expected = self.last
        while True:
            expected = expected + 1 if expected < MAX_SEQUENCE else 1
            if expected not in self.outstanding:
                break
        assert seq == expected
        self.outstanding[seq] = inflight
        self.last = seq

    @precondition(lambda self: self.outstanding)
    @rule(data=st.data())
    def respond(self, data: st.DataObject) -> None:
        seq = data.draw(st.sampled_from(sorted(self.outstanding)))
        assert self.window.resolve(seq, SUBMIT_SM_RESP) is self.outstanding.pop(seq)

    @invariant()
    def slots_match_the_outstanding_requests(self) -> None:
        assert self.window.used == len(self.outstanding) == len(self.window)
        assert self.window.has_room == (len(self.outstanding) < 8)


TestWrappingWindow = WrappingWindow.TestCase
TestWrappingWindow.settings = settings(max_examples=100, stateful_step_count=80)


# --- deadlines ----------------------------------------------------------------------


def test_a_request_expires_exactly_at_its_deadline_and_frees_its_slot() -> None:
    window = Window(1)
    (inflight,) = fill(window, 1, now=100.0, timeout=30.0)
    assert window.expire(129.999) == []
    assert not window.has_room
    assert window.expire(130.0) == [inflight]
    assert window.has_room
    assert inflight.sequence_number not in window
    assert window.resolve(inflight.sequence_number, SUBMIT_SM_RESP) is None  # a late answer


def test_expire_returns_only_the_overdue_ones_earliest_first() -> None:
    window = Window(10)
    late = window.register(SubmitSm(), 0.0, 30.0)
    early = window.register(SubmitSm(), 0.0, 10.0)
    middle = window.register(QuerySm(), 0.0, 20.0)
    keep = window.register(SubmitSm(), 0.0, 60.0)
    assert window.expire(35.0) == [early, middle, late]
    assert window.expire(35.0) == []
    assert list(window.drain()) == [keep]


def test_an_answered_request_never_expires() -> None:
    window = Window(10)
    answered, pending = fill(window, 2)
    window.resolve(answered.sequence_number)
    assert window.next_deadline() == 10.0
    assert window.expire(1000.0) == [pending]
    assert window.next_deadline() is None


def test_a_reused_number_does_not_inherit_the_old_requests_deadline() -> None:
    window = Window(10)
    old = window.register(SubmitSm(), 0.0, 5.0)
    window.resolve(old.sequence_number)
    # The counter comes round to the same number (as after a wrap) while the old
    # request's heap entry is still there.
    window.allocator = SequenceAllocator(window._pending, old.sequence_number)
    new = window.register(SubmitSm(), 0.0, 50.0)
    assert new.sequence_number == old.sequence_number
    assert window.expire(10.0) == []
    assert window.get(new.sequence_number) is new
    assert window.next_deadline() == 50.0
    # Equal deadline and number, stale and live side by side, still order in the heap.
    window.resolve(new.sequence_number)
    window.allocator = SequenceAllocator(window._pending, old.sequence_number)
    again = window.register(SubmitSm(), 0.0, 50.0)
    assert window.expire(50.0) == [again]


def test_next_deadline_skips_answered_requests() -> None:
    window = Window(10)
    first = window.register(SubmitSm(), 0.0, 5.0)
    window.register(SubmitSm(), 0.0, 7.0)
    assert window.next_deadline() == 5.0
    window.resolve(first.sequence_number)
    assert window.next_deadline() == 7.0


def test_drain_returns_everything_in_flight_oldest_first() -> None:
    window = Window(10)
    sent = fill(window, 4)
    control = window.register(EnquireLink(), 0.0, 10.0, takes_slot=False)
    window.resolve(sent[2].sequence_number)
    assert window.drain() == [sent[0], sent[1], sent[3], control]
    assert len(window) == 0
    assert window.used == 0
    assert window.next_deadline() is None
    assert window.expire(1e9) == []


def test_the_deadline_entries_stay_few_under_steady_traffic() -> None:
    window = Window(10)
    for i in range(20_000):
        # Timeouts that go up and down put entries in both the FIFO and the heap.
        inflight = window.register(SubmitSm(), float(i), 30.0 if i % 3 else 5.0)
        window.resolve(inflight.sequence_number, SubmitSmResp.command_id)
    assert len(window._fifo) + len(window._heap) <= 2 * len(window) + 65


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["register", "resolve", "expire"]),
            st.floats(0.0, 50.0, allow_nan=False),
            st.integers(0, 40),
        ),
        max_size=120,
    )
)
def test_expire_agrees_with_a_plain_model(ops: list[tuple[str, float, int]]) -> None:
    window = Window(16)
    model: dict[int, float] = {}
    now = 0.0
    for op, amount, pick in ops:
        if op == "register":
            if not window.has_room:
                with pytest.raises(WindowFull):
                    window.register(SubmitSm(), now, amount)
                continue
            inflight = window.register(SubmitSm(), now, amount)
            model[inflight.sequence_number] = now + amount
        elif op == "resolve":
            if model:
                seq = sorted(model)[pick % len(model)]
                assert window.resolve(seq) is not None
                del model[seq]
        else:
            now += amount
            due = {seq for seq, deadline in model.items() if deadline <= now}
            expired = window.expire(now)
            assert {i.sequence_number for i in expired} == due
            deadlines = [i.deadline for i in expired]
            assert deadlines == sorted(deadlines)
            for seq in due:
                del model[seq]
        assert window.used == len(model)
        assert window.next_deadline() == (min(model.values()) if model else None)
