"""Callbacks posted to a real HTTP receiver on loopback that fails, stalls and recovers.

Every test runs the real sender against the real store (both backends) and a
trio/h11 receiver: nothing is lost, each message's events arrive in order, every
request's signature verifies, and one tenant's dead or slow receiver holds back
no other tenant.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from smpp_engine.callbacks import CallbackPolicy, CallbackSender, verify_signature
from smpp_engine.store import NewMessage, PartState, PartSubmitted, ReceiptArrived, Store
from smpp_engine.store.callbacks import Backoff, CallbackStore, OutboxStatus

from ..store.conftest import open_test_store
from .receiver import Receiver, receiving

SECRETS: dict[str | None, str] = {"acme": "acme-secret", "beta": "beta-secret", None: "ops"}
FAST = CallbackPolicy(
    timeout=0.5,
    backoff=Backoff(first=0.05, factor=2.0, longest=0.2, give_up_after=3600.0),
    concurrency=16,
    per_host=4,
    per_tenant=8,
    lease=30.0,
    poll=0.02,
    defer=0.02,
    sample_every=0.1,
)
EVERY = frozenset({"accepted", "submitted", "delivered"})


@dataclass
class Rig:
    store: Store
    receiver: Receiver

    @property
    def outbox(self) -> CallbackStore:
        return self.store  # type: ignore[return-value]


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    async for store in open_test_store(request.param, tmp_path):
        async with receiving() as receiver:
            yield Rig(store, receiver)


async def _send(rig: Rig, tenant: str, path: str, count: int, *, first: int = 0) -> list[int]:
    """``count`` messages of ``tenant`` accepted, submitted and delivered: three events each."""
    accepted = await rig.store.accept(
        [
            NewMessage(
                smsc="sim",
                source="ACME",
                destination=f"4477009{first + n:05d}",
                text="hi",
                tenant=tenant,
                callback_url=rig.receiver.url(path),
                callback_events=EVERY,
            )
            for n in range(count)
        ],
        now=time.time(),
    )
    ids = [a.message_id for a in accepted]
    now = time.time()
    await rig.store.record(
        [PartSubmitted(i, 0, "b1", f"{tenant}-{i}", now, now) for i in ids]
        + [ReceiptArrived("sim", f"{tenant}-{i}", PartState.DELIVERED, now) for i in ids]
    )
    return ids


async def _until(condition: Callable[[], bool], deadline: float = 30.0) -> None:
    with trio.fail_after(deadline):
        while not condition():
            await trio.sleep(0.02)


async def _drained(rig: Rig) -> None:
    """Until every event is settled: a receiver may record one before the sender settles it."""
    with trio.fail_after(30):
        while (await rig.outbox.callback_stats()).pending:
            await trio.sleep(0.02)


def _events(receiver: Receiver, path: str) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.delivered if r.path == path]


def _check_signed(receiver: Receiver) -> None:
    for received in receiver.delivered:
        tenant = json.loads(received.body)["tenant"]
        event_id = verify_signature(
            SECRETS[tenant], received.headers, received.body, now=time.time()
        )
        assert event_id == json.loads(received.body)["event_id"]


def _in_order(events: list[dict[str, object]], ids: list[int]) -> None:
    """Each message's events arrived in the order they happened (a retry may repeat one)."""
    for message_id in ids:
        states = [e["state"] for e in events if e["message_id"] == message_id]
        deduplicated = [s for n, s in enumerate(states) if n == 0 or states[n - 1] != s]
        assert deduplicated == ["accepted", "submitted", "delivered"], (message_id, states)


async def _sender(rig: Rig, nursery: trio.Nursery, policy: CallbackPolicy = FAST) -> None:
    sender = CallbackSender(rig.outbox, SECRETS, policy, owner="test-gateway")
    await nursery.start(sender.run)


async def test_events_arrive_signed_and_in_order(rig: Rig) -> None:
    ids = await _send(rig, "acme", "/acme", 20)
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery)
        await _until(lambda: len(rig.receiver.delivered) >= 60)
        await _drained(rig)
        nursery.cancel_scope.cancel()
    events = _events(rig.receiver, "/acme")
    assert {e["message_id"] for e in events} == set(ids)
    _in_order(events, ids)
    _check_signed(rig.receiver)
    first = events[0]
    assert set(first) == {"event_id", "type", "message_id", "tenant", "state", "occurred_at"}
    assert (first["type"], first["tenant"]) == ("message.state", "acme")


