"""The store contract: every sentence of interface.py, on every store (the ``store`` fixture).

Only the :class:`Store` protocol is used here, so SQLite and PostgreSQL answer to
the same tests. Times are plain numbers: the store is told the time, it never
reads a clock.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from smpp_engine.store import (
    Accepted,
    ClaimedMessage,
    Dispatching,
    MessageState,
    MessageView,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    ReceiptNoted,
    RecoveryReport,
    Store,
    SubmitFailed,
    SubmitUnknown,
)
from throttling import Priority

SMSC = "smsc-a"
OTHER = "smsc-b"
LEASE = 30.0


def message(n: int = 0, **fields: object) -> NewMessage:
    values: dict[str, object] = {
        "smsc": SMSC,
        "source": "ACME",
        "destination": f"44770090{n:04d}",
        "text": f"message {n}",
    }
    values.update(fields)
    return NewMessage(**values)  # type: ignore[arg-type]


async def accept_one(store: Store, now: float = 1.0, **fields: Any) -> int:
    [accepted] = await store.accept([message(**fields)], now=now)
    return accepted.message_id


async def claim_ids(store: Store, now: float, limit: int = 100, smsc: str = SMSC) -> list[int]:
    claimed = await store.claim(smsc, limit, owner="test", now=now, lease=LEASE)
    return [c.message_id for c in claimed]


async def view(store: Store, message_id: int) -> MessageView:
    found = await store.get(message_id)
    assert found is not None, message_id
    return found


async def state(store: Store, message_id: int) -> MessageState:
    return (await view(store, message_id)).state


def submitted(message_id: int, part: int = 0, at: float = 3.0) -> PartSubmitted:
    return PartSubmitted(message_id, part, "bind-1", f"id-{message_id}-{part}", at - 0.5, at)


def receipt(
    message_id: int, part: int = 0, part_state: PartState = PartState.DELIVERED, at: float = 5.0
) -> ReceiptArrived:
    return ReceiptArrived(SMSC, f"id-{message_id}-{part}", part_state, at, error="000")


async def submitted_message(store: Store, parts: int = 1) -> int:
    """A message claimed at 2.0 and answered ESME_ROK for every part at 3.0."""
    message_id = await accept_one(store, parts=parts)
    assert await claim_ids(store, now=2.0) == [message_id]
    await store.record([submitted(message_id, p) for p in range(parts)])
    return message_id


def event_count(found: MessageView) -> int:
    return len(found.events)


# --- accept ---


async def test_accept_returns_the_ids_in_the_order_given(store: Store) -> None:
    batch = [message(n) for n in range(5)]
    accepted = await store.accept(batch, now=1.0)
    assert [a.duplicate for a in accepted] == [False] * 5
    ids = [a.message_id for a in accepted]
    assert len(set(ids)) == 5
    for new, message_id in zip(batch, ids, strict=True):
        found = await view(store, message_id)
        assert (found.destination, found.text) == (new.destination, new.text)
        assert found.state is MessageState.QUEUED
        assert found.created_at == found.updated_at == 1.0
        assert found.events[0].event == "accepted"
        assert found.events[0].at == 1.0


async def test_accept_nothing_returns_nothing(store: Store) -> None:
    assert await store.accept([], now=1.0) == []
    assert sum((await store.count_by_state()).values()) == 0


async def test_a_view_holds_what_was_accepted(store: Store) -> None:
    new = message(7, parts=3, priority=1, campaign_id=42, idempotency_key="k-7")
    [accepted] = await store.accept([new], now=1.0)
    message_id = accepted.message_id
    found = await view(store, message_id)
    assert found.message_id == message_id
    assert (found.smsc, found.source, found.destination, found.text) == (
        SMSC,
        "ACME",
        new.destination,
        new.text,
    )
    assert (found.priority, found.parts, found.campaign_id, found.idempotency_key) == (
        1,
        3,
        42,
        "k-7",
    )
    assert (found.attempts, found.possible_duplicate, found.error_code) == (0, False, None)
    assert [p.part for p in found.part_views] == [0, 1, 2]
    assert all(p.state is PartState.PENDING for p in found.part_views)
    assert all(p.smsc_message_id is None for p in found.part_views)


async def test_an_idempotency_key_stores_the_message_once(store: Store) -> None:
    [first] = await store.accept([message(1, idempotency_key="invoice-1")], now=1.0)
    assert first == Accepted(first.message_id, duplicate=False)
    again = await store.accept(
        [message(2, idempotency_key="invoice-1"), message(3, idempotency_key="invoice-2")],
        now=2.0,
    )
    assert again[0] == Accepted(first.message_id, duplicate=True)
    assert not again[1].duplicate and again[1].message_id != first.message_id
    assert (await view(store, first.message_id)).destination == message(1).destination
    assert await store.count_by_state() == {MessageState.QUEUED: 2}
    assert await store.find_by_idempotency_key("invoice-1") == first.message_id
    assert await store.find_by_idempotency_key("invoice-2") == again[1].message_id
    assert await store.find_by_idempotency_key("invoice-3") is None


async def test_a_key_repeated_within_one_batch_is_stored_once(store: Store) -> None:
    accepted = await store.accept(
        [
            message(1, idempotency_key="a"),
            message(2, idempotency_key="a"),
            message(3),
            message(4, idempotency_key="a"),
        ],
        now=1.0,
    )
    first = accepted[0].message_id
    assert [(a.message_id == first, a.duplicate) for a in accepted] == [
        (True, False),
        (True, True),
        (False, False),
        (True, True),
    ]
    assert await store.count_by_state() == {MessageState.QUEUED: 2}
    assert (await view(store, first)).destination == message(1).destination


async def test_messages_without_a_key_are_never_duplicates(store: Store) -> None:
    accepted = await store.accept([message(1), message(1)], now=1.0)
    assert accepted[0].message_id != accepted[1].message_id
    assert not any(a.duplicate for a in accepted)


# --- claim ---


async def test_claim_hands_over_everything_needed_to_submit(store: Store) -> None:
    new = message(
        5,
        parts=2,
        priority=0,
        registered_delivery=False,
        expires_at=100.0,
        campaign_id=9,
        source_ton=1,
        source_npi=1,
        dest_ton=2,
        dest_npi=9,
    )
    [accepted] = await store.accept([new], now=1.0)
    [claimed] = await store.claim(SMSC, 10, owner="gw-1", now=2.0, lease=LEASE)
    assert claimed == ClaimedMessage(
        message_id=accepted.message_id,
        smsc=SMSC,
        source="ACME",
        destination=new.destination,
        text=new.text,
        parts=2,
        priority=0,
        registered_delivery=False,
        expires_at=100.0,
        attempts=0,
        possible_duplicate=False,
        campaign_id=9,
        pending_parts=(0, 1),
        source_ton=1,
        source_npi=1,
        dest_ton=2,
        dest_npi=9,
    )
    found = await view(store, accepted.message_id)
    assert found.state is MessageState.SUBMITTING
    assert found.attempts == 1  # the stored count went up; the claim saw the earlier ones


async def test_claim_order_is_priority_then_not_before_then_id(store: Store) -> None:
    specs = [
        (2, 0.0),  # a
        (1, 5.0),  # b
        (1, 0.0),  # c
        (0, 9.0),  # d
        (2, 0.0),  # e: same as a, later id
        (1, 0.0),  # f: same as c, later id
    ]
    ids = [
        a.message_id
        for a in await store.accept(
            [message(n, priority=p, not_before=nb) for n, (p, nb) in enumerate(specs)], now=0.0
        )
    ]
    a, b, c, d, e, f = ids
    assert await claim_ids(store, now=10.0) == [a, e, c, f, b, d]


async def test_a_claim_carries_the_priority_accepted_as_the_enum(store: Store) -> None:
    await store.accept([message(n, priority=p) for n, p in enumerate(Priority)], now=0.0)
    claimed = await store.claim(SMSC, 10, owner="test", now=1.0, lease=LEASE)
    assert [c.priority for c in claimed] == sorted(Priority, reverse=True)
    assert all(type(c.priority) is Priority for c in claimed)


async def test_claim_takes_at_most_limit_in_order(store: Store) -> None:
    ids = [a.message_id for a in await store.accept([message(n) for n in range(5)], now=1.0)]
    assert await claim_ids(store, now=2.0, limit=2) == ids[:2]
    assert await claim_ids(store, now=2.0, limit=2) == ids[2:4]
    assert await claim_ids(store, now=2.0, limit=2) == ids[4:]
    assert await claim_ids(store, now=2.0, limit=2) == []
    assert await claim_ids(store, now=2.0, limit=0) == []


async def test_claim_respects_not_before(store: Store) -> None:
    later = await accept_one(store, not_before=50.0)
    assert await claim_ids(store, now=49.0) == []
    assert await state(store, later) is MessageState.QUEUED
    assert await claim_ids(store, now=51.0) == [later]


async def test_claim_takes_only_the_named_smsc(store: Store) -> None:
    here = await accept_one(store)
    there = await accept_one(store, smsc=OTHER)
    assert await claim_ids(store, now=2.0, smsc=OTHER) == [there]
    assert await claim_ids(store, now=2.0) == [here]
    assert await store.count_by_state(smsc=SMSC) == {MessageState.SUBMITTING: 1}
    assert await store.count_by_state(smsc=OTHER) == {MessageState.SUBMITTING: 1}
    assert await store.count_by_state(smsc="nowhere") == {}


async def test_a_claimed_message_is_not_claimed_again_while_its_lease_runs(store: Store) -> None:
    message_id = await accept_one(store)
    assert await claim_ids(store, now=2.0) == [message_id]
    assert await claim_ids(store, now=3.0) == []
    assert await claim_ids(store, now=2.0 + LEASE - 1) == []
    assert await store.recover(now=2.0 + LEASE - 1) == RecoveryReport()
    assert await state(store, message_id) is MessageState.SUBMITTING


async def test_expired_messages_are_not_claimed_but_expired(store: Store) -> None:
    stale = await accept_one(store, expires_at=10.0, priority=0)
    fresh = await accept_one(store, expires_at=100.0, priority=1)
    forever = await accept_one(store, priority=2)
    assert await claim_ids(store, now=20.0) == [forever, fresh]
    found = await view(store, stale)
    assert found.state is MessageState.EXPIRED
    assert event_count(found) == 2  # accepted, then the expiry
    assert found.events[-1].at == 20.0
    assert await store.count_by_state() == {MessageState.EXPIRED: 1, MessageState.SUBMITTING: 2}


async def test_claimers_running_at_once_never_share_a_message(store: Store) -> None:
    accepted = await store.accept([message(n) for n in range(120)], now=1.0)
    taken: dict[str, list[int]] = {"gw-1": [], "gw-2": []}

    async def claimer(owner: str) -> None:
        while True:
            claimed = await store.claim(SMSC, 7, owner=owner, now=2.0, lease=LEASE)
            if not claimed:
                return
            taken[owner].extend(c.message_id for c in claimed)
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(claimer, "gw-1")
        nursery.start_soon(claimer, "gw-2")
    assert not set(taken["gw-1"]) & set(taken["gw-2"])
    everything = taken["gw-1"] + taken["gw-2"]
    assert sorted(everything) == sorted(a.message_id for a in accepted)
    assert await store.count_by_state() == {MessageState.SUBMITTING: 120}


# --- recover ---


async def test_recover_requeues_a_message_whose_lease_ran_out(store: Store) -> None:
    message_id = await accept_one(store)
    other = await accept_one(store)
    assert await claim_ids(store, now=2.0, limit=1) == [message_id]
    await store.record([Dispatching((message_id,))])
    before = event_count(await view(store, message_id))
    report = await store.recover(now=2.0 + LEASE + 1)
    assert (report.requeued, report.message_ids) == (1, (message_id,))
    assert (report.possible_duplicates, report.quarantined) == (1, ())
    found = await view(store, message_id)
    assert found.state is MessageState.QUEUED
    assert found.possible_duplicate
    assert event_count(found) == before + 1
    assert found.events[-1].detail == "owner=test -> queued possible_duplicate unclean_stops=1"
    assert await state(store, other) is MessageState.QUEUED  # never claimed: untouched
    [again] = await store.claim(SMSC, 1, owner="gw-2", now=40.0, lease=LEASE)
    assert again.message_id == message_id
    assert again.possible_duplicate
    assert again.attempts == 1
    assert again.pending_parts == (0,)
    assert (await view(store, message_id)).attempts == 2
    assert (await store.recover(now=41.0)).requeued == 0


async def test_recover_requeues_a_claim_never_dispatched_unflagged(store: Store) -> None:
    """Claimed but never sent (no Dispatching): nothing reached the SMSC."""
    sent, untried = await accept_one(store), await accept_one(store)
    assert await claim_ids(store, now=2.0) == [sent, untried]
    await store.record([Dispatching((sent,))])
    report = await store.recover(now=2.0 + LEASE + 1)
    assert (report.requeued, report.possible_duplicates) == (2, 1)
    found = await view(store, untried)
    assert (found.state, found.possible_duplicate, found.attempts) == (
        MessageState.QUEUED,
        False,
        0,
    )
    assert found.events[-1].detail == "owner=test -> queued never dispatched"
    assert (await view(store, sent)).possible_duplicate
    claimed = {c.message_id: c for c in await store.claim(SMSC, 9, owner="b", now=40, lease=9)}
    assert not claimed[untried].possible_duplicate and claimed[untried].unclean_stops == 0
    assert claimed[sent].possible_duplicate and claimed[sent].unclean_stops == 1


async def test_dispatching_marks_only_messages_still_submitting(store: Store) -> None:
    """A late mark for a message answered meanwhile changes nothing."""
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([submitted(message_id), Dispatching((message_id, 10_000))])
    assert await state(store, message_id) is MessageState.SUBMITTED
    assert (await store.stats()).get("orphan_updates", 0) == 0
    assert await store.recover(now=1_000.0) == RecoveryReport()


async def test_a_message_in_flight_at_repeated_unclean_stops_is_quarantined(
    store: Store,
) -> None:
    message_id = await accept_one(store)
    now = 2.0
    for stop in range(1, 3):
        [claimed] = await store.claim(SMSC, 1, owner=f"gw-{stop}", now=now, lease=LEASE)
        assert claimed.unclean_stops == stop - 1
        await store.record([Dispatching((message_id,))])
        now += LEASE + 1
        report = await store.recover(now=now, quarantine_after=3)
        assert report.message_ids == (message_id,)
    await store.claim(SMSC, 1, owner="gw-3", now=now, lease=LEASE)
    await store.record([Dispatching((message_id,))])
    now += LEASE + 1
    report = await store.recover(now=now, quarantine_after=3)
    assert (report.requeued, report.quarantined) == (0, (message_id,))
    found = await view(store, message_id)
    assert found.state is MessageState.QUARANTINED
    assert found.events[-1].event == "quarantined"
    assert "3 unclean stops in a row" in found.events[-1].detail
    assert await store.count_by_state() == {MessageState.QUARANTINED: 1}
    assert await claim_ids(store, now=now + 1) == []


async def test_an_answer_ends_a_run_of_unclean_stops(store: Store) -> None:
    """Only stops in a row count: a message that got through starts again from zero."""
    message_id = await accept_one(store, parts=2)
    for stop in range(2):
        await store.claim(SMSC, 1, owner="gw", now=2.0 + stop * 100, lease=LEASE)
        await store.record([Dispatching((message_id,))])
        await store.recover(now=2.0 + stop * 100 + LEASE + 1)
    [claimed] = await store.claim(SMSC, 1, owner="gw", now=300.0, lease=LEASE)
    assert claimed.unclean_stops == 2
    await store.record([Dispatching((message_id,)), submitted(message_id, 0, at=301.0)])
    report = await store.recover(now=400.0, quarantine_after=3)
    assert report.message_ids == (message_id,)  # requeued, not quarantined
    [claimed] = await store.claim(SMSC, 1, owner="gw", now=401.0, lease=LEASE)
    assert claimed.unclean_stops == 1 and claimed.pending_parts == (1,)


async def test_a_refusal_by_the_gateway_keeps_its_reason(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([SubmitFailed(message_id, 0, 0x08, at=3.0, reason="TypeError: boom")])
    found = await view(store, message_id)
    assert (found.state, found.error_code) == (MessageState.REJECTED, 0x08)
    assert found.events[-1].detail == (
        "part=0 command_status=0x00000008 reason=TypeError: boom -> rejected"
    )


async def test_renew_extends_the_leases_one_owner_holds_on_one_smsc(store: Store) -> None:
    mine = await accept_one(store)
    other_smsc = await accept_one(store, smsc=OTHER)
    others = await accept_one(store)
    answered = await accept_one(store)
    await store.claim(SMSC, 1, owner="gw-1", now=2.0, lease=LEASE)
    await store.claim(OTHER, 1, owner="gw-1", now=2.0, lease=LEASE)
    await store.claim(SMSC, 1, owner="gw-2", now=2.0, lease=LEASE)
    await store.claim(SMSC, 1, owner="gw-1", now=2.0, lease=LEASE)
    await store.record([submitted(answered)])
    assert await store.renew(SMSC, owner="gw-1", until=100.0) == 1
    report = await store.recover(now=2.0 + LEASE + 1)
    assert set(report.message_ids) == {other_smsc, others}
    assert await state(store, mine) is MessageState.SUBMITTING
    assert await state(store, answered) is MessageState.SUBMITTED
    assert (await store.recover(now=101.0)).message_ids == (mine,)
    assert await store.renew(SMSC, owner="nobody", until=500.0) == 0


async def test_recover_keeps_the_parts_already_submitted(store: Store) -> None:
    message_id = await accept_one(store, parts=3)
    await claim_ids(store, now=2.0)
    await store.record([Dispatching((message_id,)), submitted(message_id, 1)])
    assert (await store.recover(now=2.0 + LEASE + 1)).message_ids == (message_id,)
    [again] = await store.claim(SMSC, 1, owner="gw-2", now=40.0, lease=LEASE)
    assert again.pending_parts == (0, 2)
    parts = (await view(store, message_id)).part_views
    assert [p.state for p in parts] == [PartState.PENDING, PartState.SUBMITTED, PartState.PENDING]
    assert parts[1].smsc_message_id == f"id-{message_id}-1"
    # The resumed attempt answers the rest; the message is complete.
    await store.record([submitted(message_id, 0, at=41.0), submitted(message_id, 2, at=41.0)])
    assert await state(store, message_id) is MessageState.SUBMITTED


async def test_pending_parts_leave_out_any_part_already_answered(store: Store) -> None:
    # An answer can outrun the claim that would send it (a late answer to a message
    # requeued elsewhere): the part is not sent again, whatever the attempt.
    message_id = await accept_one(store, parts=3)
    await store.record([submitted(message_id, 1)])
    assert await state(store, message_id) is MessageState.QUEUED
    [claimed] = await store.claim(SMSC, 1, owner="test", now=4.0, lease=LEASE)
    assert claimed.pending_parts == (0, 2)


async def test_release_gives_back_untried_claims_without_flagging_them(store: Store) -> None:
    first = await accept_one(store)
    second = await accept_one(store)
    submitted_id = await accept_one(store)
    assert await claim_ids(store, now=2.0) == [first, second, submitted_id]
    await store.record([submitted(submitted_id, 0)])
    before = event_count(await view(store, first))
    released = await store.release([first, submitted_id, 999_999], owner="test", now=3.0)
    assert released == 1  # the submitted one and an unknown id are left alone
    found = await view(store, first)
    assert found.state is MessageState.QUEUED
    assert not found.possible_duplicate
    assert found.attempts == 0  # the claim it was never tried under does not count
    assert event_count(found) == before + 1
    assert found.events[-1].event == "released"
    assert await state(store, second) is MessageState.SUBMITTING
    assert await state(store, submitted_id) is MessageState.SUBMITTED
    assert await store.count_by_state() == {
        MessageState.QUEUED: 1,
        MessageState.SUBMITTING: 1,
        MessageState.SUBMITTED: 1,
    }
    [again] = await store.claim(SMSC, 1, owner="gw-2", now=4.0, lease=LEASE)
    assert (again.message_id, again.attempts, again.possible_duplicate) == (first, 0, False)


async def test_release_leaves_claims_of_another_owner(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    assert await store.release([message_id], owner="someone-else", now=3.0) == 0
    assert await store.release([], owner="test", now=3.0) == 0
    assert await state(store, message_id) is MessageState.SUBMITTING


async def test_recover_leaves_messages_that_are_no_longer_submitting(store: Store) -> None:
    message_id = await submitted_message(store)
    assert (await store.recover(now=2.0 + LEASE + 1)).requeued == 0
    assert await state(store, message_id) is MessageState.SUBMITTED


# --- record: PartSubmitted ---


async def test_a_message_is_submitted_when_every_part_is(store: Store) -> None:
    message_id = await accept_one(store, parts=2)
    await claim_ids(store, now=2.0)
    await store.record([PartSubmitted(message_id, 1, "bind-2", "B", 2.5, 3.0)])
    assert await state(store, message_id) is MessageState.SUBMITTING
    await store.record([PartSubmitted(message_id, 0, "bind-1", "A", 3.5, 4.0)])
    found = await view(store, message_id)
    assert found.state is MessageState.SUBMITTED
    first, second = found.part_views
    assert (first.state, first.bind, first.smsc_message_id) == (PartState.SUBMITTED, "bind-1", "A")
    assert (first.submitted_at, first.responded_at) == (3.5, 4.0)
    assert (second.state, second.bind, second.smsc_message_id) == (
        PartState.SUBMITTED,
        "bind-2",
        "B",
    )
    assert (second.submitted_at, second.responded_at) == (2.5, 3.0)
    assert first.receipt_at is None and second.receipt_at is None
    assert event_count(found) >= 3  # accepted and one per PartSubmitted


async def test_a_submitted_message_releases_its_lease(store: Store) -> None:
    message_id = await submitted_message(store)
    assert (await store.recover(now=1_000.0)).requeued == 0
    assert await claim_ids(store, now=1_000.0) == []
    assert await state(store, message_id) is MessageState.SUBMITTED


# --- record: SubmitFailed ---


async def test_a_failed_submit_with_retry_goes_back_to_the_queue(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([SubmitFailed(message_id, 0, 0x58, at=3.0, retry_at=60.0)])
    found = await view(store, message_id)
    assert found.state is MessageState.QUEUED
    assert not found.possible_duplicate  # an error answer: the SMSC did not take it
    assert (await store.recover(now=2.0 + LEASE + 1)).requeued == 0  # lease released
    assert await claim_ids(store, now=59.0) == []  # not_before = retry_at
    [again] = await store.claim(SMSC, 1, owner="test", now=61.0, lease=LEASE)
    assert (again.message_id, again.attempts, again.pending_parts) == (message_id, 1, (0,))


async def test_a_permanent_submit_error_rejects_the_message(store: Store) -> None:
    message_id = await accept_one(store, parts=2)
    await claim_ids(store, now=2.0)
    await store.record([submitted(message_id, 0), SubmitFailed(message_id, 1, 0x0B, at=3.0)])
    found = await view(store, message_id)
    assert found.state is MessageState.REJECTED
    assert found.error_code == 0x0B
    assert found.part_views[1].command_status == 0x0B
    assert found.part_views[1].state is PartState.FAILED
    assert await claim_ids(store, now=1_000.0) == []
    assert (await store.recover(now=1_000.0)).requeued == 0


async def test_an_expired_submit_error_expires_the_message(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([SubmitFailed(message_id, 0, 0x62, at=3.0, expired=True)])
    found = await view(store, message_id)
    assert (found.state, found.error_code) == (MessageState.EXPIRED, 0x62)


# --- record: SubmitUnknown ---


async def test_an_unanswered_submit_with_retry_is_resent_flagged_possible_duplicate(
    store: Store,
) -> None:
    message_id = await accept_one(store, parts=2)
    await claim_ids(store, now=2.0)
    await store.record(
        [submitted(message_id, 0), SubmitUnknown(message_id, 1, 3.5, "timeout", retry_at=10.0)]
    )
    found = await view(store, message_id)
    assert found.state is MessageState.QUEUED
    assert found.possible_duplicate
    assert found.part_views[0].state is PartState.SUBMITTED
    assert await claim_ids(store, now=9.0) == []
    [again] = await store.claim(SMSC, 1, owner="test", now=11.0, lease=LEASE)
    assert again.possible_duplicate
    assert again.pending_parts == (1,)
    await store.record([submitted(message_id, 1, at=12.0)])
    assert await state(store, message_id) is MessageState.SUBMITTED


async def test_an_unanswered_submit_without_retry_is_unknown(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([SubmitUnknown(message_id, 0, 3.0, "link_lost")])
    assert await state(store, message_id) is MessageState.UNKNOWN
    assert await claim_ids(store, now=1_000.0) == []


# --- record: receipts ---


@pytest.mark.parametrize(
    ("part_state", "final"),
    [
        (PartState.DELIVERED, MessageState.DELIVERED),
        (PartState.UNDELIVERABLE, MessageState.UNDELIVERABLE),
        (PartState.EXPIRED, MessageState.EXPIRED),
        (PartState.REJECTED, MessageState.REJECTED),
        (PartState.DELETED, MessageState.DELETED),
        (PartState.RECEIPT_UNKNOWN, MessageState.UNKNOWN),
    ],
)
async def test_a_receipt_gives_a_single_part_message_its_final_state(
    store: Store, part_state: PartState, final: MessageState
) -> None:
    message_id = await submitted_message(store)
    await store.record(
        [ReceiptArrived(SMSC, f"id-{message_id}-0", part_state, 5.0, error="042", done_at=4.5)]
    )
    found = await view(store, message_id)
    assert found.state is final
    [part] = found.part_views
    assert (part.state, part.receipt_at, part.receipt_error, part.done_at) == (
        part_state,
        5.0,
        "042",
        4.5,
    )
    assert part.smsc_message_id == f"id-{message_id}-0"  # the submit facts stay


async def test_a_long_message_is_delivered_only_when_every_part_is(store: Store) -> None:
    message_id = await submitted_message(store, parts=3)
    await store.record([receipt(message_id, 2), receipt(message_id, 0)])
    assert await state(store, message_id) is MessageState.SUBMITTED
    await store.record([receipt(message_id, 1)])
    found = await view(store, message_id)
    assert found.state is MessageState.DELIVERED
    assert [p.state for p in found.part_views] == [PartState.DELIVERED] * 3


@pytest.mark.parametrize("arrival", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
async def test_a_long_message_takes_the_state_of_its_first_part_not_delivered(
    store: Store, arrival: tuple[int, ...]
) -> None:
    message_id = await submitted_message(store, parts=3)
    states = [PartState.DELIVERED, PartState.EXPIRED, PartState.UNDELIVERABLE]
    for part in arrival:  # the order of arrival does not matter, the order of parts does
        await store.record([receipt(message_id, part, states[part])])
    assert await state(store, message_id) is MessageState.EXPIRED


async def test_a_receipt_before_its_part_submitted_is_held_then_applied(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([receipt(message_id, at=2.9)])
    assert (await store.stats())["held_receipts"] == 1
    assert await state(store, message_id) is MessageState.SUBMITTING
    await store.record([submitted(message_id, at=3.0)])
    found = await view(store, message_id)
    assert found.state is MessageState.DELIVERED
    assert found.part_views[0].receipt_at == 2.9
    assert (await store.stats())["held_receipts"] == 0


async def test_a_receipt_before_its_part_submitted_in_one_batch_is_applied(store: Store) -> None:
    message_id = await accept_one(store, parts=2)
    await claim_ids(store, now=2.0)
    await store.record(
        [
            receipt(message_id, 1, at=2.8),
            receipt(message_id, 0, at=2.9),
            submitted(message_id, 0),
            submitted(message_id, 1),
        ]
    )
    found = await view(store, message_id)
    assert found.state is MessageState.DELIVERED
    assert (await store.stats())["held_receipts"] == 0


async def test_a_held_receipt_completes_a_message_already_submitted_otherwise(
    store: Store,
) -> None:
    message_id = await accept_one(store, parts=2)
    await claim_ids(store, now=2.0)
    await store.record([submitted(message_id, 0), receipt(message_id, 0)])
    await store.record([receipt(message_id, 1, PartState.REJECTED, at=6.0)])
    assert (await store.stats())["held_receipts"] == 1
    await store.record([submitted(message_id, 1, at=7.0)])
    assert await state(store, message_id) is MessageState.REJECTED
    assert (await store.stats())["held_receipts"] == 0


async def test_a_receipt_names_its_smsc_as_well_as_the_id(store: Store) -> None:
    message_id = await submitted_message(store)
    await store.record([ReceiptArrived(OTHER, f"id-{message_id}-0", PartState.UNDELIVERABLE, 5.0)])
    assert await state(store, message_id) is MessageState.SUBMITTED
    assert (await store.stats())["held_receipts"] == 1


async def test_a_second_receipt_changes_nothing_but_adds_an_event(store: Store) -> None:
    message_id = await submitted_message(store)
    await store.record([receipt(message_id, at=5.0)])
    before = await view(store, message_id)
    await store.record([receipt(message_id, part_state=PartState.UNDELIVERABLE, at=6.0)])
    after = await view(store, message_id)
    assert after.state is MessageState.DELIVERED
    assert after.part_views == before.part_views
    assert event_count(after) == event_count(before) + 1
    assert after.events[: event_count(before)] == before.events


async def test_receipts_in_one_batch_apply_in_order(store: Store) -> None:
    first = await submitted_message(store)
    second = await submitted_message(store)
    await store.record(
        [
            receipt(first, part_state=PartState.DELIVERED),
            receipt(first, part_state=PartState.UNDELIVERABLE),
            receipt(second, part_state=PartState.UNDELIVERABLE),
            receipt(second, part_state=PartState.DELIVERED),
        ]
    )
    assert await state(store, first) is MessageState.DELIVERED
    assert await state(store, second) is MessageState.UNDELIVERABLE


async def test_held_receipts_older_than_the_limit_are_purged(store: Store) -> None:
    # Receipts for SMSC ids no submit was ever answered with: held.
    await store.record([receipt(900_001, at=10.0)])
    await store.record([receipt(900_002, at=20.0)])
    assert (await store.stats())["held_receipts"] == 2
    assert await store.purge_held_receipts(older_than=15.0) == 1
    assert (await store.stats())["held_receipts"] == 1
    assert await store.purge_held_receipts(older_than=15.0) == 0


async def test_held_duplicates_apply_in_order_of_arrival(store: Store) -> None:
    message_id = await accept_one(store)
    await claim_ids(store, now=2.0)
    await store.record([receipt(message_id, part_state=PartState.DELIVERED, at=2.5)])
    await store.record([receipt(message_id, part_state=PartState.UNDELIVERABLE, at=2.6)])
    assert (await store.stats())["held_receipts"] == 2
    await store.record([submitted(message_id)])
    assert await state(store, message_id) is MessageState.DELIVERED
    assert (await store.stats())["held_receipts"] == 0


async def test_a_final_state_never_changes(store: Store) -> None:
    delivered = await submitted_message(store)
    await store.record([receipt(delivered)])
    cancelled = await accept_one(store)
    assert await store.cancel([cancelled], now=4.0) == 1
    await store.record(
        [
            SubmitFailed(delivered, 0, 0x58, at=6.0, retry_at=7.0),
            SubmitUnknown(delivered, 0, 6.0, "timeout"),
            receipt(delivered, part_state=PartState.EXPIRED, at=6.0),
            submitted(cancelled, at=6.0),
            SubmitFailed(cancelled, 0, 0x0B, at=6.0),
        ]
    )
    assert await state(store, delivered) is MessageState.DELIVERED
    assert await state(store, cancelled) is MessageState.CANCELLED
    assert await store.recover(now=1_000.0) == RecoveryReport()
    assert await claim_ids(store, now=1_000.0) == []


async def test_updates_for_unknown_messages_are_ignored_and_counted(store: Store) -> None:
    known = await submitted_message(store)
    before = await store.count_by_state()
    missing = 10_000_000
    await store.record(
        [
            PartSubmitted(missing, 0, "bind-1", "zz", 3.0, 3.1),
            SubmitFailed(missing + 1, 0, 0x58, at=3.0, retry_at=9.0),
            SubmitUnknown(missing + 2, 0, 3.0, "timeout"),
            receipt(known),
        ]
    )
    stats = await store.stats()
    assert stats["orphan_updates"] == 3
    assert await store.get(missing) is None
    assert await state(store, known) is MessageState.DELIVERED
    after = await store.count_by_state()
    assert sum(after.values()) == sum(before.values())


async def test_record_nothing_is_harmless(store: Store) -> None:
    await store.record([])
    assert (await store.stats())["orphan_updates"] == 0


# --- expire_receipts ---


async def test_expire_receipts_can_be_limited_to_one_route(store: Store) -> None:
    here = await submitted_message(store)
    [other] = await store.accept([message(2, smsc=OTHER)], now=1.0)
    await claim_ids(store, now=2.0, smsc=OTHER)
    await store.record([PartSubmitted(other.message_id, 0, "bind-1", "x-1", 2.5, 3.0)])
    assert await store.expire_receipts(older_than=50.0, now=100.0, smsc=OTHER) == 1
    assert await state(store, here) is MessageState.SUBMITTED  # another route's timeout
    assert await state(store, other.message_id) is MessageState.UNKNOWN


async def test_submitted_messages_without_a_receipt_in_time_become_unknown(store: Store) -> None:
    waiting = await submitted_message(store)  # last updated at 3.0
    delivered = await submitted_message(store)
    await store.record([receipt(delivered)])
    queued = await accept_one(store)
    assert await store.expire_receipts(older_than=2.0, now=100.0) == 0
    assert await state(store, waiting) is MessageState.SUBMITTED
    before = event_count(await view(store, waiting))
    assert await store.expire_receipts(older_than=50.0, now=100.0) == 1
    found = await view(store, waiting)
    assert found.state is MessageState.UNKNOWN
    assert event_count(found) == before + 1
    assert await state(store, delivered) is MessageState.DELIVERED
    assert await state(store, queued) is MessageState.QUEUED
    assert await store.expire_receipts(older_than=50.0, now=100.0) == 0


async def test_on_a_failure_only_route_no_receipt_in_time_is_a_presumed_delivery(
    store: Store,
) -> None:
    waiting = await submitted_message(store)
    failed = await submitted_message(store)
    await store.record([receipt(failed, part_state=PartState.UNDELIVERABLE)])
    assert await store.expire_receipts(older_than=50.0, now=100.0, presume_delivered=True) == 1
    found = await view(store, waiting)
    assert found.state is MessageState.PRESUMED_DELIVERED
    assert (found.events[-1].event, found.events[-1].detail) == (
        "receipt_timeout",
        "no failure receipt -> presumed_delivered",
    )
    assert await state(store, failed) is MessageState.UNDELIVERABLE
    counts = await store.count_by_state()
    assert (counts.get(MessageState.PRESUMED_DELIVERED), counts.get(MessageState.SUBMITTED)) == (
        1,
        None,
    )


async def test_an_intermediate_note_goes_into_the_history_and_settles_nothing(
    store: Store,
) -> None:
    message_id = await submitted_message(store)
    await store.record(
        [
            ReceiptNoted(SMSC, f"id-{message_id}-0", "ENROUTE", 4.0),
            # One for an id no part carries is dropped, not held.
            ReceiptNoted(SMSC, "id-nobody", "ENROUTE", 4.0),
        ]
    )
    found = await view(store, message_id)
    assert found.state is MessageState.SUBMITTED
    assert (found.events[-1].event, found.events[-1].detail) == (
        "receipt_intermediate",
        "part=0 state=ENROUTE",
    )
    stats = await store.stats()
    assert stats["held_receipts"] == 0
    assert stats["intermediate_receipts_dropped"] == 1
    await store.record([receipt(message_id)])
    assert await state(store, message_id) is MessageState.DELIVERED


async def test_a_receipt_for_one_part_keeps_a_long_message_waiting(store: Store) -> None:
    message_id = await submitted_message(store, parts=2)  # updated at 3.0
    await store.record([receipt(message_id, 0, at=40.0)])
    assert await store.expire_receipts(older_than=30.0, now=100.0) == 0
    assert await store.expire_receipts(older_than=50.0, now=100.0) == 1


# --- cancel ---


async def test_cancel_withdraws_only_queued_messages(store: Store) -> None:
    done = await submitted_message(store)
    ids = [a.message_id for a in await store.accept([message(n) for n in range(4)], now=1.0)]
    claimed = (await claim_ids(store, now=2.0, limit=1))[0]
    count = await store.cancel([*ids, done, 10_000_000], now=5.0)
    assert count == 3
    assert await state(store, claimed) is MessageState.SUBMITTING
    assert await state(store, done) is MessageState.SUBMITTED
    for message_id in ids[1:]:
        found = await view(store, message_id)
        assert found.state is MessageState.CANCELLED
        assert event_count(found) == 2
    assert await claim_ids(store, now=6.0) == []
    assert await store.cancel(ids, now=6.0) == 0
    assert await store.cancel([], now=6.0) == 0


# --- reads ---


async def test_get_an_unknown_message_is_none(store: Store) -> None:
    assert await store.get(10_000_000) is None


async def test_the_history_is_in_order(store: Store) -> None:
    message_id = await accept_one(store, now=1.0)
    await claim_ids(store, now=2.0)
    await store.record([submitted(message_id, at=3.0)])
    await store.record([receipt(message_id, at=5.0)])
    found = await view(store, message_id)
    assert found.events[0].event == "accepted"
    times = [e.at for e in found.events]
    assert times == sorted(times)
    assert {1.0, 5.0} <= set(times)
    assert len({e.event for e in found.events}) >= 3  # each names what happened


async def test_count_by_state_follows_every_move(store: Store) -> None:
    ids = [a.message_id for a in await store.accept([message(n) for n in range(6)], now=1.0)]
    await store.accept([message(9, smsc=OTHER)], now=1.0)
    claimed = await claim_ids(store, now=2.0, limit=3)
    await store.record(
        [
            submitted(claimed[0]),
            submitted(claimed[1]),
            receipt(claimed[1]),
            SubmitFailed(claimed[2], 0, 0x0B, at=3.0),
        ]
    )
    await store.cancel([ids[5]], now=4.0)
    assert await store.count_by_state(smsc=SMSC) == {
        MessageState.QUEUED: 2,
        MessageState.SUBMITTED: 1,
        MessageState.DELIVERED: 1,
        MessageState.REJECTED: 1,
        MessageState.CANCELLED: 1,
    }
    everywhere = await store.count_by_state()
    assert everywhere[MessageState.QUEUED] == 3
    assert sum(everywhere.values()) == 7
    assert all(n > 0 for n in everywhere.values())


async def test_stats_name_the_counters(store: Store) -> None:
    stats = await store.stats()
    assert stats["held_receipts"] == 0
    assert stats["orphan_updates"] == 0


async def test_aclose_is_idempotent(store: Store) -> None:
    await store.aclose()
    await store.aclose()
