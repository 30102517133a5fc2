"""Tenants and the callback outbox in the store, on both backends.

Each sentence of the outbox's interface is a test here: events written in the
transaction of the state change, in order per message, only the oldest pending
event of a message claimable, delivered ones gone, failed ones retried or parked,
dead letters listed and replayed. Quotas are counted in the store and refused
over their limit; usage is counted per tenant, day and state.
"""

from __future__ import annotations

from smpp_engine.store import NewMessage, PartSubmitted, ReceiptArrived, Store
from smpp_engine.store.callbacks import OutboxRow, OutboxStats, OutboxStatus
from smpp_engine.store.messages.model import PartState, SubmitFailed

NOW = 1_765_000_000.0  # 2025-12-06 05:46:40 UTC


def _message(
    n: int,
    *,
    tenant: str | None = "acme",
    events: frozenset[str] | None = None,
    url: str | None = "http://hooks.example/a",
) -> NewMessage:
    return NewMessage(
        smsc="sim",
        source="ACME",
        destination=f"44770090{n:04d}",
        text="hello",
        tenant=tenant,
        callback_url=url,
        callback_events=events
        if events is not None
        else frozenset({"accepted", "submitted", "delivered", "rejected"}),
    )


async def _outbox(store: Store) -> list[tuple[int | None, str]]:
    events = await store.list_callbacks(status=OutboxStatus.PENDING, limit=1000)  # type: ignore[attr-defined]
    return [(e.message_id, e.event) for e in events]


async def test_state_changes_asked_for_are_written_in_order(store: Store) -> None:
    (a, b, c) = await store.accept(
        [_message(1), _message(2, url=None), _message(3, events=frozenset({"delivered"}))],
        now=NOW,
    )
    assert await _outbox(store) == [(a.message_id, "accepted")]
    # Submitted then delivered in one batch: two events, in that order.
    await store.record(
        [
            PartSubmitted(a.message_id, 0, "b1", "X1", NOW, NOW + 1),
            ReceiptArrived("sim", "X1", PartState.DELIVERED, NOW + 2),
            PartSubmitted(b.message_id, 0, "b1", "X2", NOW, NOW + 1),
            PartSubmitted(c.message_id, 0, "b1", "X3", NOW, NOW + 1),
        ]
    )
    assert await _outbox(store) == [
        (a.message_id, "accepted"),
        (a.message_id, "submitted"),
        (a.message_id, "delivered"),
    ]
    await store.record([ReceiptArrived("sim", "X3", PartState.DELIVERED, NOW + 3)])
    assert (c.message_id, "delivered") in await _outbox(store)
    view = await store.get(a.message_id)
    assert view is not None and view.tenant == "acme"
    plain = await store.get(b.message_id)
    assert plain is not None and plain.tenant == "acme"


async def test_only_the_oldest_pending_event_of_a_message_is_claimed(store: Store) -> None:
    (a,) = await store.accept([_message(1)], now=NOW)
    await store.record([SubmitFailed(a.message_id, 0, 0x45, NOW + 1)])  # rejected
    await store.add_callbacks([OutboxRow(None, "acme", "http://hooks.example/mo", "mo", NOW)])  # type: ignore[attr-defined]
    claimed = await store.claim_callbacks(owner="p1", now=NOW + 5, lease=30, limit=10)  # type: ignore[attr-defined]
    assert [(e.message_id, e.event) for e in claimed] == [
        (a.message_id, "accepted"),
        (None, "mo"),
    ]
    # Leased: another process gets nothing, not even the message's later event.
    assert await store.claim_callbacks(owner="p2", now=NOW + 6, lease=30, limit=10) == []  # type: ignore[attr-defined]
    first = claimed[0]
    assert await store.callback_delivered(first.event_id, owner="p1")  # type: ignore[attr-defined]
    again = await store.claim_callbacks(owner="p2", now=NOW + 7, lease=30, limit=10)  # type: ignore[attr-defined]
    assert [(e.message_id, e.event) for e in again] == [(a.message_id, "rejected")]
    # A lease that ran out: the event is claimed again (at least once).
    later = await store.claim_callbacks(owner="p3", now=NOW + 100, lease=30, limit=10)  # type: ignore[attr-defined]
    assert {e.event for e in later} == {"rejected", "mo"}


