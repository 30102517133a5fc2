"""The campaign store contract: every sentence of campaign_interface.py, on every store.

Only the :class:`Store` and :class:`CampaignStore` protocols are used, so SQLite
and PostgreSQL answer to the same tests (the ``store`` fixture). A message's
``not_before`` is not part of its view: re-pacing is checked through what a
claim at a given instant takes.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

import pytest

from smpp_engine.campaigns import CampaignState
from smpp_engine.store import (
    Accepted,
    CampaignClosedError,
    CampaignStats,
    CampaignStore,
    CampaignView,
    Dispatching,
    DuplicateNameError,
    GroupMember,
    GroupView,
    MessageState,
    MessageView,
    NewCampaign,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    Store,
    StoreError,
    SubmitFailed,
    SubmitUnknown,
    UnknownCampaignError,
    UnknownGroupError,
)
from smpp_engine.store.campaigns.model import CLOSED_STATES, HOLDING_STATES, RELEASING_STATES

SMSC = "smsc-a"
LEASE = 30.0


class Stores(Store, CampaignStore, Protocol):
    """What the ``store`` fixture yields: both interfaces."""


def new_campaign(name: str = "winter-debt", **fields: Any) -> NewCampaign:
    values: dict[str, Any] = {
        "name": name,
        "smsc": SMSC,
        "sender": "WATERCO",
        "template": "Dear {name}, you owe {amount}.",
        "kind": "bulk",
        "rate": 10.0,
        "start_at": None,
        "settings": '{"quiet_hours": "21:00-08:00"}',
    }
    values.update(fields)
    return NewCampaign(**values)


def message(n: int = 0, **fields: Any) -> NewMessage:
    values: dict[str, Any] = {
        "smsc": SMSC,
        "source": "WATERCO",
        "destination": f"4477009{n:05d}",
        "text": f"message {n}",
    }
    values.update(fields)
    return NewMessage(**values)


async def campaign(
    store: Stores, state: str = "running", name: str = "winter-debt", now: float = 1.0
) -> int:
    """A campaign in ``state`` (persisted as given: the store does not judge transitions)."""
    created = await store.create_campaign(new_campaign(name), now=now)
    if state != "draft":
        await store.set_campaign_state(created.campaign_id, state, now=now)
    return created.campaign_id


async def add(
    store: Stores, campaign_id: int, count: int = 1, now: float = 1.0, **fields: Any
) -> list[int]:
    accepted = await store.add_campaign_messages(
        campaign_id, [message(n, **fields) for n in range(count)], now=now
    )
    return [a.message_id for a in accepted]


async def view(store: Stores, message_id: int) -> MessageView:
    found = await store.get(message_id)
    assert found is not None, message_id
    return found


async def states(store: Stores, ids: list[int]) -> list[MessageState]:
    return [(await view(store, message_id)).state for message_id in ids]


async def claim_ids(store: Stores, now: float, limit: int = 100) -> list[int]:
    claimed = await store.claim(SMSC, limit, owner="test", now=now, lease=LEASE)
    return [c.message_id for c in claimed]


def submitted(message_id: int, at: float = 3.0) -> PartSubmitted:
    return PartSubmitted(message_id, 0, "bind-1", f"id-{message_id}", at - 0.5, at)


def receipt(message_id: int, part_state: PartState = PartState.DELIVERED) -> ReceiptArrived:
    return ReceiptArrived(SMSC, f"id-{message_id}", part_state, 5.0, error="000")


# --- the model ---


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"name": " "}, "name"),
        ({"kind": "spam"}, "kind"),
        ({"rate": 0.0}, "rate"),
        ({"rate": -1.0}, "rate"),
        ({"rate": math.inf}, "rate"),
        ({"rate": math.nan}, "rate"),
        ({"start_at": math.nan}, "start_at"),
        ({"settings": "quiet hours at night"}, "JSON"),
    ],
)
def test_a_new_campaign_refuses_bad_values(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        new_campaign(**fields)


async def test_whole_numbers_come_back_as_floats(store: Stores) -> None:
    created = await store.create_campaign(new_campaign(rate=2, start_at=1000), now=1.0)
    found = await store.get_campaign(created.campaign_id)
    assert found is not None
    assert (type(found.rate), type(found.start_at)) == (float, float)
    assert (found.rate, found.start_at) == (2.0, 1000.0)


def test_every_campaign_state_is_holding_releasing_or_closed() -> None:
    # The store's rules name the domain's states: a state added there must be placed here.
    groups = [HOLDING_STATES, RELEASING_STATES, CLOSED_STATES]
    assert set().union(*groups) == {state.value for state in CampaignState}
    assert sum(len(group) for group in groups) == len(CampaignState)


def test_both_kinds_of_campaign_are_accepted() -> None:
    assert new_campaign(kind="legal_notice").kind == "legal_notice"
    assert new_campaign(kind="bulk").kind == "bulk"


# --- create, read, list ---


async def test_a_campaign_starts_as_a_draft_holding_what_it_was_given(store: Stores) -> None:
    new = new_campaign(kind="legal_notice", rate=2.5, start_at=1000.0)
    created = await store.create_campaign(new, now=7.0)
    assert created == CampaignView(
        campaign_id=created.campaign_id,
        name=new.name,
        smsc=SMSC,
        sender="WATERCO",
        template=new.template,
        kind="legal_notice",
        rate=2.5,
        start_at=1000.0,
        settings=new.settings,
        state="draft",
        created_at=7.0,
        updated_at=7.0,
    )
    assert await store.get_campaign(created.campaign_id) == created
    assert await store.find_campaign(new.name) == created


async def test_unknown_campaigns_are_none(store: Stores) -> None:
    assert await store.get_campaign(10_000_000) is None
    assert await store.find_campaign("nobody") is None
    assert await store.list_campaigns() == []


async def test_a_duplicate_campaign_name_is_refused_naming_it(store: Stores) -> None:
    first = await store.create_campaign(new_campaign("same"), now=1.0)
    with pytest.raises(DuplicateNameError, match="'same'") as caught:
        await store.create_campaign(new_campaign("same", rate=99.0), now=2.0)
    assert isinstance(caught.value, StoreError)
    assert caught.value.name == "same"
    assert await store.list_campaigns() == [first]


async def test_campaigns_are_listed_newest_first(store: Stores) -> None:
    old = await store.create_campaign(new_campaign("old"), now=1.0)
    new = await store.create_campaign(new_campaign("new"), now=5.0)
    same_time = await store.create_campaign(new_campaign("same-time"), now=5.0)
    assert [c.name for c in await store.list_campaigns()] == [
        same_time.name,
        new.name,
        old.name,
    ]


# --- add_campaign_messages ---


async def test_added_messages_belong_to_the_campaign_whatever_they_carried(
    store: Stores,
) -> None:
    campaign_id = await campaign(store, "running")
    batch = [message(0), message(1, campaign_id=424242), message(2)]
    accepted = await store.add_campaign_messages(campaign_id, batch, now=3.0)
    assert [a.duplicate for a in accepted] == [False] * 3
    for new, a in zip(batch, accepted, strict=True):
        found = await view(store, a.message_id)
        assert found.campaign_id == campaign_id
        assert found.state is MessageState.QUEUED
        assert (found.destination, found.text, found.created_at) == (
            new.destination,
            new.text,
            3.0,
        )
        assert found.events[0].event == "accepted"
    assert await store.count_by_state() == {MessageState.QUEUED: 3}


async def test_adding_honours_idempotency_keys_as_accept_does(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    [first] = await store.add_campaign_messages(
        campaign_id, [message(0, idempotency_key="c:1")], now=1.0
    )
    again = await store.add_campaign_messages(
        campaign_id, [message(0, idempotency_key="c:1"), message(1, idempotency_key="c:2")], now=2.0
    )
    assert again[0] == Accepted(first.message_id, duplicate=True)
    assert not again[1].duplicate
    assert await store.find_by_idempotency_key("c:2") == again[1].message_id
    assert sum((await store.count_by_state()).values()) == 2


@pytest.mark.parametrize(
    ("campaign_state", "stored"),
    [
        ("draft", MessageState.HELD),
        ("scheduled", MessageState.QUEUED),
        ("running", MessageState.QUEUED),
        ("paused", MessageState.HELD),
    ],
)
async def test_messages_wait_as_the_campaign_state_says(
    store: Stores, campaign_state: str, stored: MessageState
) -> None:
    campaign_id = await campaign(store, campaign_state)
    ids = await add(store, campaign_id, 2)
    assert await states(store, ids) == [stored, stored]
    assert await store.count_by_state() == {stored: 2}
    assert await store.count_by_state(smsc=SMSC) == {stored: 2}


@pytest.mark.parametrize("closed", ["cancelled", "completed"])
async def test_a_closed_campaign_takes_no_more_messages(store: Stores, closed: str) -> None:
    campaign_id = await campaign(store, closed)
    with pytest.raises(CampaignClosedError, match=closed) as caught:
        await add(store, campaign_id, 2)
    assert (caught.value.campaign_id, caught.value.state) == (campaign_id, closed)
    assert isinstance(caught.value, StoreError)
    assert await store.count_by_state() == {}


async def test_adding_to_an_unknown_campaign_is_refused(store: Stores) -> None:
    with pytest.raises(UnknownCampaignError, match="10000000") as caught:
        await add(store, 10_000_000, 2)
    assert caught.value.campaign_id == 10_000_000
    assert isinstance(caught.value, StoreError)
    with pytest.raises(UnknownCampaignError):
        await store.add_campaign_messages(10_000_000, [], now=1.0)
    assert await store.count_by_state() == {}


async def test_adding_refuses_a_message_of_no_parts(store: Stores) -> None:
    campaign_id = await campaign(store)
    with pytest.raises(ValueError, match="parts"):
        await add(store, campaign_id, 1, parts=0)


async def test_adding_nothing_to_a_campaign_stores_nothing(store: Stores) -> None:
    campaign_id = await campaign(store)
    assert await store.add_campaign_messages(campaign_id, [], now=1.0) == []


# --- set_campaign_state ---


async def test_set_campaign_state_persists_and_returns_the_view(store: Stores) -> None:
    created = await store.create_campaign(new_campaign(), now=1.0)
    changed = await store.set_campaign_state(created.campaign_id, "scheduled", now=4.0)
    assert changed.state == "scheduled"
    assert (changed.created_at, changed.updated_at) == (1.0, 4.0)
    assert changed.name == created.name
    assert await store.get_campaign(created.campaign_id) == changed


async def test_set_campaign_state_refuses_unknown_ids_and_states(store: Stores) -> None:
    with pytest.raises(UnknownCampaignError):
        await store.set_campaign_state(10_000_000, "paused", now=1.0)
    campaign_id = await campaign(store, "draft")
    with pytest.raises(ValueError, match="sleeping"):
        await store.set_campaign_state(campaign_id, "sleeping", now=2.0)
    assert (await store.get_campaign(campaign_id)) is not None
    assert (await store.get_campaign(campaign_id)).state == "draft"  # type: ignore[union-attr]


async def test_pausing_holds_the_queued_messages_and_they_are_never_claimed(
    store: Stores,
) -> None:
    campaign_id = await campaign(store, "running")
    in_flight, *waiting = await add(store, campaign_id, 4)
    assert await claim_ids(store, now=2.0, limit=1) == [in_flight]
    paused = await store.set_campaign_state(campaign_id, "paused", now=3.0)
    assert paused.state == "paused"
    assert await states(store, waiting) == [MessageState.HELD] * 3
    assert (await view(store, waiting[0])).updated_at == 3.0
    assert await states(store, [in_flight]) == [MessageState.SUBMITTING]  # already out
    assert await claim_ids(store, now=1_000_000.0) == []
    assert await store.count_by_state() == {MessageState.HELD: 3, MessageState.SUBMITTING: 1}


async def test_held_messages_are_not_expired_by_a_claim(store: Stores) -> None:
    campaign_id = await campaign(store, "paused")
    [held] = await add(store, campaign_id, 1, expires_at=10.0)
    assert await claim_ids(store, now=20.0) == []
    assert await states(store, [held]) == [MessageState.HELD]
    await store.set_campaign_state(campaign_id, "running", now=30.0)
    assert await claim_ids(store, now=30.0) == []  # now it expires, as any queued message
    assert await states(store, [held]) == [MessageState.EXPIRED]


@pytest.mark.parametrize("resumed", ["running", "scheduled"])
async def test_resuming_queues_the_held_messages_again(store: Stores, resumed: str) -> None:
    campaign_id = await campaign(store, "running")
    ids = await add(store, campaign_id, 3)
    await store.set_campaign_state(campaign_id, "paused", now=2.0)
    await store.set_campaign_state(campaign_id, resumed, now=3.0)
    assert await states(store, ids) == [MessageState.QUEUED] * 3
    assert await claim_ids(store, now=4.0) == ids
    assert await store.count_by_state() == {MessageState.SUBMITTING: 3}


async def test_a_draft_holds_its_messages_until_it_is_scheduled(store: Stores) -> None:
    campaign_id = await campaign(store, "draft")
    ids = await add(store, campaign_id, 2)
    assert await claim_ids(store, now=2.0) == []
    await store.set_campaign_state(campaign_id, "scheduled", now=3.0)
    assert await states(store, ids) == [MessageState.QUEUED] * 2
    await store.set_campaign_state(campaign_id, "draft", now=4.0)  # unscheduled
    assert await states(store, ids) == [MessageState.HELD] * 2
    assert await claim_ids(store, now=5.0) == []


async def test_cancelling_cancels_the_queued_and_held_messages_with_events(
    store: Stores,
) -> None:
    campaign_id = await campaign(store, "running")
    sent, in_flight, queued, held = await add(store, campaign_id, 4)
    other = await campaign(store, "running", name="other")
    [bystander] = await add(store, other, 1)
    [plain] = [a.message_id for a in await store.accept([message(9)], now=1.0)]
    assert await claim_ids(store, now=2.0, limit=2) == [sent, in_flight]
    await store.record([submitted(sent)])
    assert await store.cancel([queued], now=3.0) == 1  # withdrawn on its own before
    await store.set_campaign_state(campaign_id, "paused", now=3.5)
    assert await states(store, [queued, held]) == [MessageState.CANCELLED, MessageState.HELD]
    cancelled = await store.set_campaign_state(campaign_id, "cancelled", now=4.0)
    assert cancelled.state == "cancelled"
    assert await states(store, [sent, in_flight, queued, held]) == [
        MessageState.SUBMITTED,
        MessageState.SUBMITTING,
        MessageState.CANCELLED,
        MessageState.CANCELLED,
    ]
    found = await view(store, held)
    assert (found.events[-1].at, found.events[-1].event) == (4.0, "cancelled")
    assert found.updated_at == 4.0
    assert [e.event for e in (await view(store, queued)).events] == ["accepted", "cancelled"]
    assert await states(store, [bystander, plain]) == [MessageState.QUEUED] * 2
    assert await store.count_by_state() == {
        MessageState.SUBMITTED: 1,
        MessageState.SUBMITTING: 1,
        MessageState.CANCELLED: 2,
        MessageState.QUEUED: 2,
    }


async def test_cancelling_a_queued_campaign_cancels_every_message(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    ids = await add(store, campaign_id, 3)
    await store.set_campaign_state(campaign_id, "cancelled", now=2.0)
    for found in [await view(store, message_id) for message_id in ids]:
        assert found.state is MessageState.CANCELLED
        assert [e.event for e in found.events] == ["accepted", "cancelled"]
    assert await claim_ids(store, now=3.0) == []


async def test_completing_moves_no_message(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    ids = await add(store, campaign_id, 2)
    completed = await store.set_campaign_state(campaign_id, "completed", now=2.0)
    assert completed.state == "completed"
    assert await states(store, ids) == [MessageState.QUEUED] * 2


# --- HELD and the rest of the store ---


async def test_cancel_by_id_withdraws_held_messages_too(store: Stores) -> None:
    campaign_id = await campaign(store, "paused")
    ids = await add(store, campaign_id, 2)
    assert await store.cancel(ids, now=2.0) == 2
    assert await states(store, ids) == [MessageState.CANCELLED] * 2
    assert await store.count_by_state() == {MessageState.CANCELLED: 2}


async def test_recover_and_receipt_timeouts_leave_held_messages_alone(store: Stores) -> None:
    campaign_id = await campaign(store, "paused")
    ids = await add(store, campaign_id, 2)
    report = await store.recover(now=1_000_000.0)
    assert report.requeued == 0
    assert await store.expire_receipts(older_than=1_000_000.0, now=1_000_000.0) == 0
    assert await states(store, ids) == [MessageState.HELD] * 2


@pytest.mark.parametrize(
    ("campaign_state", "back_to"),
    [
        ("running", MessageState.QUEUED),
        ("paused", MessageState.HELD),
        ("draft", MessageState.HELD),
        ("cancelled", MessageState.CANCELLED),
    ],
)
async def test_a_retry_requeues_as_the_campaign_state_says(
    store: Stores, campaign_state: str, back_to: MessageState
) -> None:
    campaign_id = await campaign(store, "running")
    failed, unanswered = await add(store, campaign_id, 2)
    await claim_ids(store, now=2.0)
    await store.set_campaign_state(campaign_id, campaign_state, now=2.5)
    await store.record(
        [
            SubmitFailed(failed, 0, 0x58, at=3.0, retry_at=10.0),
            SubmitUnknown(unanswered, 0, at=3.0, reason="timeout", retry_at=10.0),
        ]
    )
    assert await states(store, [failed, unanswered]) == [back_to, back_to]
    assert (await view(store, unanswered)).possible_duplicate
    assert await store.count_by_state() == {back_to: 2}
    expected = [failed, unanswered] if back_to is MessageState.QUEUED else []
    assert await claim_ids(store, now=10.0) == expected


@pytest.mark.parametrize(
    ("campaign_state", "back_to"),
    [
        ("running", MessageState.QUEUED),
        ("paused", MessageState.HELD),
        ("cancelled", MessageState.CANCELLED),
    ],
)
async def test_recover_requeues_as_the_campaign_state_says(
    store: Stores, campaign_state: str, back_to: MessageState
) -> None:
    campaign_id = await campaign(store, "running")
    ids = await add(store, campaign_id, 2)
    [plain] = [a.message_id for a in await store.accept([message(9)], now=1.0)]
    await claim_ids(store, now=2.0)
    await store.record([Dispatching((*ids, plain))])
    await store.set_campaign_state(campaign_id, campaign_state, now=2.5)
    report = await store.recover(now=2.0 + LEASE)
    assert report.requeued == 3
    assert await states(store, [*ids, plain]) == [back_to, back_to, MessageState.QUEUED]
    found = await view(store, ids[0])
    assert found.possible_duplicate
    assert found.events[-1].event == "lease_expired"
    assert found.events[-1].detail.endswith(
        f"-> {back_to.value} possible_duplicate unclean_stops=1"
    )
    counts = await store.count_by_state()
    assert counts[back_to] == 2 + (back_to is MessageState.QUEUED)


async def test_updates_to_a_held_message_still_apply(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    late, refused, retried = await add(store, campaign_id, 3)
    await claim_ids(store, now=2.0)
    # Each answer timed out and was to be retried; the campaign was paused meanwhile.
    await store.record(
        [SubmitUnknown(m, 0, at=3.0, reason="timeout", retry_at=50.0) for m in (late, refused)]
        + [SubmitFailed(retried, 0, 0x58, at=3.0, retry_at=50.0)]
    )
    await store.set_campaign_state(campaign_id, "paused", now=4.0)
    assert await states(store, [late, refused, retried]) == [MessageState.HELD] * 3
    await store.record(
        [
            submitted(late, at=5.0),  # the late answer: the SMSC has it
            SubmitFailed(refused, 0, 0x45, at=5.0),
            SubmitFailed(retried, 0, 0x58, at=5.0, retry_at=60.0),
        ]
    )
    assert await states(store, [late, refused, retried]) == [
        MessageState.SUBMITTED,
        MessageState.REJECTED,
        MessageState.HELD,
    ]
    assert (await view(store, refused)).error_code == 0x45
    await store.set_campaign_state(campaign_id, "running", now=6.0)
    assert await claim_ids(store, now=59.0) == []  # the retry moved not_before on
    assert await claim_ids(store, now=60.0) == [retried]


# --- repace_campaign ---


async def test_repacing_spreads_the_queued_messages_in_id_order(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    in_flight = (await add(store, campaign_id, 1))[0]
    await claim_ids(store, now=1.0)
    befores = [0.0, 0.0, 500.0, 0.0, 0.0]
    accepted = await store.add_campaign_messages(
        campaign_id, [message(n, not_before=nb) for n, nb in enumerate(befores)], now=1.0
    )
    a, b, c, d, e = (x.message_id for x in accepted)
    other = await campaign(store, "running", name="other")
    [elsewhere] = await add(store, other, 1)
    await store.set_campaign_state(campaign_id, "paused", now=2.0)
    await store.set_campaign_state(campaign_id, "running", now=100.0)
    rate = 3.0
    assert await store.repace_campaign(campaign_id, rate=rate, now=100.0) == 5

    def due(k: int) -> float:
        return 100.0 + k / rate  # the k-th queued message, in id order

    assert await claim_ids(store, now=100.0) == [elsewhere, a]  # other campaigns: unchanged
    assert await claim_ids(store, now=math.nextafter(due(1), 0.0)) == []
    assert await claim_ids(store, now=due(1)) == [b]
    assert await claim_ids(store, now=due(3)) == [d]  # c keeps its later not_before
    assert await claim_ids(store, now=math.nextafter(due(4), 0.0)) == []
    assert await claim_ids(store, now=due(4)) == [e]
    assert await claim_ids(store, now=499.0) == []
    assert await claim_ids(store, now=500.0) == [c]
    assert await states(store, [in_flight]) == [MessageState.SUBMITTING]


async def test_repacing_counts_only_queued_messages(store: Stores) -> None:
    campaign_id = await campaign(store, "paused")
    await add(store, campaign_id, 3)
    assert await store.repace_campaign(campaign_id, rate=1.0, now=5.0) == 0  # all held
    await store.set_campaign_state(campaign_id, "running", now=5.0)
    assert await store.repace_campaign(campaign_id, rate=1.0, now=5.0) == 3
    # Paced already: again from the same instant moves nothing, but counts them all.
    assert await store.repace_campaign(campaign_id, rate=1.0, now=5.0) == 3
    assert len(await claim_ids(store, now=5.0)) == 1
    assert len(await claim_ids(store, now=6.0)) == 1
    assert await claim_ids(store, now=6.99) == []
    assert len(await claim_ids(store, now=7.0)) == 1


async def test_repacing_refuses_unknown_campaigns_and_bad_rates(store: Stores) -> None:
    with pytest.raises(UnknownCampaignError):
        await store.repace_campaign(10_000_000, rate=1.0, now=1.0)
    campaign_id = await campaign(store)
    for rate in (0.0, -2.0, math.inf):
        with pytest.raises(ValueError, match="rate"):
            await store.repace_campaign(campaign_id, rate=rate, now=1.0)


async def test_repacing_with_an_integer_rate_divides_as_floats(store: Stores) -> None:
    campaign_id = await campaign(store)
    first, second = await add(store, campaign_id, 2)
    assert await store.repace_campaign(campaign_id, rate=2, now=10.0) == 2
    assert await claim_ids(store, now=10.0) == [first]
    assert await claim_ids(store, now=10.5) == [second]


# --- queued_campaign_messages / schedule_campaign_messages ---


async def test_queued_messages_are_listed_and_rescheduled_one_by_one(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    first, second, third = await add(store, campaign_id, 3, not_before=10.0)
    other = await campaign(store, "running", name="other")
    [elsewhere] = await add(store, other, 1, not_before=10.0)
    assert await claim_ids(store, now=10.0, limit=1) == [first]  # claimed: no longer queued
    queued = await store.queued_campaign_messages(campaign_id)
    assert [(q.message_id, q.destination, q.not_before) for q in queued] == [
        (second, message(1).destination, 10.0),
        (third, message(2).destination, 10.0),
    ]
    slots = [(first, 50.0), (second, 40.0), (third, 30.0), (elsewhere, 99.0)]
    assert await store.schedule_campaign_messages(campaign_id, slots, now=11.0) == 2
    assert await claim_ids(store, now=29.0) == [elsewhere]  # another campaign's: untouched
    assert await claim_ids(store, now=30.0) == [third]
    assert await claim_ids(store, now=40.0) == [second]
    assert await store.queued_campaign_messages(campaign_id) == []


async def test_scheduling_refuses_an_unknown_campaign(store: Stores) -> None:
    with pytest.raises(UnknownCampaignError):
        await store.queued_campaign_messages(10_000_000)
    with pytest.raises(UnknownCampaignError):
        await store.schedule_campaign_messages(10_000_000, [(1, 1.0)], now=1.0)


# --- campaign_stats ---


async def test_campaign_stats_count_every_state(store: Stores) -> None:
    campaign_id = await campaign(store, "running")
    ids = await add(store, campaign_id, 12)
    other = await campaign(store, "running", name="other")
    await add(store, other, 2)
    await store.accept([message(99)], now=1.0)
    # Claimed in id order (same priority and not_before): the first eight of this campaign.
    claimed = await store.claim(SMSC, 8, owner="test", now=2.0, lease=LEASE)
    assert [c.message_id for c in claimed] == ids[:8]
    delivered_1, delivered_2, rejected_1, rejected_2, expired, undeliverable, pending = ids[:7]
    await store.record(
        [
            submitted(delivered_1),
            submitted(delivered_2),
            submitted(undeliverable),
            submitted(pending),
            receipt(delivered_1),
            receipt(delivered_2),
            receipt(undeliverable, PartState.UNDELIVERABLE),
            SubmitFailed(rejected_1, 0, 0x45, at=3.0),
            SubmitFailed(rejected_2, 0, 0x45, at=3.0),
            SubmitFailed(expired, 0, 0x62, at=3.0, expired=True),
        ]
    )
    await store.cancel([ids[8]], now=4.0)
    stats = await store.campaign_stats(campaign_id)
    assert stats == CampaignStats(
        campaign_id=campaign_id,
        total=12,
        by_state={
            MessageState.DELIVERED: 2,
            MessageState.REJECTED: 2,
            MessageState.EXPIRED: 1,
            MessageState.UNDELIVERABLE: 1,
            MessageState.SUBMITTED: 1,
            MessageState.SUBMITTING: 1,
            MessageState.CANCELLED: 1,
            MessageState.QUEUED: 3,
        },
        errors={0x45: 2, 0x62: 1},
        receipts_pending=1,
        delivered=2,
        failed=4,  # rejected, expired, undeliverable
        queued=4,  # queued and submitting
        cancelled=1,  # withdrawn before it was sent: not a failure
    )
    assert stats.sent == 7  # 12, less the 4 to be sent and the 1 never sent
    await store.set_campaign_state(campaign_id, "paused", now=5.0)
    paused = await store.campaign_stats(campaign_id)
    assert paused.by_state[MessageState.HELD] == 3
    assert MessageState.QUEUED not in paused.by_state
    assert paused.queued == 4  # held messages are still to be sent
    assert (paused.total, paused.failed, paused.delivered) == (12, 4, 2)


async def test_stats_of_an_empty_campaign_are_zero(store: Stores) -> None:
    campaign_id = await campaign(store, "draft")
    assert await store.campaign_stats(campaign_id) == CampaignStats(
        campaign_id, 0, {}, {}, receipts_pending=0, delivered=0, failed=0, queued=0
    )


async def test_stats_of_an_unknown_campaign_are_refused(store: Stores) -> None:
    with pytest.raises(UnknownCampaignError):
        await store.campaign_stats(10_000_000)


# --- recipient groups ---


async def test_a_group_starts_empty_and_is_found_by_name(store: Stores) -> None:
    created = await store.create_group("north", now=3.0)
    assert created == GroupView(created.group_id, "north", 0, 3.0)
    assert await store.find_group("north") == created
    assert await store.find_group("south") is None
    assert await store.group_members(created.group_id) == []


async def test_a_duplicate_group_name_is_refused_naming_it(store: Stores) -> None:
    await store.create_group("north", now=1.0)
    with pytest.raises(DuplicateNameError, match="'north'") as caught:
        await store.create_group("north", now=2.0)
    assert caught.value.name == "north"
    assert len(await store.list_groups()) == 1


async def test_groups_are_listed_by_name_with_their_member_counts(store: Stores) -> None:
    south = await store.create_group("south", now=1.0)
    north = await store.create_group("north", now=2.0)
    await store.upsert_group_members(south.group_id, [GroupMember("447700900001")])
    assert await store.list_groups() == [
        GroupView(north.group_id, "north", 0, 2.0),
        GroupView(south.group_id, "south", 1, 1.0),
    ]


async def test_upsert_adds_or_replaces_members_by_msisdn(store: Stores) -> None:
    group = await store.create_group("debtors", now=1.0)
    first = [
        GroupMember("447700900003", {"name": "Cyd", "amount": "3.00"}),
        GroupMember("447700900001", {"name": "Ann", "amount": "1.00"}),
        GroupMember("447700900002", {}),
    ]
    assert await store.upsert_group_members(group.group_id, first) == 3
    second = [
        GroupMember("447700900001", {"name": "Ann", "amount": "1.50"}),  # changed
        GroupMember("447700900002", {}),  # the same: no change
        GroupMember("447700900004", {"name": "Dan"}),  # new
        GroupMember("447700900004", {"name": "Dan", "amount": "4.00"}),  # the last one wins
    ]
    assert await store.upsert_group_members(group.group_id, second) == 2
    assert await store.group_members(group.group_id) == [
        GroupMember("447700900001", {"name": "Ann", "amount": "1.50"}),
        GroupMember("447700900002", {}),
        GroupMember("447700900003", {"name": "Cyd", "amount": "3.00"}),
        GroupMember("447700900004", {"name": "Dan", "amount": "4.00"}),
    ]
    found = await store.find_group("debtors")
    assert found is not None and found.members == 4
    assert await store.upsert_group_members(group.group_id, []) == 0


async def test_fields_keep_any_text(store: Stores) -> None:
    group = await store.create_group("texts", now=1.0)
    fields = {"name": 'Zoë "Z" O\'Neil', "note": "€ 12,30\n{x}", "empty": ""}
    await store.upsert_group_members(group.group_id, [GroupMember("447700900001", fields)])
    [member] = await store.group_members(group.group_id)
    assert member.fields == fields
    # Equal fields given in another key order are no change.
    reordered = dict(reversed(list(fields.items())))
    assert (
        await store.upsert_group_members(group.group_id, [GroupMember("447700900001", reordered)])
        == 0
    )


async def test_remove_takes_out_the_members_named(store: Stores) -> None:
    group = await store.create_group("g", now=1.0)
    other = await store.create_group("h", now=1.0)
    members = [GroupMember(f"44770090000{n}", {"n": str(n)}) for n in range(4)]
    await store.upsert_group_members(group.group_id, members)
    await store.upsert_group_members(other.group_id, members[:1])
    removed = await store.remove_group_members(
        group.group_id, ["447700900000", "447700900002", "447700900009"]
    )
    assert removed == 2
    assert [m.msisdn for m in await store.group_members(group.group_id)] == [
        "447700900001",
        "447700900003",
    ]
    assert len(await store.group_members(other.group_id)) == 1  # another group keeps its own
    assert await store.remove_group_members(group.group_id, []) == 0


async def test_unknown_groups_are_refused(store: Stores) -> None:
    with pytest.raises(UnknownGroupError, match="10000000") as caught:
        await store.upsert_group_members(10_000_000, [GroupMember("447700900001")])
    assert caught.value.group_id == 10_000_000
    assert isinstance(caught.value, StoreError)
    with pytest.raises(UnknownGroupError):
        await store.remove_group_members(10_000_000, ["447700900001"])
    with pytest.raises(UnknownGroupError):
        await store.group_members(10_000_000)


async def test_deleting_a_group_deletes_its_members(store: Stores) -> None:
    group = await store.create_group("g", now=1.0)
    await store.upsert_group_members(group.group_id, [GroupMember("447700900001")])
    assert await store.delete_group(group.group_id)
    assert await store.find_group("g") is None
    with pytest.raises(UnknownGroupError):
        await store.group_members(group.group_id)
    assert not await store.delete_group(group.group_id)
    again = await store.create_group("g", now=2.0)  # the name is free again
    assert await store.group_members(again.group_id) == []


async def test_a_group_needs_a_name(store: Stores) -> None:
    with pytest.raises(ValueError, match="name"):
        await store.create_group("  ", now=1.0)


# --- the opt-out list ---


async def test_opt_outs_count_only_new_numbers(store: Stores) -> None:
    assert await store.add_opt_outs(["447700900001", "447700900002"], source="sms", now=1.0) == 2
    added = await store.add_opt_outs(
        ["447700900002", "447700900003", "447700900003"], source="csv", now=2.0
    )
    assert added == 1
    assert await store.count_opt_outs() == 3
    assert await store.add_opt_outs([], source="sms", now=3.0) == 0


async def test_opted_out_names_which_numbers_are_on_the_list(store: Stores) -> None:
    await store.add_opt_outs(["447700900001", "447700900003"], source="sms", now=1.0)
    asked = ["447700900001", "447700900002", "447700900003", "447700900003"]
    assert await store.opted_out(asked) == {"447700900001", "447700900003"}
    assert await store.opted_out(["447700900009"]) == set()
    assert await store.opted_out([]) == set()


async def test_removing_opt_outs_counts_those_that_were_on(store: Stores) -> None:
    await store.add_opt_outs(["447700900001", "447700900002"], source="sms", now=1.0)
    assert await store.remove_opt_outs(["447700900001", "447700900009"]) == 1
    assert await store.opted_out(["447700900001", "447700900002"]) == {"447700900002"}
    assert await store.count_opt_outs() == 1
    assert await store.remove_opt_outs([]) == 0
    # Back on the list after opting in: a new number again.
    assert await store.add_opt_outs(["447700900001"], source="sms", now=2.0) == 1


async def test_numbers_are_matched_exactly_as_given(store: Stores) -> None:
    # The caller normalises; the store compares text, whatever it holds.
    odd = ["", "44 7700 900001", "a\nb", "x,y", "ünï"]
    assert await store.add_opt_outs(odd, source="test", now=1.0) == 5
    assert await store.opted_out([*odd, "a", "b", "447700900001"]) == set(odd)
    assert await store.opted_out([""]) == {""}
    assert await store.opted_out(["a\nb"]) == {"a\nb"}
    assert await store.opted_out(["a", "x,y"]) == {"x,y"}


async def test_a_large_list_is_answered_in_batches(store: Stores) -> None:
    numbers = [f"4477{n:08d}" for n in range(120_000)]  # more than one batch's worth
    out = numbers[::97] + numbers[-3:]
    assert await store.add_opt_outs(out, source="import", now=1.0) == len(set(out))
    assert await store.opted_out(numbers) == set(out)
    assert await store.remove_opt_outs(numbers) == len(set(out))
    assert await store.count_opt_outs() == 0


async def test_a_single_string_is_not_taken_for_a_list_of_numbers(store: Stores) -> None:
    for call in (
        store.opted_out("447700900001"),
        store.remove_opt_outs("447700900001"),
        store.add_opt_outs("447700900001", source="sms", now=1.0),
    ):
        with pytest.raises(TypeError, match="one string"):
            await call
    assert await store.count_opt_outs() == 0


# --- together ---


async def test_a_campaign_planned_from_a_group_skips_the_opted_out(store: Stores) -> None:
    group = await store.create_group("debtors", now=1.0)
    members = [GroupMember(f"44770090000{n}", {"amount": f"{n}.00"}) for n in range(5)]
    await store.upsert_group_members(group.group_id, members)
    await store.add_opt_outs(["447700900001", "447700900004"], source="sms", now=1.0)
    recipients = await store.group_members(group.group_id)
    out = await store.opted_out([m.msisdn for m in recipients])
    campaign_id = await campaign(store, "draft")
    batch = [
        NewMessage(SMSC, "WATERCO", m.msisdn, json.dumps(dict(m.fields)))
        for m in recipients
        if m.msisdn not in out
    ]
    ids = [a.message_id for a in await store.add_campaign_messages(campaign_id, batch, now=2.0)]
    await store.set_campaign_state(campaign_id, "running", now=3.0)
    assert (await store.campaign_stats(campaign_id)).by_state == {MessageState.QUEUED: 3}
    assert [(await view(store, i)).destination for i in ids] == [
        "447700900000",
        "447700900002",
        "447700900003",
    ]
