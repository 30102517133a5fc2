"""The early claim of a route that schedules delivery at the SMSC, on both stores.

With ``early`` a claim also takes a message whose client send time (``send_at``) is
that close, but never one whose not_before is anything else: a retry's back-off, a
campaign's pacing (campaign messages carry no send_at) or a message with no send time.
Without ``early`` nothing changes.
"""

from __future__ import annotations

from smpp_engine.store import NewMessage, Store, SubmitFailed


def _message(destination: str, **fields: object) -> NewMessage:
    return NewMessage(
        smsc="sim", source="ACME", destination=destination, text="Your bill", **fields
    )  # type: ignore[arg-type]


async def test_only_a_client_send_time_is_claimed_early(store: Store) -> None:
    scheduled, paced, later, retried = await store.accept(
        [
            _message("447700900001", not_before=1000.0, send_at=1000.0),
            # A not_before with no client send time (a campaign's, a notice's quiet hours).
            _message("447700900002", not_before=1000.0),
            _message("447700900003", not_before=5000.0, send_at=5000.0),
            _message("447700900004", not_before=0.0, send_at=0.0),
        ],
        now=1.0,
    )
    # The fourth was due at once: claimed, refused for a while (a retry moves not_before).
    (first,) = await store.claim("sim", 10, owner="g", now=2.0, lease=30.0)
    assert first.message_id == retried.message_id
    await store.record([SubmitFailed(retried.message_id, 0, 0x58, at=3.0, retry_at=1000.0)])
    # The ordinary claim takes nothing before its time.
    assert await store.claim("sim", 10, owner="g", now=800.0, lease=30.0) == []
    early = await store.claim("sim", 10, owner="g", now=800.0, lease=30.0, early=300.0)
    assert [m.message_id for m in early] == [scheduled.message_id]
    assert early[0].send_at == 1000.0
    # At their time the others go as ever, and the one far ahead stays.
    due = await store.claim("sim", 10, owner="g", now=1000.0, lease=30.0, early=300.0)
    assert {m.message_id for m in due} == {paced.message_id, retried.message_id}
    assert {m.message_id: m.send_at for m in due}[paced.message_id] is None
    assert later.message_id not in {m.message_id for m in due}
    found = await store.get(scheduled.message_id)
    assert found is not None
