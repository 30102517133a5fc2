"""The reconnect supervisor: refused connections, refused binds, dropped links; never gives up."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import trio

from smpp_engine.esme import Inbound, NotBoundError, SupervisedBind, UnknownReason, supervise
from smpp_engine.protocol import CommandStatus, Unbind

from .conftest import PASSWORD, FakeSmsc, make_config, metric
from .test_bind import Collected, submit_sm


@pytest.fixture
async def closed_port(watchdog: None) -> AsyncIterator[trio.socket.SocketType]:
    """A socket bound to a port but not listening: connections to it are refused."""
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


async def wait_attempts(supervised: SupervisedBind, count: int) -> None:
    while supervised.attempts < count:
        await trio.sleep(0.01)


async def test_refused_connections_are_retried_with_growing_back_off(
    nursery: trio.Nursery, closed_port: trio.socket.SocketType, autojump_clock: Any
) -> None:
    port = closed_port.getsockname()[1]
    smsc = FakeSmsc(port=port)
    config = make_config(smsc, name="refused-tcp")  # back-off 1, 2, 4, 8, 8 ... (no jitter)
    labels = {"bind": "refused-tcp", "reason": "connect_failed"}
    before = metric("smpp_reconnects_total", **labels)
    async with supervise(config) as supervised:
        start = trio.current_time()
        await wait_attempts(supervised, 5)
        assert 1 + 2 + 4 + 8 <= trio.current_time() - start < 1 + 2 + 4 + 8 + 1
        assert not supervised.is_bound
        assert metric("smpp_reconnects_total", **labels) >= before + 4
        # The SMSC comes up on that port: the supervisor binds by itself.
        closed_port.close()
        await nursery.start(smsc.serve)
        bind = await supervised.wait_bound(timeout=60)
        assert bind.is_open
        assert (await supervised.submit(submit_sm())).accepted
        # A successful bind resets the back-off: the next drop is retried after 1 s, not 8.
        dropped_at = trio.current_time()
        await smsc.bound_links[0].drop()
        await smsc.wait_bound(2)
        assert 1.0 <= trio.current_time() - dropped_at < 2.0


async def test_wrong_password_is_loud_counted_and_retried_slowly(
    smsc: FakeSmsc, logs: list[MutableMapping[str, Any]], autojump_clock: Any
) -> None:
    smsc.password = "changed"
    config = make_config(smsc, name="bad-password")  # bind failures: 10 s, capped at 10 s
    failures = {"side": "esme", "bind": "bad-password", "status": "ESME_RINVPASWD"}
    reconnects = {"bind": "bad-password", "reason": "bind_refused"}
    failures_before = metric("smpp_bind_failures_total", **failures)
    reconnects_before = metric("smpp_reconnects_total", **reconnects)
    async with supervise(config) as supervised:
        start = trio.current_time()
        await smsc.wait_until(lambda: len(smsc.bind_attempts) >= 3)
        assert trio.current_time() - start >= 20.0  # 10 s between refused binds
        refusals = [e for e in logs if e["event"] == "bind refused by the SMSC"]
        assert len(refusals) >= 3
        assert {e["log_level"] for e in refusals} == {"error"}
        assert {e["status"] for e in refusals} == {"ESME_RINVPASWD"}
        assert PASSWORD not in repr(logs)
        assert metric("smpp_bind_failures_total", **failures) >= failures_before + 3
        assert metric("smpp_reconnects_total", **reconnects) >= reconnects_before + 2
        assert supervised.last_error is not None
        # The operator fixes the account: the link comes back without a restart.
        smsc.password = PASSWORD
        await supervised.wait_bound(timeout=60)
        assert (await supervised.submit(submit_sm())).accepted


async def test_dropped_link_reports_in_flight_unknown_and_reconnects(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    smsc.on_submit = lambda link, pdu: None if link is smsc.bound_links[0] else 0
    collected = Collected()
    async with supervise(make_config(smsc), on_outcomes=collected) as supervised:
        for n in range(3):
            await supervised.send(submit_sm(f"m{n}"), context=n)
        first = await smsc.wait_bound(1)
        await first.wait_until(lambda: len(first.held) == 3)
        await first.drop()
        # A submit during the outage waits for the next link and goes through on it.
        outcome = await supervised.submit(submit_sm("after"))
        assert outcome.accepted
        assert len(smsc.bound_links) == 2
    assert sorted(o.context for o in collected.outcomes) == [0, 1, 2]
    assert {o.reason for o in collected.outcomes} == {UnknownReason.LINK_LOST}


async def test_smsc_unbind_is_followed_by_a_new_bind(smsc: FakeSmsc, autojump_clock: Any) -> None:
    async with supervise(make_config(smsc)) as supervised:
        first = await smsc.wait_bound(1)
        await first.unbind()
        await smsc.wait_bound(2)
        assert (await supervised.submit(submit_sm())).accepted


async def test_submit_gives_up_after_bind_wait_timeout(
    closed_port: trio.socket.SocketType, autojump_clock: Any
) -> None:
    smsc = FakeSmsc(port=closed_port.getsockname()[1])
    async with supervise(make_config(smsc, bind_wait_timeout=5.0)) as supervised:
        start = trio.current_time()
        with pytest.raises(NotBoundError) as caught:
            await supervised.submit(submit_sm())
        assert trio.current_time() - start == pytest.approx(5.0)
    assert "no bound link within 5 s" in str(caught.value)
    assert "cannot connect" in str(caught.value)


async def test_leaving_the_block_unbinds(smsc: FakeSmsc) -> None:
    async with supervise(make_config(smsc)) as supervised:
        await supervised.wait_bound()
    link = smsc.bound_links[0]
    await link.wait_until(lambda: link.closed)
    assert link.received(Unbind)
    assert len(smsc.bound_links) == 1  # no reconnect after a deliberate stop


async def test_throttle_status_names_stay_available(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: CommandStatus.ESME_RTHROTTLED
    async with supervise(make_config(smsc)) as supervised:
        outcome = await supervised.submit(submit_sm())
    assert outcome.status_name == "ESME_RTHROTTLED" and outcome.throttled


async def test_a_supervised_bind_keeps_its_inbound_sink_across_links(
    smsc: FakeSmsc, autojump_clock: Any
) -> None:
    taken: list[Inbound] = []
    async with supervise(make_config(smsc), on_inbound=taken.extend):
        first = await smsc.wait_bound(1)
        await first.send_receipt("M1")
        await first.wait_until(lambda: len(first.responses) == 1)
        await first.drop()  # the link drops; the next one feeds the same sink
        second = await smsc.wait_bound(2)
        await second.send_receipt("M2")
        await second.wait_until(lambda: len(second.responses) == 1)
    assert [i.receipt.message_id for i in taken if i.receipt] == ["M1", "M2"]


async def test_a_channel_and_a_sink_cannot_both_take_a_supervised_binds_inbound(
    smsc: FakeSmsc,
) -> None:
    send, _ = trio.open_memory_channel[Inbound](1)
    with pytest.raises(TypeError, match="not both"):
        SupervisedBind(make_config(smsc), inbound=send, on_inbound=print)
