"""One bind against the test SMSC over real TCP: binding, outcomes, window, keep-alive."""

from __future__ import annotations

import struct
from collections.abc import MutableMapping
from typing import Any

import pytest
import trio
import trio.testing

from smpp_engine.esme import (
    BindRejectedError,
    BindType,
    ConnectError,
    LinkLostError,
    NotBoundError,
    Outcome,
    OutcomeStream,
    SubmitOutcome,
    UnknownReason,
    open_bind,
)
from smpp_engine.protocol import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandStatus,
    EnquireLink,
    EnquireLinkResp,
    PduError,
    SessionError,
    SessionState,
    SubmitSm,
    Unbind,
)
from throttling import TokenBucketController, Unlimited

from .conftest import PASSWORD, SYSTEM_ID, FakeSmsc, SmscLink, make_config, metric, until

S = CommandStatus

BIND_TYPES = [
    (BindType.TRANSMITTER, BindTransmitter, SessionState.BOUND_TX),
    (BindType.RECEIVER, BindReceiver, SessionState.BOUND_RX),
    (BindType.TRANSCEIVER, BindTransceiver, SessionState.BOUND_TRX),
]


def submit_sm(text: str = "hello") -> SubmitSm:
    return SubmitSm(
        source_addr_ton=5,
        source_addr="ACME",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        short_message=text.encode(),
    )


class Collected:
    """An outcome sink that keeps everything, flat."""

    def __init__(self) -> None:
        self.outcomes: list[SubmitOutcome] = []
        self.batches = 0

    def __call__(self, batch: list[SubmitOutcome]) -> None:
        self.batches += 1
        self.outcomes.extend(batch)

    def by_context(self) -> dict[Any, SubmitOutcome]:
        return {o.context: o for o in self.outcomes}


# --- binding ------------------------------------------------------------------------


@pytest.mark.parametrize(("bind_type", "pdu_class", "state"), BIND_TYPES)
async def test_binds_with_the_configured_credentials(
    smsc: FakeSmsc, bind_type: BindType, pdu_class: type, state: SessionState
) -> None:
    config = make_config(
        smsc,
        bind_type=bind_type,
        system_type="BILLING",
        address_range="^44",
        addr_ton=1,
        addr_npi=1,
        name=f"creds-{bind_type.value}",
    )
    async with open_bind(config) as bind:
        assert bind.state is state
        assert bind.is_open
        assert bind.peer_system_id == "FAKESMSC"
        assert metric("smpp_bind_state", side="esme", bind=config.name, state=state.value) == 1
        (request,) = smsc.bind_attempts
        assert isinstance(request, pdu_class)
        assert isinstance(request, BindTransmitter | BindReceiver | BindTransceiver)
        assert (request.system_id, request.password, request.system_type) == (
            SYSTEM_ID,
            PASSWORD,
            "BILLING",
        )
        assert (request.address_range, request.addr_ton, request.addr_npi) == ("^44", 1, 1)
        assert request.interface_version == 0x34
    assert bind.closed
    assert metric("smpp_bind_state", side="esme", bind=config.name, state=state.value) == 0
    assert metric("smpp_bind_state", side="esme", bind=config.name, state="CLOSED") == 1


@pytest.mark.parametrize(("bind_type", "pdu_class", "state"), BIND_TYPES)
@pytest.mark.parametrize(
    ("password", "system_id", "status"),
    [("wrong", SYSTEM_ID, S.ESME_RINVPASWD), (PASSWORD, "nobody", S.ESME_RINVSYSID)],
)
async def test_refused_bind_raises_loudly_and_is_counted(
    smsc: FakeSmsc,
    logs: list[MutableMapping[str, Any]],
    bind_type: BindType,
    pdu_class: type,
    state: SessionState,
    password: str,
    system_id: str,
    status: int,
) -> None:
    name = f"refused-{bind_type.value}"
    config = make_config(
        smsc, bind_type=bind_type, password=password, system_id=system_id, name=name
    )
    labels = {"side": "esme", "bind": name, "status": S(status).name}
    before = metric("smpp_bind_failures_total", **labels)
    with pytest.raises(BindRejectedError) as caught:
        async with open_bind(config):
            pytest.fail("bound with bad credentials")
    assert caught.value.status == status
    assert caught.value.status_name == S(status).name
    assert S(status).name in str(caught.value)
    assert metric("smpp_bind_failures_total", **labels) == before + 1
    errors = [e for e in logs if e["log_level"] == "error"]
    assert errors and errors[0]["status"] == S(status).name
    assert password not in repr(errors)  # never log the secret
    await smsc.wait_until(lambda: all(link.closed for link in smsc.links))