async def test_a_failing_receiver_loses_nothing_and_keeps_the_order(rig: Rig) -> None:
    rig.receiver.set("/acme", "fail")
    ids = await _send(rig, "acme", "/acme", 10)
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery)
        await _until(lambda: rig.receiver.refused >= 20)
        retrying = await rig.outbox.list_callbacks(status=OutboxStatus.PENDING)
        assert any(e.attempts > 0 and e.last_error == "HTTP 500" for e in retrying)
        # Only the first event of each message was tried while it failed.
        assert {e.event for e in retrying if e.attempts} == {"accepted"}
        rig.receiver.set("/acme", "ok")
        await _until(
            lambda: len({json.loads(r.body)["event_id"] for r in rig.receiver.delivered}) == 30
        )
        await _drained(rig)
        nursery.cancel_scope.cancel()
    events = _events(rig.receiver, "/acme")
    assert {e["message_id"] for e in events} == set(ids)
    _in_order(events, ids)
    _check_signed(rig.receiver)


async def test_a_stalled_receiver_holds_back_no_other_tenant(rig: Rig) -> None:
    rig.receiver.set("/beta", "stall")
    beta = await _send(rig, "beta", "/beta", 10)
    acme = await _send(rig, "acme", "/acme", 20, first=100)
    policy = CallbackPolicy(
        timeout=60.0,  # the stalled receiver holds its requests for the whole test
        backoff=FAST.backoff,
        concurrency=8,
        per_host=64,
        per_tenant=2,
        lease=120.0,
        poll=0.02,
        defer=0.02,
    )
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery, policy)
        # Every acme event arrives while beta's receiver answers nothing.
        await _until(lambda: len(_events(rig.receiver, "/acme")) >= 60)
        assert _events(rig.receiver, "/beta") == []
        rig.receiver.set("/beta", "ok")
        await _until(lambda: len(_events(rig.receiver, "/beta")) >= 30)
        await _drained(rig)
        nursery.cancel_scope.cancel()
    _in_order(_events(rig.receiver, "/acme"), acme)
    _in_order(_events(rig.receiver, "/beta"), beta)
    _check_signed(rig.receiver)


async def test_events_failing_too_long_are_parked_then_replayed(rig: Rig) -> None:
    rig.receiver.set("/acme", "fail")
    ids = await _send(rig, "acme", "/acme", 3)
    policy = CallbackPolicy(
        timeout=0.5,
        backoff=Backoff(first=0.02, factor=1.0, longest=0.02, give_up_after=0.2),
        poll=0.02,
        defer=0.02,
    )
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery, policy)

        async def parked() -> int:
            return len(await rig.outbox.list_callbacks(status=OutboxStatus.DEAD))

        with trio.fail_after(30):
            while await parked() < 9:
                await trio.sleep(0.05)
        dead = await rig.outbox.list_callbacks(status=OutboxStatus.DEAD)
        assert {d.last_error for d in dead} == {"HTTP 500"}
        rig.receiver.set("/acme", "ok")
        await rig.outbox.replay_callbacks(now=time.time(), tenant="acme")
        await _until(lambda: len(_events(rig.receiver, "/acme")) >= 9)
        await _drained(rig)
        nursery.cancel_scope.cancel()
    # Parked events were parked one message at a time in order; replayed, they keep it.
    assert sorted({e["message_id"] for e in _events(rig.receiver, "/acme")}) == ids
    _check_signed(rig.receiver)


async def test_redirects_are_not_followed(rig: Rig) -> None:
    rig.receiver.set("/acme", "redirect")
    await _send(rig, "acme", "/acme", 1)
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery)
        await _until(lambda: rig.receiver.refused >= 2)
        nursery.cancel_scope.cancel()
    (waiting, *_) = await rig.outbox.list_callbacks(status=OutboxStatus.PENDING)
    assert waiting.last_error == "HTTP 302: redirects are not followed"
    assert rig.receiver.delivered == []


async def test_a_tenant_without_a_secret_gets_no_unsigned_callback(rig: Rig) -> None:
    await _send(rig, "nosecret", "/x", 1)
    async with trio.open_nursery() as nursery:
        await _sender(rig, nursery)

        async def failed() -> bool:
            pending = await rig.outbox.list_callbacks(status=OutboxStatus.PENDING)
            return any(e.attempts for e in pending)

        with trio.fail_after(30):
            while not await failed():
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    (event, *_) = await rig.outbox.list_callbacks(status=OutboxStatus.PENDING)
    assert event.last_error == "no callback secret configured for tenant 'nosecret'"
    assert rig.receiver.delivered == [] and rig.receiver.refused == 0