async def test_failed_events_wait_then_are_parked_and_replayed(store: Store) -> None:
    await store.accept([_message(1, events=frozenset({"accepted"}))], now=NOW)
    (event,) = await store.claim_callbacks(owner="p1", now=NOW, lease=30, limit=10)  # type: ignore[attr-defined]
    assert await store.callback_failed(  # type: ignore[attr-defined]
        event.event_id, owner="p1", status=OutboxStatus.PENDING, next_at=NOW + 60, error="HTTP 500"
    )
    assert await store.callback_stats() == OutboxStats(1, 1, 0, NOW)  # type: ignore[attr-defined]
    assert await store.claim_callbacks(owner="p1", now=NOW + 59, lease=30, limit=10) == []  # type: ignore[attr-defined]
    (event,) = await store.claim_callbacks(owner="p1", now=NOW + 60, lease=30, limit=10)  # type: ignore[attr-defined]
    assert event.attempts == 1 and event.last_error == "HTTP 500"
    # Another holder's settlement changes nothing.
    assert not await store.callback_delivered(event.event_id, owner="p2")  # type: ignore[attr-defined]
    assert await store.callback_failed(  # type: ignore[attr-defined]
        event.event_id, owner="p1", status=OutboxStatus.DEAD, next_at=NOW + 60, error="timeout"
    )
    assert await store.claim_callbacks(owner="p1", now=NOW + 10_000, lease=30, limit=10) == []  # type: ignore[attr-defined]
    (dead,) = await store.list_callbacks(status=OutboxStatus.DEAD)  # type: ignore[attr-defined]
    assert (dead.event_id, dead.attempts, dead.last_error) == (event.event_id, 2, "timeout")
    assert await store.list_callbacks(status=OutboxStatus.DEAD, tenant="other") == []  # type: ignore[attr-defined]
    assert await store.callback_stats() == OutboxStats(0, 0, 1, None)  # type: ignore[attr-defined]
    assert await store.replay_callbacks(now=NOW + 20_000, tenant="other") == 0  # type: ignore[attr-defined]
    assert await store.replay_callbacks(now=NOW + 20_000, event_id=dead.event_id) == 1  # type: ignore[attr-defined]
    (replayed,) = await store.claim_callbacks(owner="p1", now=NOW + 20_000, lease=30, limit=10)  # type: ignore[attr-defined]
    assert (replayed.event_id, replayed.attempts, replayed.created_at) == (
        event.event_id,
        0,
        NOW + 20_000,
    )
    assert await store.callback_stats() == OutboxStats(1, 0, 0, NOW + 20_000)  # type: ignore[attr-defined]


async def test_quotas_are_counted_and_refused_over_the_limit(store: Store) -> None:
    reserve = store.reserve_quota  # type: ignore[attr-defined]
    assert await reserve("acme", messages=2, parts=3, now=NOW, daily=3, monthly=10) is None
    refusal = await reserve("acme", messages=2, parts=2, now=NOW, daily=3, monthly=10)
    assert (refusal.period, refusal.limit, refusal.used) == ("daily", 3, 2)
    # The refused reservation counted nothing.
    assert await store.quota_use("acme", now=NOW) == (2, 2)  # type: ignore[attr-defined]
    assert await reserve("acme", messages=1, parts=1, now=NOW, daily=3, monthly=10) is None
    # The next day has its own count; the month goes on.
    tomorrow = NOW + 86_400
    refusal = await reserve("acme", messages=8, parts=8, now=tomorrow, daily=None, monthly=10)
    assert (refusal.period, refusal.limit, refusal.used) == ("monthly", 10, 3)
    await store.release_quota("acme", messages=1, parts=1, at=NOW)  # type: ignore[attr-defined]
    assert await store.quota_use("acme", now=NOW) == (2, 2)  # type: ignore[attr-defined]
    assert await store.quota_use("other", now=NOW) == (0, 0)  # type: ignore[attr-defined]


async def test_usage_by_tenant_day_and_state(store: Store) -> None:
    two_parts = NewMessage(
        smsc="sim", source="A", destination="447700900001", text="x", parts=2, tenant="acme"
    )
    await store.accept([two_parts, _message(2), _message(3, tenant="beta")], now=NOW)
    await store.accept([_message(4, tenant=None)], now=NOW + 86_400)
    rows = await store.tenant_usage(since=NOW - 10, until=NOW + 2 * 86_400)  # type: ignore[attr-defined]
    assert [(r.day, r.tenant, r.state, r.messages, r.parts) for r in rows] == [
        ("2025-12-06", "acme", "queued", 2, 3),
        ("2025-12-06", "beta", "queued", 1, 1),
        ("2025-12-07", None, "queued", 1, 1),
    ]
    only = await store.tenant_usage(since=NOW - 10, until=NOW + 10, tenant="beta")  # type: ignore[attr-defined]
    assert [(r.tenant, r.messages) for r in only] == [("beta", 1)]