async def test_refused_connection_raises_connect_error() -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        smsc = FakeSmsc(port=port)
        with pytest.raises(ConnectError) as caught:
            async with open_bind(make_config(smsc)):
                pytest.fail("connected to nothing")
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_unanswered_bind_ends_in_link_lost(smsc: FakeSmsc, autojump_clock: Any) -> None:
    smsc.bind_status = lambda pdu: None  # type: ignore[method-assign]
    start = trio.current_time()
    with pytest.raises(LinkLostError) as caught:
        async with open_bind(make_config(smsc, response_timeout=5.0)):
            pytest.fail("bound without an answer")
    assert "unanswered" in str(caught.value)
    assert trio.current_time() - start >= 5.0


# --- submit outcomes ------------------------------------------------------------------


async def test_submit_accepted_gives_the_message_id(smsc: FakeSmsc) -> None:
    before = metric("smpp_submit_outcomes_total", side="esme", outcome="accepted")
    async with open_bind(make_config(smsc)) as bind:
        outcome = await bind.submit(submit_sm("one"))
        by_fields = await bind.submit(destination_addr="447700900999", short_message=b"two")
    assert outcome.outcome is Outcome.ACCEPTED and outcome.accepted
    assert outcome.message_id == "M000001"
    assert outcome.command_status == 0
    assert by_fields.message_id == "M000002"
    link = smsc.bound_links[0]
    assert [p.short_message for p in link.submits] == [b"one", b"two"]
    assert link.submits[1].destination_addr == "447700900999"
    assert metric("smpp_submit_outcomes_total", side="esme", outcome="accepted") == before + 2


