"""The bind's reading of its session's events, without a socket, trio or a clock.

Each test hands :class:`Triage` events as the session makes them and checks a
row of the module's table: what became of each request, what the answer means
for the rate, and what is passed on to the bind in order.
"""

from __future__ import annotations

import math

import pytest

from smpp_engine.esme import Outcome, UnknownReason
from smpp_engine.esme.triage import Pause, Triage
from smpp_engine.protocol import (
    BindTransceiver,
    Bound,
    CommandStatus,
    ConnectionClosed,
    DataSm,
    DataSmResp,
    DeliverSm,
    EnquireLink,
    Event,
    GenericNack,
    LinkDead,
    PduError,
    ProtocolError,
    RequestAbandoned,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    SessionState,
    SubmitSm,
    SubmitSmResp,
    Tag,
)
from smpp_engine.protocol.window import InFlight
from throttling import Unlimited

S = CommandStatus
T0 = 1000.0
SUBMIT = SubmitSm(destination_addr="447700900123", short_message=b"hi")


class Waiter:
    """A context the bind answers one by one (Bind.submit's)."""


class Controller:
    """A rate controller that records what it is told; pauses 4 s per throttle answer."""

    def __init__(self) -> None:
        self.accepted_at: list[float] = []
        self.throttled_by: list[tuple[int, float]] = []

    def acquire(self, segments: int, now: float) -> float:
        return 0.0

    def throttled(self, status: int, now: float) -> float:
        self.throttled_by.append((status, now))
        return 4.0

    def accepted(self, now: float) -> None:
        self.accepted_at.append(now)


