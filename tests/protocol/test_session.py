"""The session state machine: an ESME and an SMSC session wired back to back in memory.

Bytes between them are the real codec's; where a misbehaving peer is needed, its
bytes are built by hand. Time is injected: T0 and offsets from it.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.protocol import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    PduStream,
    QuerySm,
    ReplaceSm,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode_pdu,
)
from smpp_engine.protocol.session import (
    BindFailed,
    Bound,
    CommandNotAllowedError,
    ConnectionClosed,
    Event,
    LinkDead,
    PeerUnbound,
    ProtocolError,
    RequestAbandoned,
    RequestReceived,
    RequestRejected,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionError,
    SessionState,
    Unbound,
    UnexpectedResponse,
)
from smpp_engine.protocol.window import WindowFull

T0 = 1000.0
TIMEOUT = 10.0
INTERVAL = 30.0
S = CommandStatus
State = SessionState

BINDS: dict[type[Pdu], SessionState] = {
    BindTransmitter: State.BOUND_TX,
    BindReceiver: State.BOUND_RX,
    BindTransceiver: State.BOUND_TRX,
}


# --- helpers ------------------------------------------------------------------------


def session(role: Role, **kwargs: object) -> Session:
    options: dict[str, object] = {
        "window_size": 10,
        "response_timeout": TIMEOUT,
        "enquire_link_interval": INTERVAL,
    }
    options.update(kwargs)
    return Session(role, now=T0, **options)  # type: ignore[arg-type]


def pair(**kwargs: object) -> tuple[Session, Session]:
    return session(Role.ESME, **kwargs), session(Role.SMSC, **kwargs)


def transfer(src: Session, dst: Session, now: float = T0) -> bytes:
    """Move what ``src`` queued into ``dst``; return the bytes."""
    data = src.data_to_send()
    if data:
        dst.receive_data(data, now)
    return data


def decode_all(data: bytes) -> list[Pdu]:
    stream = PduStream()
    stream.feed(data)
    return stream.pdus()


def sent(src: Session) -> list[Pdu]:
    """Decode (and consume) what ``src`` queued."""
    return decode_all(src.data_to_send())


def raw(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def bind(
    esme: Session,
    smsc: Session,
    cls: type[Pdu] = BindTransceiver,
    status: int = 0,
    now: float = T0,
) -> tuple[list[Event], list[Event]]:
    """Run a bind; return the ESME's and the SMSC's events after it."""
    esme.send_request(cls(system_id="utility", password="secret"), now)  # type: ignore[call-arg]
    transfer(esme, smsc, now)
    (request,) = smsc.events()
    assert isinstance(request, RequestReceived)
    assert type(request.pdu) is cls
    smsc.respond(request.pdu, status, system_id="SMSC01")
    transfer(smsc, esme, now)
    return esme.events(), smsc.events()


def bound_pair(cls: type[Pdu] = BindTransceiver, **kwargs: object) -> tuple[Session, Session]:
    esme, smsc = pair(**kwargs)
    bind(esme, smsc, cls)
    return esme, smsc


def submit(esme: Session, now: float = T0, **fields: object) -> SubmitSm:
    pdu = SubmitSm(destination_addr="4915112345678", short_message=b"hi", **fields)  # type: ignore[arg-type]
    esme.send_request(pdu, now)
    return pdu


# --- binding ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(BINDS))
def test_bind_succeeds_on_both_sides(cls: type[Pdu]) -> None:
    esme, smsc = pair()
    bind_pdu = cls(system_id="utility", password="secret")  # type: ignore[call-arg]
    request = esme.send_request(bind_pdu, T0)
    assert esme.binding
    assert esme.state is State.OPEN
    transfer(esme, smsc)
    (received,) = smsc.events()
    assert isinstance(received, RequestReceived)
    assert received.pdu == bind_pdu
    assert smsc.binding
    smsc.respond(received.pdu, system_id="SMSC01")
    assert smsc.state is BINDS[cls]
    assert smsc.events() == [Bound(BINDS[cls], "utility")]
    transfer(smsc, esme)
    assert esme.state is BINDS[cls]
    assert esme.events() == [Bound(BINDS[cls], "SMSC01", request)]
    assert not esme.binding
    assert not smsc.binding
    assert len(esme.window) == 0


@pytest.mark.parametrize("cls", list(BINDS))
def test_bind_refused_with_rinvpaswd_leaves_both_sides_open(cls: type[Pdu]) -> None:
    esme, smsc = pair()
    esme.send_request(cls(system_id="utility", password="wrong"), T0)  # type: ignore[call-arg]
    transfer(esme, smsc)
    (received,) = smsc.events()
    assert isinstance(received, RequestReceived)
    smsc.respond(received.pdu, S.ESME_RINVPASWD)
    assert smsc.state is State.OPEN
    assert smsc.events() == []
    wire = transfer(smsc, esme)
    assert len(wire) == 16  # an error bind_resp has no body
    (failed,) = esme.events()
    assert isinstance(failed, BindFailed)
    assert failed.status == S.ESME_RINVPASWD
    assert failed.request.pdu is not None
    assert type(failed.response) is cls.RESPONSE
    assert esme.state is State.OPEN
    assert not esme.binding
    assert not smsc.binding
    # Neither side may now exchange messages...
    with pytest.raises(CommandNotAllowedError):
        submit(esme)
    # ...and the ESME may try again on the same connection.
    esme_events, _ = bind(esme, smsc, cls)
    assert esme_events[0] == Bound(BINDS[cls], "SMSC01", esme_events[0].request)  # type: ignore[attr-defined]


def test_bind_refused_by_generic_nack_fails_the_bind() -> None:
    esme, _ = pair()
    request = esme.send_request(BindTransmitter(system_id="utility"), T0)
    esme.receive_data(
        raw(GenericNack.command_id, request.sequence_number, status=S.ESME_RSYSERR), T0
    )
    (failed,) = esme.events()
    assert isinstance(failed, BindFailed)
    assert failed.status == S.ESME_RSYSERR
    assert esme.state is State.OPEN


def test_nothing_but_keepalives_while_a_bind_is_pending() -> None:
    esme, _ = pair()
    esme.send_request(BindTransmitter(system_id="utility"), T0)
    with pytest.raises(CommandNotAllowedError, match="bind is awaiting"):
        esme.send_request(BindReceiver(system_id="utility"), T0)
    esme.send_request(EnquireLink(), T0)


def test_an_smsc_cannot_answer_a_bind_nobody_sent() -> None:
    _, smsc = pair()
    with pytest.raises(CommandNotAllowedError):
        smsc.send_response(BindTransmitterResp(sequence_number=7, system_id="SMSC01"))
    assert smsc.state is State.OPEN
    assert smsc.data_to_send() == b""


def test_an_smsc_cannot_answer_a_bind_with_the_wrong_response_type() -> None:
    esme, smsc = pair()
    request = esme.send_request(BindTransmitter(system_id="utility"), T0)
    transfer(esme, smsc)
    with pytest.raises(CommandNotAllowedError):
        smsc.send_response(BindReceiverResp(sequence_number=request.sequence_number))
    assert smsc.state is State.OPEN


def test_a_second_bind_while_one_is_pending_is_refused() -> None:
    esme, smsc = pair()
    esme.send_request(BindTransmitter(system_id="utility"), T0)
    transfer(esme, smsc)
    smsc.events()
    smsc.receive_data(encode_pdu(BindReceiver(sequence_number=9, system_id="x")), T0)
    (reply,) = sent(smsc)
    assert isinstance(reply, BindReceiverResp)
    assert (reply.sequence_number, reply.command_status) == (9, S.ESME_RINVBNDSTS)


def test_a_bind_on_a_bound_session_is_answered_ralybnd() -> None:
    esme, smsc = bound_pair(BindTransmitter)
    smsc.receive_data(encode_pdu(BindTransmitter(sequence_number=42, system_id="x")), T0)
    (reply,) = sent(smsc)
    assert isinstance(reply, BindTransmitterResp)
    assert (reply.sequence_number, reply.command_status) == (42, S.ESME_RALYBND)
    assert smsc.state is State.BOUND_TX
    assert smsc.events() == [
        RequestRejected(BindTransmitter(sequence_number=42, system_id="x"), S.ESME_RALYBND)
    ]
    with pytest.raises(CommandNotAllowedError):
        esme.send_request(BindTransmitter(), T0)


def test_outbind_leads_to_a_receiver_bind() -> None:
    esme, smsc = pair()
    smsc.send_request(Outbind(system_id="SMSC01", password="pw"), T0)
    assert smsc.state is State.OUTBOUND
    assert len(smsc.window) == 0  # outbind has no response
    transfer(smsc, esme)
    (received,) = esme.events()
    assert isinstance(received, RequestReceived)
    assert isinstance(received.pdu, Outbind)
    assert esme.state is State.OUTBOUND
    bind(esme, smsc, BindReceiver)
    assert esme.state is smsc.state is State.BOUND_RX


def test_a_bind_that_gets_no_answer_times_out_and_kills_the_link() -> None:
    esme, _ = pair()
    request = esme.send_request(BindTransmitter(system_id="utility"), T0)
    assert esme.next_timer() == T0 + TIMEOUT
    esme.poll(T0 + TIMEOUT)
    events = esme.events()
    assert events[0] == RequestTimedOut(request)
    assert isinstance(events[1], LinkDead)
    assert events[-1] == ConnectionClosed()
    assert esme.state is State.CLOSED


# --- what may be sent in which state, and by whom ----------------------------------


def test_submit_sm_before_bind_is_refused_locally_naming_state_and_command() -> None:
    esme, _ = pair()
    with pytest.raises(
        CommandNotAllowedError, match=r"ESME may not send submit_sm in state OPEN"
    ) as info:
        submit(esme)
    assert info.value.state is State.OPEN
    assert info.value.command_id == CommandId.submit_sm
    assert len(esme.window) == 0
    assert esme.data_to_send() == b""


def test_submit_sm_before_bind_is_answered_rinvbndsts() -> None:
    _, smsc = pair()
    smsc.receive_data(encode_pdu(SubmitSm(sequence_number=5, destination_addr="1")), T0)
    (reply,) = sent(smsc)
    assert isinstance(reply, SubmitSmResp)
    assert (reply.sequence_number, reply.command_status) == (5, S.ESME_RINVBNDSTS)
    (event,) = smsc.events()
    assert isinstance(event, RequestRejected)
    assert event.status == S.ESME_RINVBNDSTS


def test_submit_sm_from_a_receiver_is_refused_both_ways() -> None:
    esme, smsc = bound_pair(BindReceiver)
    with pytest.raises(CommandNotAllowedError):
        submit(esme)
    smsc.receive_data(encode_pdu(SubmitSm(sequence_number=8)), T0)
    (reply,) = sent(smsc)
    assert isinstance(reply, SubmitSmResp)
    assert (reply.sequence_number, reply.command_status) == (8, S.ESME_RINVBNDSTS)
    assert smsc.state is State.BOUND_RX  # the session goes on


def test_deliver_sm_to_a_transmitter_is_refused_both_ways() -> None:
    esme, smsc = bound_pair(BindTransmitter)
    with pytest.raises(CommandNotAllowedError):
        smsc.send_request(DeliverSm(), T0)
    esme.receive_data(encode_pdu(DeliverSm(sequence_number=3)), T0)
    (reply,) = sent(esme)
    assert isinstance(reply, DeliverSmResp)
    assert (reply.sequence_number, reply.command_status) == (3, S.ESME_RINVBNDSTS)
    assert [type(e) for e in esme.events()] == [RequestRejected]
    assert esme.state is State.BOUND_TX


def test_a_request_with_no_response_type_is_refused_with_generic_nack() -> None:
    _, smsc = bound_pair(BindTransceiver)
    # An ESME may not send alert_notification.
    smsc.receive_data(encode_pdu(AlertNotification(sequence_number=4)), T0)
    (reply,) = sent(smsc)
    assert isinstance(reply, GenericNack)
    assert (reply.sequence_number, reply.command_status) == (4, S.ESME_RINVBNDSTS)


@pytest.mark.parametrize(
    ("role", "state_cls", "command", "allowed"),
    [
        (Role.ESME, BindTransmitter, CommandId.submit_sm, True),
        (Role.ESME, BindTransceiver, CommandId.submit_sm, True),
        (Role.ESME, BindReceiver, CommandId.submit_sm, False),
        (Role.ESME, BindTransceiver, CommandId.replace_sm, True),
        (Role.ESME, BindReceiver, CommandId.deliver_sm_resp, True),
        (Role.ESME, BindTransmitter, CommandId.deliver_sm_resp, False),
        (Role.ESME, BindTransmitter, CommandId.data_sm, True),
        (Role.ESME, BindReceiver, CommandId.data_sm, False),
        (Role.ESME, BindReceiver, CommandId.data_sm_resp, True),
        (Role.SMSC, BindReceiver, CommandId.deliver_sm, True),
        (Role.SMSC, BindTransmitter, CommandId.deliver_sm, False),
        (Role.SMSC, BindReceiver, CommandId.data_sm, True),
        (Role.SMSC, BindTransmitter, CommandId.data_sm, False),
        (Role.SMSC, BindTransmitter, CommandId.submit_sm_resp, True),
        (Role.SMSC, BindTransceiver, CommandId.submit_sm, False),
        (Role.SMSC, BindTransceiver, CommandId.alert_notification, True),
        (Role.SMSC, BindTransmitter, CommandId.alert_notification, False),
        (Role.ESME, BindTransceiver, CommandId.unbind, True),
        (Role.SMSC, BindTransceiver, CommandId.unbind, True),
        (Role.ESME, BindTransceiver, CommandId.bind_transmitter, False),
    ],
)
def test_operation_matrix(
    role: Role, state_cls: type[Pdu], command: CommandId, allowed: bool
) -> None:
    esme, smsc = bound_pair(state_cls)
    assert (esme if role is Role.ESME else smsc).may_send(command) is allowed


def test_data_sm_flows_both_ways_on_a_transceiver() -> None:
    esme, smsc = bound_pair(BindTransceiver)
    mo = smsc.send_request(DataSm(source_addr="4915112345678"), T0)
    esme.send_request(DataSm(destination_addr="4915112345678"), T0)
    transfer(smsc, esme)
    transfer(esme, smsc)
    (at_esme,) = esme.events()
    (at_smsc,) = smsc.events()
    assert isinstance(at_esme, RequestReceived)
    assert isinstance(at_smsc, RequestReceived)
    esme.respond(at_esme.pdu)
    transfer(esme, smsc)
    (answered,) = smsc.events()
    assert isinstance(answered, ResponseReceived)
    assert answered.request is mo


def test_alert_notification_has_no_response_and_takes_no_slot() -> None:
    esme, smsc = bound_pair(BindReceiver)
    smsc.send_request(AlertNotification(source_addr="1", esme_addr="2"), T0)
    assert len(smsc.window) == 0
    transfer(smsc, esme)
    (event,) = esme.events()
    assert isinstance(event, RequestReceived)
    with pytest.raises(SessionError, match="no response"):
        esme.respond(event.pdu)


def test_a_pdu_that_cannot_be_encoded_leaves_nothing_behind() -> None:
    esme, _ = bound_pair()
    with pytest.raises(ValueError, match="source_addr"):
        submit(esme, source_addr="x" * 30)
    assert len(esme.window) == 0
    assert esme.window.used == 0
    assert esme.data_to_send() == b""


# --- requests, responses and the window ----------------------------------------------


def test_a_response_fed_at_once_finds_its_request() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    # The peer's answer arrives before the I/O layer even took the bytes.
    esme.receive_data(
        encode_pdu(SubmitSmResp(sequence_number=pdu.sequence_number, message_id="a1")), T0
    )
    (event,) = esme.events()
    assert isinstance(event, ResponseReceived)
    assert event.request.pdu is pdu
    assert event.response == SubmitSmResp(sequence_number=pdu.sequence_number, message_id="a1")
    assert decode_all(esme.data_to_send()) == [pdu]


def test_responses_out_of_order_each_find_their_request() -> None:
    esme, smsc = bound_pair()
    requests = [
        esme.send_request(SubmitSm(short_message=bytes([i])), T0, context=i) for i in range(5)
    ]
    transfer(esme, smsc)
    received = smsc.events()
    assert len(received) == 5
    for i, event in reversed(list(enumerate(received))):
        assert isinstance(event, RequestReceived)
        smsc.respond(event.pdu, message_id=f"m{i}")
    transfer(smsc, esme)
    events = esme.events()
    assert [e.request.context for e in events] == [4, 3, 2, 1, 0]  # type: ignore[attr-defined]
    for event in events:
        assert isinstance(event, ResponseReceived)
        assert event.response.message_id == f"m{event.request.context}"  # type: ignore[attr-defined]
        assert event.request is requests[event.request.context]
    assert len(esme.window) == 0


def test_a_response_to_an_unknown_sequence_is_reported_and_ignored() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    stray = SubmitSmResp(sequence_number=pdu.sequence_number + 100, message_id="zz")
    esme.receive_data(encode_pdu(stray), T0)
    assert esme.events() == [UnexpectedResponse(stray)]
    assert pdu.sequence_number in esme.window
    esme.data_to_send()
    assert esme.data_to_send() == b""  # never answered


def test_a_response_of_the_wrong_type_does_not_take_the_request() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    wrong = EnquireLinkResp(sequence_number=pdu.sequence_number)
    esme.receive_data(encode_pdu(wrong), T0)
    assert esme.events() == [UnexpectedResponse(wrong)]
    assert pdu.sequence_number in esme.window


def test_the_peers_sequence_numbers_are_a_separate_space() -> None:
    esme, _ = bound_pair()
    mine = submit(esme)
    # The SMSC's deliver_sm carries the same number as our outstanding submit_sm.
    esme.receive_data(encode_pdu(DeliverSm(sequence_number=mine.sequence_number)), T0)
    (event,) = esme.events()
    assert isinstance(event, RequestReceived)
    esme.respond(event.pdu)
    assert mine.sequence_number in esme.window
    esme.receive_data(encode_pdu(SubmitSmResp(sequence_number=mine.sequence_number)), T0)
    (answer,) = esme.events()
    assert isinstance(answer, ResponseReceived)
    assert answer.request.pdu is mine


def test_generic_nack_answers_a_request() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    esme.receive_data(raw(GenericNack.command_id, pdu.sequence_number, status=S.ESME_RSYSERR), T0)
    (event,) = esme.events()
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, GenericNack)
    assert len(esme.window) == 0


def test_a_full_window_refuses_submits() -> None:
    esme, _ = bound_pair(window_size=3)
    for _ in range(3):
        submit(esme)
    assert not esme.has_room
    with pytest.raises(WindowFull):
        submit(esme)
    assert len(decode_all(esme.data_to_send())) == 3


def test_a_request_without_answer_times_out_unknown_and_frees_its_slot() -> None:
    esme, _ = bound_pair(window_size=1)
    pdu = submit(esme, now=T0 + 1)
    assert not esme.has_room
    assert esme.next_timer() == T0 + 1 + TIMEOUT
    esme.poll(T0 + 1 + TIMEOUT - 0.001)
    assert esme.events() == []
    esme.poll(T0 + 1 + TIMEOUT)
    (event,) = esme.events()
    assert isinstance(event, RequestTimedOut)
    assert event.request.pdu is pdu
    assert esme.has_room
    # A late answer matches nothing.
    esme.receive_data(encode_pdu(SubmitSmResp(sequence_number=pdu.sequence_number)), T0 + 20)
    assert [type(e) for e in esme.events()] == [UnexpectedResponse]
    assert esme.state is State.BOUND_TRX


def test_a_per_request_timeout_overrides_the_default() -> None:
    esme, _ = bound_pair()
    esme.send_request(SubmitSm(), T0, timeout=2.0)
    assert esme.next_timer() == T0 + 2.0


# --- answered at once, even with a full window ------------------------------------------


def test_the_peers_enquire_link_is_answered_with_a_full_window() -> None:
    esme, smsc = bound_pair(window_size=2)
    submit(esme)
    submit(esme)
    transfer(esme, smsc)  # the SMSC sits on them
    smsc.events()
    assert not esme.has_room
    probe = smsc.send_request(EnquireLink(), T0)
    transfer(smsc, esme)
    assert esme.events() == []
    (reply,) = decode_all(transfer(esme, smsc))
    assert reply == EnquireLinkResp(sequence_number=probe.sequence_number)
    (event,) = smsc.events()
    assert isinstance(event, ResponseReceived)
    assert event.request is probe


def test_the_peers_unbind_is_answered_with_a_full_window() -> None:
    esme, smsc = bound_pair(window_size=2)
    outstanding = [submit(esme), submit(esme)]
    transfer(esme, smsc)
    smsc.events()
    request = smsc.unbind(T0)
    transfer(smsc, esme)
    assert esme.events() == [PeerUnbound()]
    assert esme.state is State.UNBOUND
    (reply,) = decode_all(transfer(esme, smsc))
    assert reply == UnbindResp(sequence_number=request.sequence_number)
    assert smsc.events() == [Unbound(0, request)]
    assert smsc.state is State.UNBOUND
    # Closing now gives back what the SMSC never answered.
    esme.close()
    events = esme.events()
    assert [e.request.pdu for e in events[:-1]] == outstanding  # type: ignore[attr-defined]
    assert all(isinstance(e, RequestAbandoned) for e in events[:-1])
    assert events[-1] == ConnectionClosed()


# --- unbinding ----------------------------------------------------------------------


def test_graceful_unbind_started_by_the_esme() -> None:
    esme, smsc = bound_pair()
    request = esme.unbind(T0)
    assert esme.unbinding
    assert esme.state is State.BOUND_TRX
    with pytest.raises(CommandNotAllowedError, match="unbind is under way"):
        submit(esme)
    transfer(esme, smsc)
    assert smsc.events() == [PeerUnbound()]
    assert smsc.state is State.UNBOUND
    with pytest.raises(CommandNotAllowedError):
        smsc.send_request(DeliverSm(), T0)
    transfer(smsc, esme)
    assert esme.events() == [Unbound(0, request)]
    assert esme.state is State.UNBOUND
    assert not esme.unbinding
    esme.close()
    smsc.receive_data(b"", T0)  # the ESME closed the socket: a clean end
    assert esme.events() == [ConnectionClosed()]
    assert smsc.events() == [ConnectionClosed()]
    assert esme.state is smsc.state is State.CLOSED


def test_graceful_unbind_started_by_the_smsc() -> None:
    esme, smsc = bound_pair(BindReceiver)
    request = smsc.unbind(T0)
    transfer(smsc, esme)
    assert esme.events() == [PeerUnbound()]
    transfer(esme, smsc)
    assert smsc.events() == [Unbound(0, request)]
    assert esme.state is smsc.state is State.UNBOUND


def test_requests_that_came_before_the_unbind_are_still_answered() -> None:
    esme, smsc = bound_pair()
    smsc.send_request(DeliverSm(), T0)
    smsc.unbind(T0)
    transfer(smsc, esme)
    received, unbound = esme.events()
    assert isinstance(received, RequestReceived)
    assert unbound == PeerUnbound()
    esme.respond(received.pdu)  # UNBOUND, yet the deliver_sm still gets its answer
    assert [type(p) for p in sent(esme)] == [UnbindResp, DeliverSmResp]


def test_while_unbinding_the_peers_requests_are_still_answered() -> None:
    esme, smsc = bound_pair()
    esme.unbind(T0)
    smsc.send_request(DeliverSm(), T0)
    transfer(smsc, esme)
    (received,) = esme.events()
    assert isinstance(received, RequestReceived)
    esme.respond(received.pdu)


def test_crossed_unbinds_end_unbound_on_both_sides() -> None:
    esme, smsc = bound_pair()
    mine = esme.unbind(T0)
    theirs = smsc.unbind(T0)
    transfer(esme, smsc)
    transfer(smsc, esme)
    transfer(esme, smsc)
    transfer(smsc, esme)
    assert esme.events() == [PeerUnbound(), Unbound(0, mine)]
    assert smsc.events() == [PeerUnbound(), Unbound(0, theirs)]
    assert esme.state is smsc.state is State.UNBOUND


def test_an_unanswered_unbind_closes_without_declaring_the_link_dead() -> None:
    esme, _ = bound_pair()
    request = esme.unbind(T0)
    esme.poll(T0 + TIMEOUT)
    assert esme.events() == [RequestTimedOut(request), ConnectionClosed()]
    assert esme.state is State.CLOSED


def test_unbind_is_not_allowed_before_bind() -> None:
    esme, smsc = pair()
    with pytest.raises(CommandNotAllowedError):
        esme.unbind(T0)
    smsc.receive_data(encode_pdu(Unbind(sequence_number=3)), T0)
    (reply,) = sent(smsc)
    assert reply == UnbindResp(sequence_number=3, command_status=S.ESME_RINVBNDSTS)
    assert smsc.state is State.OPEN


# --- malformed input ---------------------------------------------------------------------


def test_an_unknown_command_id_is_answered_rinvcmdid_and_the_session_goes_on() -> None:
    esme, smsc = bound_pair()
    smsc.receive_data(raw(0x00000099, 77, b"junk"), T0)
    (reply,) = sent(smsc)
    assert reply == GenericNack(sequence_number=77, command_status=S.ESME_RINVCMDID)
    (event,) = smsc.events()
    assert isinstance(event, ProtocolError)
    assert event.error.status == S.ESME_RINVCMDID
    assert smsc.state is State.BOUND_TRX
    submit(esme)
    transfer(esme, smsc)
    assert [type(e) for e in smsc.events()] == [RequestReceived]


def test_a_malformed_submit_sm_is_answered_with_the_decoders_status() -> None:
    esme, smsc = bound_pair()
    good = encode_pdu(SubmitSm(sequence_number=31, source_addr="12345", destination_addr="1"))
    body = good[16:].replace(b"12345\x00", b"1" * 25 + b"\x00", 1)
    smsc.receive_data(raw(CommandId.submit_sm, 31, body), T0)
    (reply,) = sent(smsc)
    assert reply == SubmitSmResp(sequence_number=31, command_status=S.ESME_RINVSRCADR)
    (event,) = smsc.events()
    assert isinstance(event, ProtocolError)
    assert event.error.field == "source_addr"
    assert smsc.state is State.BOUND_TRX
    # The session goes on.
    submit(esme)
    transfer(esme, smsc)
    assert [type(e) for e in smsc.events()] == [RequestReceived]


def test_a_malformed_response_to_our_request_gives_it_back_unknown() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    esme.data_to_send()
    body = b"x" * 70 + b"\x00"  # message_id longer than 64
    esme.receive_data(raw(CommandId.submit_sm_resp, pdu.sequence_number, body), T0)
    (event,) = esme.events()
    assert isinstance(event, ProtocolError)
    assert event.request is not None
    assert event.request.pdu is pdu
    assert len(esme.window) == 0
    (reply,) = sent(esme)
    assert reply == GenericNack(
        sequence_number=pdu.sequence_number, command_status=S.ESME_RINVMSGID
    )
    assert esme.state is State.BOUND_TRX


@pytest.mark.parametrize("length", [10, 1, 1024 * 1024])
def test_a_bad_command_length_is_nacked_and_closes_the_session(length: int) -> None:
    _, smsc = bound_pair()
    smsc.send_request(DeliverSm(), T0)
    pending = smsc.send_request(DeliverSm(), T0)
    smsc.data_to_send()
    smsc.receive_data(struct.pack(">IIII", length, CommandId.submit_sm, 0, 5), T0)
    assert smsc.state is State.CLOSED
    (reply,) = sent(smsc)
    assert isinstance(reply, GenericNack)
    assert reply.command_status == S.ESME_RINVCMDLEN
    assert reply.sequence_number == 5  # the whole header arrived: the nack names it
    events = smsc.events()
    assert isinstance(events[0], ProtocolError)
    assert events[0].error.framing
    assert isinstance(events[1], LinkDead)
    assert [type(e) for e in events[2:]] == [RequestAbandoned, RequestAbandoned, ConnectionClosed]
    assert events[3].request is pending  # type: ignore[attr-defined]
    # Nothing more is read, sent or accepted.
    smsc.receive_data(encode_pdu(EnquireLink(sequence_number=9)), T0)
    assert smsc.events() == []
    assert smsc.data_to_send() == b""
    with pytest.raises(CommandNotAllowedError):
        smsc.send_request(DeliverSm(), T0)


def test_generic_nack_with_sequence_zero_means_the_link_is_broken() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    esme.receive_data(raw(GenericNack.command_id, 0, status=S.ESME_RINVCMDLEN), T0)
    events = esme.events()
    assert isinstance(events[0], LinkDead)
    assert "sequence 0" in events[0].reason
    assert events[1] == RequestAbandoned(events[1].request)  # type: ignore[attr-defined]
    assert events[1].request.pdu is pdu
    assert events[2] == ConnectionClosed()
    assert esme.state is State.CLOSED
    assert esme.data_to_send() != b""  # the submit itself, never a reply to the nack
    assert esme.data_to_send() == b""


def test_pdus_before_a_framing_error_are_processed() -> None:
    _, smsc = bound_pair()
    wire = encode_pdu(EnquireLink(sequence_number=4)) + struct.pack(">I", 3)
    smsc.receive_data(wire, T0)
    replies = sent(smsc)
    assert replies[0] == EnquireLinkResp(sequence_number=4)
    assert isinstance(replies[1], GenericNack)
    assert smsc.state is State.CLOSED


# --- keep-alive ---------------------------------------------------------------------


def test_enquire_link_is_sent_after_the_idle_interval_and_only_once() -> None:
    esme, smsc = bound_pair()
    assert esme.next_timer() == T0 + INTERVAL
    esme.poll(T0 + INTERVAL - 0.5)
    assert esme.data_to_send() == b""
    esme.poll(T0 + INTERVAL)
    (probe,) = sent(esme)
    assert isinstance(probe, EnquireLink)
    assert len(esme.window) == 1
    esme.poll(T0 + INTERVAL + 1)
    esme.poll(T0 + INTERVAL + 5)
    assert esme.data_to_send() == b""  # not twice while one is outstanding
    assert esme.next_timer() == T0 + INTERVAL + TIMEOUT
    # The answer clears it, without an event for the application.
    smsc.receive_data(encode_pdu(probe), T0 + INTERVAL + 2)
    transfer(smsc, esme, T0 + INTERVAL + 2)
    assert esme.events() == []
    assert len(esme.window) == 0
    assert esme.next_timer() == T0 + INTERVAL + 2 + INTERVAL
    esme.poll(T0 + INTERVAL + 2 + INTERVAL)
    assert [type(p) for p in sent(esme)] == [EnquireLink]


def test_no_enquire_link_while_traffic_flows() -> None:
    esme, smsc = bound_pair()
    for t in range(10, 200, 10):
        smsc.send_request(DeliverSm(), T0 + t)
        transfer(smsc, esme, T0 + t)
        for event in esme.events():
            assert isinstance(event, RequestReceived)
            esme.respond(event.pdu)
        esme.poll(T0 + t + 5)
        wire = esme.data_to_send()
        assert [type(p) for p in decode_all(wire)] == [DeliverSmResp]
        smsc.receive_data(wire, T0 + t + 5)
        assert [type(e) for e in smsc.events()] == [ResponseReceived]


def test_an_unanswered_enquire_link_declares_the_link_dead() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme, now=T0 + INTERVAL - 1)
    esme.poll(T0 + INTERVAL)
    assert [type(p) for p in sent(esme)] == [SubmitSm, EnquireLink]
    esme.poll(T0 + INTERVAL + TIMEOUT - 0.1)
    assert esme.state is State.BOUND_TRX
    esme.poll(T0 + INTERVAL + TIMEOUT)
    events = esme.events()
    # The submit's own deadline (T0+39) came first; then the keep-alive's.
    assert events[0] == RequestTimedOut(events[0].request)  # type: ignore[attr-defined]
    assert events[0].request.pdu is pdu
    assert isinstance(events[1], LinkDead)
    assert "enquire_link" in events[1].reason
    assert events[2:] == [ConnectionClosed()]
    assert esme.state is State.CLOSED


def test_the_keepalive_goes_out_with_a_full_window() -> None:
    esme, _ = bound_pair(window_size=1)
    submit(esme, now=T0)
    assert not esme.has_room
    esme.poll(T0 + INTERVAL)
    assert [type(p) for p in sent(esme)] == [SubmitSm, EnquireLink]


def test_no_enquire_link_before_bind_or_when_disabled() -> None:
    esme, _ = pair()
    assert esme.next_timer() is None
    esme.poll(T0 + 10 * INTERVAL)
    assert esme.data_to_send() == b""
    quiet, _ = bound_pair(enquire_link_interval=None)
    assert quiet.next_timer() is None
    quiet.poll(T0 + 10 * INTERVAL)
    assert quiet.data_to_send() == b""


# --- closing ----------------------------------------------------------------------


def test_close_returns_every_request_in_flight_as_abandoned() -> None:
    esme, _ = bound_pair()
    requests = [esme.send_request(SubmitSm(), T0, context=i, timeout=99) for i in range(3)]
    esme.send_request(QuerySm(message_id="a"), T0, timeout=99)
    esme.send_request(ReplaceSm(message_id="a"), T0, timeout=99)
    esme.poll(T0 + INTERVAL)  # a keep-alive too: internal, not reported
    esme.close()
    events = esme.events()
    assert events[-1] == ConnectionClosed()
    abandoned = [e.request for e in events[:-1] if isinstance(e, RequestAbandoned)]
    assert len(abandoned) == len(events) - 1 == 5
    assert abandoned[:3] == requests
    assert esme.state is State.CLOSED
    assert len(esme.window) == 0
    esme.close()
    assert esme.events() == []


def test_eof_while_bound_declares_the_link_dead() -> None:
    esme, _ = bound_pair()
    pdu = submit(esme)
    esme.receive_data(b"", T0)
    events = esme.events()
    assert isinstance(events[0], LinkDead)
    assert events[1] == RequestAbandoned(events[1].request)  # type: ignore[attr-defined]
    assert events[1].request.pdu is pdu
    assert events[2] == ConnectionClosed()


def test_eof_in_the_middle_of_a_pdu_says_so() -> None:
    esme, _ = bound_pair()
    esme.receive_data(encode_pdu(EnquireLink(sequence_number=1))[:7], T0)
    esme.receive_data(b"", T0)
    dead = esme.events()[0]
    assert isinstance(dead, LinkDead)
    assert "middle of a PDU" in dead.reason


def test_events_come_one_at_a_time_too() -> None:
    esme, smsc = bound_pair()
    submit(esme)
    submit(esme)
    transfer(esme, smsc)
    first = smsc.next_event()
    second = smsc.next_event()
    assert isinstance(first, RequestReceived)
    assert isinstance(second, RequestReceived)
    assert first.pdu.sequence_number < second.pdu.sequence_number
    assert smsc.next_event() is None


def test_many_pdus_leave_in_one_buffer() -> None:
    esme, smsc = bound_pair()
    for _ in range(5):
        submit(esme)
    wire = esme.data_to_send()
    assert len(decode_all(wire)) == 5
    assert esme.data_to_send() == b""
    smsc.receive_data(wire, T0)
    assert len(smsc.events()) == 5


def test_requests_and_responses_go_through_their_own_calls() -> None:
    esme, _ = bound_pair()
    with pytest.raises(SessionError, match="use send_response"):
        esme.send_request(DeliverSmResp(sequence_number=1), T0)
    with pytest.raises(SessionError, match="use send_request"):
        esme.send_response(SubmitSm(sequence_number=1))
    assert esme.data_to_send() == b""


def test_a_bind_response_with_an_overlong_system_id_still_binds() -> None:
    esme, _ = pair()
    request = esme.send_request(BindTransmitter(system_id="utility"), T0)
    esme.data_to_send()
    body = b"S" * 40 + b"\x00"  # beyond the spec's 15, as some SMSCs send
    esme.receive_data(raw(CommandId.bind_transmitter_resp, request.sequence_number, body), T0)
    (event,) = esme.events()
    assert isinstance(event, Bound)
    assert event.system_id == "S" * 40
    assert esme.state is State.BOUND_TX


def test_an_undecodable_bind_response_kills_the_link() -> None:
    esme, _ = pair()
    request = esme.send_request(BindTransmitter(system_id="utility"), T0)
    esme.data_to_send()
    body = b"S" * 80 + b"\x00"  # longer even than the 64 tolerated from real SMSCs
    esme.receive_data(raw(CommandId.bind_transmitter_resp, request.sequence_number, body), T0)
    events = esme.events()
    assert isinstance(events[0], ProtocolError)
    assert events[0].request is request
    assert isinstance(events[1], LinkDead)
    assert events[2:] == [ConnectionClosed()]
    assert esme.state is State.CLOSED


@settings(max_examples=300)
@given(
    st.sampled_from([Role.ESME, Role.SMSC]),
    st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.builds(
                raw,
                st.sampled_from([int(c) for c in CommandId] + [0x99, 0x80000099]),
                st.integers(0, 5),
                st.binary(max_size=40),
                st.integers(0, 0x10),
            ),
        ),
        max_size=8,
    ),
)
def test_any_bytes_from_the_peer_give_events_never_exceptions(
    role: Role, chunks: list[bytes]
) -> None:
    esme, smsc = bound_pair()
    submit(esme)
    target = esme if role is Role.ESME else smsc
    target.data_to_send()
    for i, chunk in enumerate(chunks):
        target.receive_data(chunk, T0 + i)
        target.poll(T0 + i)
    target.receive_data(b"", T0 + 100)
    events = target.events()
    assert events[-1] == ConnectionClosed()
    assert target.state is State.CLOSED
    # Whatever the session answered is itself well-formed.
    for pdu in decode_all(target.data_to_send()):
        assert pdu.is_response or isinstance(pdu, EnquireLink)


# --- answers and requests sent as octets ---------------------------------------------


@pytest.mark.parametrize("status", [0, S.ESME_RSYSERR])
@pytest.mark.parametrize(
    "request_",
    [
        DeliverSm(sequence_number=7, source_addr="1"),
        DataSm(sequence_number=8, source_addr="1"),
        EnquireLink(sequence_number=9),
        QuerySm(sequence_number=10, message_id="1"),
    ],
    ids=lambda pdu: pdu.command_name,
)
def test_acknowledge_sends_what_respond_sends(request_: Pdu, status: int) -> None:
    side = 1 if isinstance(request_, QuerySm) else 0  # the SMSC answers query_sm
    by_respond, by_acknowledge = bound_pair()[side], bound_pair()[side]
    by_respond.respond(request_, status)
    by_acknowledge.acknowledge(request_, status)
    assert by_acknowledge.data_to_send() == by_respond.data_to_send()


def test_acknowledge_refuses_what_respond_refuses() -> None:
    smsc = bound_pair(BindTransmitter)[1]
    with pytest.raises(CommandNotAllowedError):  # an SMSC never answers deliver_sm
        smsc.acknowledge(DeliverSm(sequence_number=3), 0)
    assert smsc.data_to_send() == b""


def test_a_request_sent_as_octets_is_numbered_and_answered_like_any() -> None:
    esme, smsc = bound_pair()
    pdu = DeliverSm(source_addr="4915112345678", short_message=b"hi")
    inflight = smsc.send_encoded_request(
        CommandId.deliver_sm, encode_pdu(pdu)[16:], T0, context="mine"
    )
    wire = smsc.data_to_send()
    pdu.sequence_number = inflight.sequence_number  # given here, written in the header
    assert wire == encode_pdu(pdu)
    assert inflight.pdu == pdu  # decoded from the octets when asked for
    assert len(smsc.window) == 1 and smsc.window.used == 1
    esme.receive_data(wire, T0)
    (received,) = esme.events()
    assert isinstance(received, RequestReceived) and received.pdu == pdu
    esme.respond(received.pdu)
    transfer(esme, smsc)
    (answered,) = smsc.events()
    assert isinstance(answered, ResponseReceived) and answered.request is inflight
    assert answered.request.context == "mine" and smsc.window.used == 0


def test_a_request_sent_as_octets_times_out_like_any() -> None:
    _, smsc = bound_pair()
    inflight = smsc.send_encoded_request(CommandId.deliver_sm, encode_pdu(DeliverSm())[16:], T0)
    smsc.poll(T0 + TIMEOUT + 1)
    (timed_out,) = smsc.events()
    assert isinstance(timed_out, RequestTimedOut) and timed_out.request is inflight
    assert timed_out.request.pdu.sequence_number == inflight.sequence_number


@pytest.mark.parametrize(
    ("command_id", "error"),
    [
        (CommandId.deliver_sm_resp, SessionError),  # a response
        (CommandId.enquire_link, SessionError),  # session management
        (CommandId.alert_notification, SessionError),  # no response to wait for
        (CommandId.submit_sm, CommandNotAllowedError),  # not the SMSC's to send
    ],
)
def test_what_cannot_be_sent_as_octets(command_id: int, error: type[Exception]) -> None:
    _, smsc = bound_pair()
    with pytest.raises(error):
        smsc.send_encoded_request(command_id, b"", T0)
    assert smsc.data_to_send() == b"" and len(smsc.window) == 0