async def test_submit_rejected_names_the_status(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: S.ESME_RINVDSTADR
    async with open_bind(make_config(smsc)) as bind:
        outcome = await bind.submit(submit_sm())
        assert bind.in_flight == 0
    assert outcome.outcome is Outcome.REJECTED
    assert outcome.command_status == S.ESME_RINVDSTADR
    assert outcome.status_name == "ESME_RINVDSTADR"
    assert outcome.message_id is None
    assert not outcome.throttled


async def test_unanswered_submit_is_unknown_at_its_deadline_and_frees_the_slot(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None  # hold every submit
    async with open_bind(make_config(smsc, window_size=1, response_timeout=5.0)) as bind:
        start = trio.current_time()
        outcome = await bind.submit(submit_sm())
        assert trio.current_time() - start >= 5.0
        assert outcome.outcome is Outcome.UNKNOWN
        assert outcome.reason is UnknownReason.TIMEOUT
        assert bind.in_flight == 0
        # The slot is free again: the next request goes out.
        smsc.on_submit = lambda link, pdu: 0
        assert (await bind.submit(submit_sm())).accepted


async def test_per_request_timeout_overrides_the_configured_one(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_bind(make_config(smsc, response_timeout=30.0)) as bind:
        start = trio.current_time()
        outcome = await bind.submit(submit_sm(), timeout=2.0)
        assert outcome.unknown
        assert 2.0 <= trio.current_time() - start < 30.0


async def test_link_drop_returns_every_request_in_flight_as_unknown(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    collected = Collected()
    async with open_bind(make_config(smsc), on_outcomes=collected) as bind:
        for n in range(5):
            await bind.send(submit_sm(f"m{n}"), context=n)
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 5)
        await link.drop()
        reason = await bind.wait_closed()
        assert "peer closed" in reason or "receive failed" in reason
        assert sorted(collected.by_context()) == [0, 1, 2, 3, 4]
        assert all(o.unknown and o.reason is UnknownReason.LINK_LOST for o in collected.outcomes)
        with pytest.raises(NotBoundError):
            await bind.send(submit_sm("late"))
        with pytest.raises(NotBoundError):
            await bind.submit(submit_sm("late"))


async def test_streaming_outcomes_carry_the_context_and_come_in_batches(smsc: FakeSmsc) -> None:
    stream = OutcomeStream()
    async with open_bind(make_config(smsc, window_size=50), on_outcomes=stream) as bind:
        for n in range(200):
            await bind.send(submit_sm(f"m{n}"), context=("msg", n))
    stream.close()
    contexts = []
    batches = 0
    async for batch in stream:
        batches += 1
        contexts += [o.context for o in batch if o.accepted]
    assert sorted(contexts) == [("msg", n) for n in range(200)]
    assert batches < 200  # responses read together are reported together


async def test_undecodable_response_makes_the_outcome_unknown(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_bind(make_config(smsc)) as bind:
        async with trio.open_nursery() as nursery:
            result: list[SubmitOutcome] = []

            async def submit() -> None:
                result.append(await bind.submit(submit_sm()))

            nursery.start_soon(submit)
            link = smsc.bound_links[0]
            await link.wait_until(lambda: len(link.held) == 1)
            seq = link.held[0].sequence_number
            # submit_sm_resp whose message_id lacks its NUL terminator.
            await link.send_raw(struct.pack(">IIII", 19, 0x80000004, 0, seq) + b"abc")
        (outcome,) = result
        assert outcome.unknown and outcome.reason is UnknownReason.UNDECODABLE_RESPONSE
        assert bind.is_open  # one bad PDU does not end the session


async def test_misuse_raises_typed_errors_and_sends_nothing(smsc: FakeSmsc) -> None:
    async with open_bind(make_config(smsc)) as bind:
        bad = submit_sm()
        bad.destination_addr = "4" * 30
        with pytest.raises(PduError) as caught:
            await bind.submit(bad)
        assert caught.value.field == "destination_addr"
        with pytest.raises(TypeError):
            await bind.submit(submit_sm(), source_addr="X")  # a PDU and fields
        with pytest.raises(PduError) as caught:
            await bind.submit(source_addr="X" * 30)
        assert caught.value.field == "source_addr"
        assert bind.in_flight == 0
    assert smsc.bound_links[0].submits == []


async def test_receiver_bind_may_not_submit(smsc: FakeSmsc) -> None:
    async with open_bind(make_config(smsc, bind_type=BindType.RECEIVER)) as bind:
        with pytest.raises(SessionError):
            await bind.submit(submit_sm())


# --- window and keep-alive ---------------------------------------------------------------


async def test_a_full_window_holds_the_next_send_until_a_response_frees_a_slot(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_bind(make_config(smsc, window_size=2)) as bind:
        await bind.send(submit_sm("1"))
        await bind.send(submit_sm("2"))
        assert bind.in_flight == 2
        third_sent = trio.Event()

        async def third() -> None:
            await bind.send(submit_sm("3"))
            third_sent.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(third)
            link = smsc.bound_links[0]
            await link.wait_until(lambda: len(link.held) == 2)
            await trio.testing.wait_all_tasks_blocked()
            assert not third_sent.is_set()
            assert len(link.submits) == 2
            await link.answer(link.held[0])
            await third_sent.wait()
            await link.wait_until(lambda: len(link.submits) == 3)
        assert [p.short_message for p in link.submits] == [b"1", b"2", b"3"]


async def test_a_caller_sending_without_pause_lets_the_writer_go_every_stretch(
    smsc: FakeSmsc,
) -> None:
    # The SMSC must work on the first submits while the caller still builds the
    # rest of the window; writing the whole window at once made the two sides take
    # turns (half the throughput at window 256).
    async with open_bind(make_config(smsc, window_size=256)) as bind:
        link = smsc.bound_links[0]
        seen_before_the_last: int | None = None
        for n in range(256):
            if n == 255:
                seen_before_the_last = len(link.submits)
            await bind.send(submit_sm(str(n)))
        assert seen_before_the_last is not None
        assert seen_before_the_last >= 32
        await link.wait_until(lambda: len(link.submits) == 256)


async def test_a_caller_that_pauses_on_its_own_is_never_made_to_yield(
    smsc: FakeSmsc,
) -> None:
    # Sparse sends (a reply now and then) return without handing the loop to other
    # work: the writer ran in between, so nothing is owed to it.
    async with open_bind(make_config(smsc, window_size=256)) as bind:
        for n in range(100):
            await bind.send(submit_sm(str(n)))
            await trio.testing.wait_all_tasks_blocked()  # the writer runs
            ran = False

            async def other() -> None:
                nonlocal ran
                ran = True

            async with trio.open_nursery() as nursery:
                nursery.start_soon(other)
                await bind.send(submit_sm(f"{n}b"))
                assert not ran, "send yielded although the writer had just run"


async def test_peer_enquire_link_is_answered_with_a_full_window(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    async with open_bind(make_config(smsc, window_size=1)) as bind:
        await bind.send(submit_sm())
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 1)
        assert not bind.ready
        sent_at = trio.current_time()
        await link.deliver(EnquireLink())
        await link.wait_until(lambda: any(isinstance(r, EnquireLinkResp) for r in link.responses))
        # At once: not when some timer (the submit's deadline, 10 s) next wakes the bind.
        assert trio.current_time() - sent_at < 1.0


async def test_idle_link_sends_enquire_link(smsc: FakeSmsc, autojump_clock: Any) -> None:
    async with open_bind(make_config(smsc, enquire_link_interval=20.0)) as bind:
        link = smsc.bound_links[0]
        start = trio.current_time()
        await link.wait_until(lambda: bool(link.received(EnquireLink)))
        assert trio.current_time() - start >= 20.0
        assert bind.is_open


async def test_dead_link_is_detected_and_closed(smsc: FakeSmsc, autojump_clock: Any) -> None:
    collected = Collected()
    config = make_config(smsc, enquire_link_interval=20.0, response_timeout=5.0)
    async with open_bind(config, on_outcomes=collected) as bind:
        link = smsc.bound_links[0]
        link.mute()  # the SMSC hangs: reads nothing, answers nothing
        start = trio.current_time()
        await bind.send(submit_sm(), context="in flight", timeout=100.0)
        reason = await bind.wait_closed()
        # Idle for 20 s, then 5 s without an enquire_link_resp.
        assert 25.0 <= trio.current_time() - start < 30.0
        assert "enquire_link unanswered" in reason
        assert bind.state is SessionState.CLOSED
        assert bind.closed and not bind.is_open
    assert [(o.context, o.reason) for o in collected.outcomes] == [
        ("in flight", UnknownReason.LINK_LOST)
    ]


async def test_dead_link_with_nothing_in_flight(smsc: FakeSmsc, autojump_clock: Any) -> None:
    config = make_config(smsc, enquire_link_interval=20.0, response_timeout=5.0)
    async with open_bind(config) as bind:
        smsc.bound_links[0].mute()
        start = trio.current_time()
        reason = await bind.wait_closed()
        assert "enquire_link unanswered" in reason
        assert 25.0 <= trio.current_time() - start < 30.0


async def test_garbage_from_the_smsc_closes_the_link(smsc: FakeSmsc, autojump_clock: Any) -> None:
    smsc.on_submit = lambda link, pdu: None
    collected = Collected()
    async with open_bind(make_config(smsc), on_outcomes=collected) as bind:
        await bind.send(submit_sm(), context="x")
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 1)
        await link.send_raw(b"\x00\x00\x00\x05garbage")  # command_length 5: cannot frame
        reason = await bind.wait_closed()
    assert "framing" in reason
    assert [(o.context, o.outcome) for o in collected.outcomes] == [("x", Outcome.UNKNOWN)]


async def test_generic_nack_with_sequence_zero_closes_the_link(smsc: FakeSmsc) -> None:
    async with open_bind(make_config(smsc)) as bind:
        link = smsc.bound_links[0]
        await link.send_raw(struct.pack(">IIII", 16, 0x80000000, S.ESME_RINVCMDLEN, 0))
        reason = await bind.wait_closed()
    assert "generic_nack" in reason


# --- unbinding ------------------------------------------------------------------------


async def test_graceful_unbind_waits_for_requests_in_flight(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: None
    collected = Collected()
    async with trio.open_nursery() as nursery:

        async def answer_later(link: SmscLink) -> None:
            await link.wait_until(lambda: len(link.held) == 1)
            await trio.testing.wait_all_tasks_blocked()
            assert not link.received(Unbind)  # the bind waits for the answer first
            await link.answer(link.held[0])

        async with open_bind(make_config(smsc), on_outcomes=collected) as bind:
            await bind.send(submit_sm(), context="last")
            nursery.start_soon(answer_later, smsc.bound_links[0])
    link = smsc.bound_links[0]
    assert link.received(Unbind)
    assert link.session.state in (SessionState.UNBOUND, SessionState.CLOSED)
    assert [(o.context, o.outcome) for o in collected.outcomes] == [("last", Outcome.ACCEPTED)]
    assert bind.close_reason == "unbound"


async def test_unbind_without_an_answer_still_closes(smsc: FakeSmsc, autojump_clock: Any) -> None:
    async with open_bind(make_config(smsc, unbind_timeout=2.0)) as bind:
        smsc.bound_links[0].mute()
        start = trio.current_time()
    assert bind.closed
    assert trio.current_time() - start <= 4.0


async def test_smsc_unbind_is_answered_and_closes(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: None
    collected = Collected()
    async with open_bind(make_config(smsc), on_outcomes=collected) as bind:
        await bind.send(submit_sm(), context="pending")
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 1)
        await link.unbind()
        assert await bind.wait_closed() == "unbound by the SMSC"
        assert not bind.is_open
    await link.wait_until(lambda: link.session.state is not SessionState.BOUND_TRX)
    assert [(o.context, o.reason) for o in collected.outcomes] == [
        ("pending", UnknownReason.LINK_LOST)
    ]


async def test_body_exception_propagates_unwrapped_and_unbinds(smsc: FakeSmsc) -> None:
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError):
        async with open_bind(make_config(smsc)):
            raise BoomError
    link = smsc.bound_links[0]
    await link.wait_until(lambda: link.closed)
    assert link.received(Unbind)


# --- try_send: the send that never waits -------------------------------------------------


async def test_try_send_queues_while_there_is_room_and_refuses_once_the_window_is_full(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None
    collected = Collected()
    async with open_bind(make_config(smsc, window_size=2), on_outcomes=collected) as bind:
        assert bind.try_send(submit_sm("1"), "one")
        assert bind.try_send(submit_sm("2"), "two")
        assert not bind.try_send(submit_sm("3"), "three")  # full: nothing done
        assert bind.in_flight == 2
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.held) == 2)
        await trio.testing.wait_all_tasks_blocked()
        assert [p.short_message for p in link.submits] == [b"1", b"2"]
        await link.answer(link.held[0])
        await until(lambda: bind.in_flight == 1)
        assert bind.try_send(submit_sm("3"), "three")  # a slot freed
        await link.wait_until(lambda: len(link.submits) == 3)
        for pdu in list(link.held):
            await link.answer(pdu)
        await until(lambda: len(collected.outcomes) == 3)
    assert [o.context for o in collected.outcomes] == ["one", "two", "three"]


async def test_try_send_refuses_what_the_rate_would_hold_and_takes_no_token(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    controller = TokenBucketController(1.0, burst=2, now=trio.current_time())
    async with open_bind(make_config(smsc), controller=controller) as bind:
        assert bind.try_send(submit_sm("a"), segments=2)  # the burst
        assert not bind.try_send(submit_sm("b"))  # the rate holds it
        await trio.sleep(1.0)  # one token: the refusal above took none
        assert bind.try_send(submit_sm("b"))
        assert not bind.try_send(submit_sm("c"))
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.submits) == 2)


async def test_try_send_refuses_during_a_throttling_pause(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    answers = iter([S.ESME_RTHROTTLED])
    smsc.on_submit = lambda link, pdu: next(answers, 0)
    async with open_bind(make_config(smsc), controller=Unlimited(pause=10.0)) as bind:
        first = await bind.submit(submit_sm("first"))
        assert first.throttled
        assert not bind.try_send(submit_sm("paused"))
        await trio.sleep(10.0)
        assert bind.try_send(submit_sm("resumed"))
        link = smsc.bound_links[0]
        await link.wait_until(lambda: len(link.submits) == 2)
    assert [p.short_message for p in link.submits] == [b"first", b"resumed"]


async def test_try_send_on_a_closed_bind_refuses_and_a_bad_pdu_raises(
    smsc: FakeSmsc,
) -> None:
    async with open_bind(make_config(smsc)) as bind:
        with pytest.raises(PduError):
            bind.try_send(submit_sm("x" * 300))  # short_message holds at most 254 octets
        assert bind.in_flight == 0
    assert not bind.try_send(submit_sm("after"))


async def test_pace_lets_the_writer_go_after_a_stretch_of_try_sends(smsc: FakeSmsc) -> None:
    async with open_bind(make_config(smsc, window_size=256)) as bind:
        link = smsc.bound_links[0]
        seen_before_the_last = 0
        for n in range(256):
            if n == 255:
                seen_before_the_last = len(link.submits)
            assert bind.try_send(submit_sm(str(n)))
            await bind.pace()
        assert seen_before_the_last >= 32  # the SMSC had the first stretches meanwhile
        await link.wait_until(lambda: len(link.submits) == 256)