class CongestionController(Controller):
    """Pauses 7 s for a congestion_state of 90 or more; 101 and above are reserved."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[int] = []

    def congestion(self, state: int, now: float) -> float:
        if state > 100:
            raise ValueError(f"congestion_state must be 0-100, got {state}")
        self.reports.append(state)
        return 7.0 if state >= 90 else 0.0


def sent(context: object = None, sequence: int = 1, *, pdu: object = SUBMIT) -> InFlight:
    """A request of ours in flight since T0 - 0.25."""
    takes_slot = not isinstance(pdu, BindTransceiver | EnquireLink)
    return InFlight(pdu, sequence, T0 - 0.25, T0 + 30.0, context, takes_slot)  # type: ignore[arg-type]


def answer(request: InFlight, status: int = 0, **fields: object) -> ResponseReceived:
    response = SubmitSmResp(
        sequence_number=request.sequence_number,
        command_status=status,
        **fields,  # type: ignore[arg-type]
    )
    return ResponseReceived(request, response)


def triage(controller: Controller | None = None) -> Triage:
    return Triage("b1", controller or Controller(), Waiter)


def test_an_accepted_answer_is_an_outcome_with_the_message_id_and_its_latency() -> None:
    controller = Controller()
    reader = triage(controller)
    request = sent("m1")
    (outcome,) = reader.sort([answer(request, message_id="abc")], T0, -math.inf)
    assert outcome.outcome is Outcome.ACCEPTED
    assert (outcome.context, outcome.request, outcome.bind) == ("m1", SUBMIT, "b1")
    assert (outcome.message_id, outcome.command_status, outcome.reason) == ("abc", 0, None)
    assert (reader.ok, reader.ok_submit_resps, reader.rejected, reader.unknown) == (1, 1, 0, 0)
    assert reader.latencies == [0.25]
    assert controller.accepted_at == [T0]
    # Counted in bulk: nothing for the bind to look at one by one.
    assert not reader.eventful
    assert reader.noted == []


def test_another_answer_ok_is_accepted_and_counted_one_by_one() -> None:
    reader = triage()
    request = sent("q", pdu=DataSm(destination_addr="447700900123"))
    event = ResponseReceived(request, DataSmResp(sequence_number=1, message_id="d1"))
    (outcome,) = reader.sort([event], T0, -math.inf)
    assert outcome.accepted and outcome.message_id == "d1"
    assert (reader.ok, reader.ok_submit_resps) == (1, 0)
    assert reader.noted == [event]


@pytest.mark.parametrize(
    "response",
    [
        SubmitSmResp(sequence_number=1, command_status=S.ESME_RINVDSTADR),
        GenericNack(sequence_number=1, command_status=S.ESME_RINVCMDID),
        # A generic_nack is never an acceptance, whatever its status says.
        GenericNack(sequence_number=1, command_status=0),
    ],
    ids=["submit_sm_resp", "generic_nack", "generic_nack-ok"],
)
def test_any_other_answer_is_rejected_with_its_status(response: SubmitSmResp) -> None:
    controller = Controller()
    reader = triage(controller)
    event = ResponseReceived(sent("m1"), response)
    (outcome,) = reader.sort([event], T0, -math.inf)
    assert outcome.outcome is Outcome.REJECTED
    assert (outcome.context, outcome.command_status, outcome.message_id) == (
        "m1",
        response.command_status,
        None,
    )
    assert (reader.ok, reader.rejected) == (0, 1)
    assert reader.latencies == [] and controller.accepted_at == []
    assert reader.noted == [event]
    assert reader.throttles == [] and reader.pauses == []


@pytest.mark.parametrize("status", [S.ESME_RTHROTTLED, S.ESME_RMSGQFUL])
def test_a_throttling_episode_is_one_pause_each_answer_counted(status: int) -> None:
    controller = Controller()
    reader = triage(controller)
    answers = [answer(sent(n, n), status) for n in (1, 2, 3)]
    outcomes = reader.sort(answers, T0, -math.inf)
    assert [o.context for o in outcomes] == [1, 2, 3]
    assert all(o.rejected and o.throttled for o in outcomes)
    assert reader.throttles == [status] * 3
    assert reader.pauses == [Pause("throttled", status, 4.0)]
    assert reader.paused_until == T0 + 4.0
    assert controller.throttled_by == [(status, T0)]
    # During the pause, late answers of the same episode do not stretch it.
    reader.sort([answer(sent(4, 4), status)], T0 + 1.0, T0 + 4.0)
    assert reader.throttles == [status] and reader.pauses == []
    assert controller.throttled_by == [(status, T0)]
    # After it, a throttle answer begins a new episode.
    reader.sort([answer(sent(5, 5), status)], T0 + 4.0, T0 + 4.0)
    assert reader.pauses == [Pause("throttled", status, 4.0)]
    assert reader.paused_until == T0 + 8.0


@pytest.mark.parametrize(
    ("state", "reported", "pauses"),
    [
        (95, [95], [Pause("congested", 95, 7.0)]),
        (50, [50], []),  # no pause: nothing begins
        (150, [], []),  # reserved: tells nothing
    ],
)
def test_congestion_state_reaches_a_controller_that_reads_it(
    state: int, reported: list[int], pauses: list[Pause]
) -> None:
    controller = CongestionController()
    reader = triage(controller)
    event = answer(sent(), message_id="x", tlvs={Tag.congestion_state.value: state})
    (outcome,) = reader.sort([event], T0, -math.inf)
    assert outcome.accepted  # congestion is advice, not a rejection
    assert controller.reports == reported
    assert reader.pauses == pauses
    assert reader.eventful is bool(pauses)
    if pauses:
        assert reader.paused_until == T0 + 7.0


def test_congestion_never_shortens_a_pause_under_way() -> None:
    controller = CongestionController()
    reader = triage(controller)
    event = answer(sent(), message_id="x", tlvs={Tag.congestion_state.value: 99})
    reader.sort([event], T0, T0 + 20.0)
    assert controller.reports == [99]
    assert reader.pauses == []


def test_a_controller_without_congestion_support_is_not_told() -> None:
    reader = Triage("b1", Unlimited(), Waiter)
    event = answer(sent(), message_id="x", tlvs={Tag.congestion_state.value: 100})
    (outcome,) = reader.sort([event], T0, -math.inf)
    assert outcome.accepted and reader.pauses == []


@pytest.mark.parametrize(
    ("event_class", "reason"),
    [(RequestTimedOut, UnknownReason.TIMEOUT), (RequestAbandoned, UnknownReason.LINK_LOST)],
)
def test_a_request_without_an_answer_is_unknown(
    event_class: type[RequestTimedOut | RequestAbandoned], reason: UnknownReason
) -> None:
    reader = triage()
    (outcome,) = reader.sort([event_class(sent("m1"))], T0, -math.inf)
    assert outcome.outcome is Outcome.UNKNOWN
    assert (outcome.context, outcome.reason, outcome.command_status) == ("m1", reason, None)
    assert reader.unknown == 1
    assert not reader.eventful


def test_an_undecodable_answer_is_unknown_and_noted() -> None:
    reader = triage()
    error = ProtocolError(PduError("short_message: too long", status=S.ESME_RINVMSGLEN), sent("m1"))
    (outcome,) = reader.sort([error], T0, -math.inf)
    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.reason is UnknownReason.UNDECODABLE_RESPONSE
    assert reader.unknown == 1
    assert reader.noted == [error]  # the bind logs it


@pytest.mark.parametrize(
    "pdu",
    [BindTransceiver(system_id="x", password="y"), EnquireLink()],
    ids=["bind", "enquire_link"],
)
def test_session_requests_end_in_no_outcome(pdu: object) -> None:
    reader = triage()
    request = sent(pdu=pdu)
    error = ProtocolError(PduError("bad", status=S.ESME_RINVCMDLEN), request)
    events: list[Event] = [RequestTimedOut(request), RequestAbandoned(request), error]
    assert reader.sort(events, T0, -math.inf) == []
    assert reader.unknown == 0
    assert reader.noted == [error]  # logged all the same


def test_outcomes_for_waiters_are_kept_apart_from_the_batch() -> None:
    reader = triage()
    waiter = Waiter()
    batch = reader.sort(
        [answer(sent("m1", 1), message_id="a"), answer(sent(waiter, 2), message_id="b")],
        T0,
        -math.inf,
    )
    assert [o.context for o in batch] == ["m1"]
    (answered,) = reader.answered
    assert answered.context is waiter and answered.message_id == "b"
    assert reader.eventful


def test_everything_else_is_passed_on_in_arrival_order() -> None:
    """A deliver_sm read just before the link closed must reach the bind before the close."""
    reader = triage()
    deliver = RequestReceived(DeliverSm(sequence_number=7, short_message=b"MO"))
    events: list[Event] = [
        Bound(SessionState.BOUND_TRX, "SMSC"),
        answer(sent("m1", 1), message_id="a"),
        deliver,
        LinkDead("no answer to enquire_link"),
        RequestAbandoned(sent("m2", 2)),
        ConnectionClosed(),
    ]
    outcomes = reader.sort(events, T0, -math.inf)
    assert [(o.context, o.outcome) for o in outcomes] == [
        ("m1", Outcome.ACCEPTED),
        ("m2", Outcome.UNKNOWN),
    ]
    assert reader.noted == [events[0], deliver, events[3], events[5]]


def test_each_sort_says_only_what_its_own_events_came_to() -> None:
    reader = triage()
    waiter = Waiter()
    reader.sort(
        [
            answer(sent(waiter, 1), S.ESME_RTHROTTLED),
            answer(sent("m2", 2), message_id="b"),
            ConnectionClosed(),
        ],
        T0,
        -math.inf,
    )
    assert reader.eventful
    assert reader.sort([], T0 + 9.0, T0 + 4.0) == []
    assert (reader.ok, reader.ok_submit_resps, reader.rejected, reader.unknown) == (0, 0, 0, 0)
    assert reader.latencies == [] and reader.throttles == [] and reader.pauses == []
    assert reader.noted == [] and reader.answered == []
    assert not reader.eventful