async def test_set_based_changes_write_their_events_too(store: Store) -> None:
    every = frozenset({"expired", "unknown", "cancelled", "quarantined", "submitted"})
    late = NewMessage(
        smsc="sim",
        source="A",
        destination="447700900001",
        text="x",
        expires_at=NOW + 1,
        callback_url="http://hooks.example/a",
        callback_events=every,
    )
    (expired, waiting, cancelled, crashed) = await store.accept(
        [late, _message(2, events=every), _message(3, events=every), _message(4, events=every)],
        now=NOW,
    )
    await store.cancel([cancelled.message_id], now=NOW + 1)
    claimed = await store.claim("sim", 10, owner="gw", now=NOW + 5, lease=10)
    assert {c.message_id for c in claimed} == {waiting.message_id, crashed.message_id}
    await store.record([PartSubmitted(waiting.message_id, 0, "b1", "W1", NOW + 5, NOW + 6)])
    await store.expire_receipts(older_than=NOW + 100, now=NOW + 100)
    # The crashed one was in flight at an unclean stop: quarantined at once with 1.
    from smpp_engine.store import Dispatching  # noqa: PLC0415

    await store.record([Dispatching((crashed.message_id,))])
    await store.recover(now=NOW + 200, quarantine_after=1)
    assert await _outbox(store) == [
        (cancelled.message_id, "cancelled"),
        (expired.message_id, "expired"),
        (waiting.message_id, "submitted"),
        (waiting.message_id, "unknown"),
        (crashed.message_id, "quarantined"),
    ]


async def test_a_cancelled_campaigns_messages_tell_their_clients(store: Store) -> None:
    from smpp_engine.store import NewCampaign  # noqa: PLC0415

    campaigns = store  # both stores implement the campaign store
    view = await campaigns.create_campaign(  # type: ignore[attr-defined]
        NewCampaign("c1", "sim", "ACME", "hi", "bulk", 10.0, None, "{}", tenant="acme"),
        now=NOW,
    )
    every = frozenset({"cancelled"})
    (a, _plain) = await campaigns.add_campaign_messages(  # type: ignore[attr-defined]
        view.campaign_id, [_message(1, events=every), _message(2, url=None)], now=NOW
    )
    await campaigns.set_campaign_state(view.campaign_id, "scheduled", now=NOW)  # type: ignore[attr-defined]
    await campaigns.set_campaign_state(view.campaign_id, "cancelled", now=NOW + 1)  # type: ignore[attr-defined]
    assert await _outbox(store) == [(a.message_id, "cancelled")]


async def test_a_receipt_timeout_tells_the_state_it_settles_in(store: Store) -> None:
    # On a route asking failure receipts only, no receipt by the timeout is a
    # presumed delivery: its clients hear that, not "unknown" (PostgreSQL writes
    # these events in one set-based statement, SQLite per message).
    wanted = frozenset({"submitted", "presumed_delivered", "unknown"})
    (presumed, silent, other) = await store.accept(
        [
            _message(1, events=wanted),
            _message(2, events=frozenset({"unknown"})),  # did not ask for that state
            NewMessage(
                smsc="elsewhere",
                source="ACME",
                destination="447700900003",
                text="x",
                tenant="acme",
                callback_url="http://hooks.example/a",
                callback_events=wanted,
            ),
        ],
        now=NOW,
    )
    for smsc in ("sim", "elsewhere"):
        await store.claim(smsc, 10, owner="gw", now=NOW + 1, lease=10)
    await store.record(
        [
            PartSubmitted(presumed.message_id, 0, "b1", "P1", NOW + 1, NOW + 2),
            PartSubmitted(silent.message_id, 0, "b1", "S1", NOW + 1, NOW + 2),
            PartSubmitted(other.message_id, 0, "b1", "O1", NOW + 1, NOW + 2),
        ]
    )
    settled = await store.expire_receipts(
        older_than=NOW + 100, now=NOW + 100, smsc="sim", presume_delivered=True
    )
    assert settled == 2
    await store.expire_receipts(older_than=NOW + 100, now=NOW + 101, smsc="elsewhere")
    outbox = await _outbox(store)
    events = {
        m.message_id: [e for i, e in outbox if i == m.message_id] for m in (presumed, silent, other)
    }
    assert events == {
        presumed.message_id: ["submitted", "presumed_delivered"],
        silent.message_id: [],
        other.message_id: ["submitted", "unknown"],
    }
