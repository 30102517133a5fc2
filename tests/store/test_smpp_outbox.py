"""The outbox's SMPP side, on both backends: events for ``smpp:SYSTEM_ID`` go out over
SMPP binds, claimed only for the system_ids a process holds binds of; the HTTP
claim never returns them; many are settled at once."""

from __future__ import annotations

from smpp_engine.store import NewMessage, PartSubmitted, ReceiptArrived, Store
from smpp_engine.store.callbacks import SMPP_URL_PREFIX, OutboxStatus
from smpp_engine.store.messages.model import PartState

NOW = 1_765_000_000.0


def _message(n: int, url: str) -> NewMessage:
    return NewMessage(
        smsc="sim",
        source="ACME",
        destination=f"44770090{n:04d}",
        text="hello",
        tenant="acme",
        callback_url=url,
        callback_events=frozenset({"delivered", "undeliverable"}),
    )


async def test_smpp_events_are_claimed_per_system_id_and_never_by_the_http_claim(
    store: Store,
) -> None:
    alpha, beta = f"{SMPP_URL_PREFIX}alpha", f"{SMPP_URL_PREFIX}beta"
    a, b, h = await store.accept(
        [_message(1, alpha), _message(2, beta), _message(3, "http://hooks.example/a")], now=NOW
    )
    updates = []
    for n, accepted in enumerate((a, b, h)):
        updates += [
            PartSubmitted(accepted.message_id, 0, "b1", f"X{n}", NOW, NOW + 1),
            ReceiptArrived("sim", f"X{n}", PartState.DELIVERED, NOW + 2),
        ]
    await store.record(updates)
    outbox = store  # the CallbackStore part
    http = await outbox.claim_callbacks(owner="p1", now=NOW + 3, lease=60, limit=10)  # type: ignore[attr-defined]
    assert [e.message_id for e in http] == [h.message_id]
    nothing = await outbox.claim_callbacks_for([], owner="p1", now=NOW + 3, lease=60, limit=10)  # type: ignore[attr-defined]
    assert nothing == []
    mine = await outbox.claim_callbacks_for(  # type: ignore[attr-defined]
        [alpha], owner="p1", now=NOW + 3, lease=60, limit=10
    )
    assert [(e.message_id, e.event, e.url) for e in mine] == [(a.message_id, "delivered", alpha)]
    # Held under the lease: not claimed twice.
    again = await outbox.claim_callbacks_for(  # type: ignore[attr-defined]
        [alpha, beta], owner="p2", now=NOW + 4, lease=60, limit=10
    )
    assert [e.message_id for e in again] == [b.message_id]
    # Only the holder settles; settled events leave the outbox.
    assert await outbox.callbacks_delivered([mine[0].event_id], owner="p2") == 0  # type: ignore[attr-defined]
    settled = await outbox.callbacks_delivered(  # type: ignore[attr-defined]
        [mine[0].event_id], owner="p1"
    )
    assert settled == 1
    left = await outbox.list_callbacks(status=OutboxStatus.PENDING, limit=10)  # type: ignore[attr-defined]
    assert {e.message_id for e in left} == {b.message_id, h.message_id}
    # A lease that ran out (a process that died) is claimed again: none lost.
    later = await outbox.claim_callbacks_for(  # type: ignore[attr-defined]
        [beta], owner="p3", now=NOW + 100, lease=60, limit=10
    )
    assert [e.message_id for e in later] == [b.message_id]
