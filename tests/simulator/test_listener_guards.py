"""The SMPP listener against a hostile network: idle sockets, floods, guessed passwords.

Real sockets on loopback; short limits set in the scenario's ``[smsc]``.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
import structlog
import trio

from metrics import BIND_FAILURES, BIND_STATE, child
from smpp_engine.protocol import (
    BindFailed,
    BindTransceiver,
    BindTransmitter,
    Bound,
    CommandStatus,
    DeliverSm,
    EnquireLink,
)
from smpp_engine.protocol.failed_binds import FORGET_AFTER, MAX_SOURCES, FailedBinds
from smpp_engine.simulator import parse_scenario
from smpp_engine.simulator.accounts import Accounts
from smpp_engine.simulator.routing import Outgoing, Router
from smpp_engine.simulator.scenario import Account, BindType
from smpp_engine.simulator.scheduler import Scheduler
from smpp_engine.simulator.telemetry import MAX_ACCOUNT_LABELS, OTHER, Telemetry

from .helpers import bound, connect, raw, running

S = CommandStatus
PASSWORD = "s3cret"


def scenario(**smsc: Any) -> Any:
    return parse_scenario(
        {
            "smsc": smsc,
            "accounts": [
                {"system_id": "billing", "password": PASSWORD, "max_binds": 8},
                {"system_id": "other", "password": PASSWORD},
            ],
        }
    )


async def closed_by_peer(stream: trio.SocketStream) -> bool:
    """Read until the peer closes (True) or sends something (False)."""
    try:
        data = await stream.receive_some(65536)
    except trio.BrokenResourceError:
        return True
    return data == b""


# --- the bind timeout ----------------------------------------------------------------


async def test_a_connection_that_does_not_bind_is_closed_and_counted() -> None:
    async with running(scenario(bind_timeout=0.2)) as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.port)
        async with stream:
            with trio.fail_after(5):
                assert await closed_by_peer(stream)
        assert sim.bind_timeouts == 1
        assert sim.stats()["listener"]["bind_timeouts"] == 1


async def test_enquire_link_does_not_keep_an_unbound_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running(scenario(bind_timeout=10)) as sim, raw(sim.port, bind=None) as client:
        answered = 0
        while True:  # every 3 s: at 0, 3, 6 and 9 answered, closed at 10
            try:
                await client.send(EnquireLink())
                await client.receive(1)
            except (AssertionError, trio.BrokenResourceError):
                break  # closed
            answered += 1
            await trio.sleep(3)
        assert answered == 4
        assert sim.bind_timeouts == 1


async def test_a_bound_connection_is_not_timed_out(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        running(scenario(bind_timeout=1)) as sim,
        bound(sim.port, "transceiver", "billing", PASSWORD) as esme,
    ):
        await trio.sleep(30)
        response = await esme.submit()
        assert response.command_status == 0
        assert sim.bind_timeouts == 0


async def test_a_stall_puts_the_bind_timeout_off(autojump_clock: trio.testing.MockClock) -> None:
    """A stalled SMSC answers nothing by design; its connections stay until the stall
    ends, and then have a whole bind_timeout to bind."""
    stalled = parse_scenario({"smsc": {"bind_timeout": 5}, "faults": {"stall": True}})
    async with running(stalled) as sim, connect(sim.port) as esme:
        await trio.sleep(60)
        assert (len(sim.connections), sim.bind_timeouts) == (1, 0)
        sim.set_scenario(scenario(bind_timeout=5))
        await trio.sleep(4)
        result = await esme.bind("transceiver", "billing", PASSWORD)
        assert isinstance(result, Bound)
        assert sim.bind_timeouts == 0


# --- connection and bind caps ---------------------------------------------------------


async def test_connections_over_the_listener_cap_are_closed_at_accept() -> None:
    async with running(scenario(max_connections=3, bind_timeout=60)) as sim:
        idle = [await trio.open_tcp_stream("127.0.0.1", sim.port) for _ in range(3)]
        with trio.fail_after(5):
            while len(sim.connections) < 3:
                await trio.sleep(0.01)
            extra = await trio.open_tcp_stream("127.0.0.1", sim.port)
            async with extra:
                assert await closed_by_peer(extra)
        assert sim.stats()["listener"]["refused_connections"] == 1
        await idle.pop().aclose()
        with trio.fail_after(5):
            while len(sim.connections) > 2:
                await trio.sleep(0.01)
            async with bound(sim.port, "transceiver", "billing", PASSWORD) as esme:
                assert (await esme.submit()).command_status == 0
        for stream in idle:
            await stream.aclose()


async def test_binds_over_the_account_cap_are_refused() -> None:
    async with running(scenario(max_account_binds=2)) as sim:
        async with (
            bound(sim.port, "transmitter", "billing", PASSWORD),
            bound(sim.port, "receiver", "billing", PASSWORD),
        ):
            async with connect(sim.port) as esme:
                result = await esme.bind("transceiver", "billing", PASSWORD)
                assert isinstance(result, BindFailed)
                assert result.status == S.ESME_RBINDFAIL
            async with bound(sim.port, "transceiver", "other", PASSWORD):
                pass  # another account is not affected
        async with bound(sim.port, "transceiver", "billing", PASSWORD):
            pass  # a bind freed makes room


async def test_open_accounts_are_capped_too() -> None:
    async with (
        running(parse_scenario({"smsc": {"max_account_binds": 1}})) as sim,
        bound(sim.port, system_id="anyone"),
        connect(sim.port) as esme,
    ):
        result = await esme.bind("transceiver", "anyone", "x")
        assert isinstance(result, BindFailed)
        assert result.status == S.ESME_RBINDFAIL


async def test_a_second_bind_on_a_bound_connection_is_already_bound() -> None:
    async with running(scenario()) as sim, raw(sim.port, bind=None) as client:
        await client.send(BindTransceiver(system_id="billing", password=PASSWORD))
        (first,) = await client.receive(1)
        await client.send(BindTransmitter(system_id="billing", password=PASSWORD))
        (second,) = await client.receive(1)
        assert (first.command_status, second.command_status) == (0, S.ESME_RALYBND)


# --- failed logins ----------------------------------------------------------------------


async def test_a_refused_login_is_answered_late_growing_per_source(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with structlog.testing.capture_logs() as logs:
        async with running(scenario(failed_bind_delay=1, failed_bind_delay_max=4)) as sim:
            for password in ("a", "b", "c", "d", "e"):
                async with connect(sim.port) as esme:
                    result = await esme.bind("transceiver", "billing", password)
                    assert isinstance(result, BindFailed)
                    assert result.status == S.ESME_RINVPASWD
            async with connect(sim.port) as esme:
                result = await esme.bind("transceiver", "nobody", PASSWORD)
                assert result.status == S.ESME_RINVSYSID
            async with bound(sim.port, "transceiver", "billing", PASSWORD):
                pass  # the right password is answered at once
            assert sim.stats()["listener"]["refused_credentials"] == 6
    delays = [entry["answer_after"] for entry in logs if entry["event"] == "bind refused"]
    assert delays == [1, 2, 4, 4, 4, 4]


async def test_a_held_answer_holds_only_its_own_connection() -> None:
    async with (
        running(scenario(failed_bind_delay=600, failed_bind_delay_max=600)) as sim,
        raw(sim.port, bind=None) as guesser,
    ):
        await guesser.send(BindTransceiver(system_id="billing", password="guess"))
        with trio.fail_after(5):
            while not any(c["held"] for c in sim.stats()["connections"]):
                await trio.sleep(0.01)
            async with bound(sim.port, "transceiver", "billing", PASSWORD) as esme:
                for n in range(3):
                    response = await esme.submit(short_message=b"%d" % n)
                    assert response.command_status == 0
        assert len(sim.records) == 3
        (held,) = (c for c in sim.connections.values() if c.held_until)
        assert held.out  # the refusal is written, and waits
        assert held.session.state.value == "OPEN"


async def test_other_refusals_are_answered_at_once() -> None:
    """Only a credentials refusal is a guess to slow down: a refusing SMSC (a QA fault)
    or a full account answers at once."""
    with structlog.testing.capture_logs() as logs:
        async with running(scenario(failed_bind_delay=600, max_account_binds=1)) as sim:
            async with bound(sim.port, "transceiver", "billing", PASSWORD):
                with trio.fail_after(5):
                    async with connect(sim.port) as esme:
                        result = await esme.bind("transceiver", "billing", PASSWORD)
                        assert result.status == S.ESME_RBINDFAIL
                    sim.fault("refuse_binds", duration=5)
                    async with connect(sim.port) as esme:
                        result = await esme.bind("transceiver", "other", PASSWORD)
                        assert result.status == S.ESME_RBINDFAIL
            assert sim.failed_binds.refused == 0
    delays = [entry["answer_after"] for entry in logs if entry["event"] == "bind refused"]
    assert delays == [0, 0]


def test_the_delay_doubles_per_source_up_to_the_cap_and_is_forgotten() -> None:
    table = FailedBinds()
    # One after another, each asked once the previous answer went.
    now, waits = 0.0, []
    for _ in range(6):
        waits.append(table.record("10.0.0.1", now, 1.0, 8.0))
        now += waits[-1]
    assert waits == [1, 2, 4, 8, 8, 8]
    assert table.record("10.0.0.2", now, 1.0, 8.0) == 1  # another source starts afresh
    assert table.record("10.0.0.1", now + FORGET_AFTER + 1, 1.0, 8.0) == 1  # quiet long enough


def test_parallel_guesses_are_answered_one_after_another() -> None:
    table = FailedBinds()
    waits = [table.record("10.0.0.1", 0.0, 1.0, 8.0) for _ in range(6)]
    assert waits == [1, 3, 7, 15, 23, 31]
    assert table.record("10.0.0.3", 0.0, 0.0, 8.0) == 0
    for n in range(MAX_SOURCES + 50):
        table.record(f"spray-{n}", 3.0 + FORGET_AFTER, 1.0, 8.0)
    assert len(table) == MAX_SOURCES


# --- passwords ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "status"),
    [
        (PASSWORD, S.ESME_ROK),
        ("", S.ESME_RINVPASWD),
        (PASSWORD[:-1], S.ESME_RINVPASWD),
        (PASSWORD + "x", S.ESME_RINVPASWD),
        (PASSWORD.upper(), S.ESME_RINVPASWD),
        ("s3crét", S.ESME_RINVPASWD),
    ],
)
def test_the_password_must_match_exactly(password: str, status: int) -> None:
    accounts = Accounts([Account(system_id="billing", password=PASSWORD)])
    assert accounts.check_bind("billing", password, BindType.TRANSCEIVER, 0, 64) == status


def _bind_with_password(password: bytes) -> bytes:
    body = b"billing\x00" + password + b"\x00" + b"\x00" + bytes([0x34, 0, 0]) + b"\x00"
    return struct.pack(">IIII", 16 + len(body), 0x00000009, 0, 7) + body


@pytest.mark.parametrize(
    "password", [b"LONG-SECRET-PASSWORD-123", b"s3cret\x1b[31m", PASSWORD.encode()]
)
async def test_no_password_is_ever_logged(password: bytes) -> None:
    """Not a wrong one, not an over-long one the codec refuses, not the right one."""
    with structlog.testing.capture_logs() as logs:
        async with running(scenario(failed_bind_delay=0)) as sim, raw(sim.port, bind=None) as c:
            await c.stream.send_all(_bind_with_password(password))
            with trio.fail_after(5):
                (response,) = await c.receive(1)
            assert response.sequence_number == 7
            if password != PASSWORD.encode():
                assert response.command_status == S.ESME_RINVPASWD
    text = repr(logs)
    assert logs
    assert password.decode("latin-1") not in text
    assert "LONG-SECRET" not in text and "s3cret" not in text
    if len(password) > 8:
        (error,) = [entry for entry in logs if entry["event"] == "protocol error"]
        assert (error["field"], error["value"]) == ("password", "***")


async def test_a_system_id_is_logged_without_terminal_escapes() -> None:
    with structlog.testing.capture_logs() as logs:
        async with running(scenario(failed_bind_delay=0)) as sim, connect(sim.port) as esme:
            await esme.bind("transceiver", "bill\x1b[2Jing", PASSWORD)
    (refused,) = [entry for entry in logs if entry["event"] == "bind refused"]
    assert "\x1b" not in refused["system_id"]
    assert refused["system_id"] == "bill\\x1b[2Jing"


# --- metric labels -------------------------------------------------------------------


async def test_unknown_system_ids_share_one_metric_label() -> None:
    before = child(BIND_FAILURES, "simulator", "(unknown)", "ESME_RINVSYSID")._value.get()
    async with running(scenario(failed_bind_delay=0)) as sim:
        for n in range(3):
            async with connect(sim.port) as esme:
                result = await esme.bind("transceiver", f"guess-{n}", PASSWORD)
                assert result.status == S.ESME_RINVSYSID
    after = child(BIND_FAILURES, "simulator", "(unknown)", "ESME_RINVSYSID")._value.get()
    assert after - before == 3
    labels = {s.labels.get("system_id") for m in BIND_FAILURES.collect() for s in m.samples}
    assert not any(str(label).startswith("guess-") for label in labels)


def test_account_labels_are_bounded() -> None:
    telemetry = Telemetry()
    labels = [telemetry.account_label(f"acct-{n}") for n in range(MAX_ACCOUNT_LABELS + 5)]
    assert labels[:MAX_ACCOUNT_LABELS] == [f"acct-{n}" for n in range(MAX_ACCOUNT_LABELS)]
    assert set(labels[MAX_ACCOUNT_LABELS:]) == {OTHER}
    assert telemetry.account_label("acct-0") == "acct-0"


async def test_open_binds_past_the_label_cap_count_as_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("smpp_engine.simulator.telemetry.MAX_ACCOUNT_LABELS", 1)
    async with running() as sim:
        async with bound(sim.port, system_id="first-label"), bound(sim.port, system_id="second"):
            assert child(BIND_STATE, "simulator", OTHER, "BOUND_TRX")._value.get() >= 1
            assert child(BIND_STATE, "simulator", "first-label", "BOUND_TRX")._value.get() == 1
        labels = {s.labels.get("system_id") for m in BIND_STATE.collect() for s in m.samples}
        assert "second" not in labels


def test_deliveries_dropped_for_a_full_queue_leave_nothing_behind() -> None:
    """With open accounts every peer names its own account: the held receipts are
    bounded in all, and one dropped for a new name leaves no empty queue behind."""
    router = Router(Scheduler())
    router.max_pending["receipt"] = 2
    for n in range(1000):
        router.hold([Outgoing(DeliverSm(), "receipt", f"name-{n}")])
    assert router.pending()["receipt"] == 2
    assert router.dropped["receipt"] == 998
    assert len(router._pending) == 2
