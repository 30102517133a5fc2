"""Disconnection warnings followed up on both stores: a warning delivered is proven by
its receipt; one not delivered in time is sent again as a notice of its own, once;
one never delivered is listed for paper mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from billing_core import NoticeKind, ProofStatus
from smpp_engine.billing import WarningFollowUp, follow_up_warnings, queue_notices
from smpp_engine.routing import MessageKind, RouteRule, RoutingTable
from smpp_engine.store import (
    Accepted,
    BillingStore,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    Store,
    import_billing_data,
)

from ..http_api.conftest import client_for, context_for
from .test_billing_repository import _notice, example

T0 = datetime(2024, 4, 20, 10, tzinfo=UTC)


@pytest.fixture
async def billing(store: Store) -> BillingStore:
    """The example utility loaded into an empty store of each kind."""
    loaded = cast(BillingStore, store)
    assert (await import_billing_data(loaded, example())).ok
    return loaded


WAIT = timedelta(hours=48)
KEY = "notice:disconnection_warning:8880001:electricity:2024-04:79161234567"
ROUTE = "sim"


class StoreQueue:
    def __init__(self, store: Store, now: datetime) -> None:
        self.store, self.now = store, now

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        return await self.store.accept(messages, now=self.now.timestamp())


async def _warn(
    billing: BillingStore, store: Store, key: str, at: datetime, account: str = "8880001"
) -> int:
    """A warning as a notices run stores and queues it; its message's id."""
    notice = replace(
        _notice(NoticeKind.DISCONNECTION_WARNING, at), key=key, send_at=None, account_number=account
    )
    (saved,) = await billing.save_run_notices([notice], [notice.account_number])
    (message_id,) = await queue_notices(billing, StoreQueue(store, at), [saved], route=ROUTE)
    return message_id


async def _deliver(store: Store, message_id: int, at: datetime) -> None:
    (claimed,) = await store.claim(ROUTE, 10, owner="t", now=at.timestamp(), lease=60)
    assert claimed.message_id == message_id
    stamp = at.timestamp()
    await store.record(
        [
            PartSubmitted(message_id, 0, "b", f"s-{message_id}", stamp, stamp),
            ReceiptArrived(ROUTE, f"s-{message_id}", PartState.DELIVERED, stamp, done_at=stamp),
        ]
    )


async def _follow(
    billing: BillingStore, store: Store, now: datetime, *, preview: bool = False
) -> WarningFollowUp:
    queue = None if preview else StoreQueue(store, now)
    return await follow_up_warnings(
        billing, store, queue, now=now, route=ROUTE, wait=WAIT, retries=1
    )


async def test_an_undelivered_warning_is_sent_again_once_then_listed(
    billing: BillingStore, store: Store
) -> None:
    await _warn(billing, store, KEY, T0)
    waiting = await _follow(billing, store, T0 + timedelta(hours=1))
    assert waiting.count(ProofStatus.AWAITING) == 1 and not waiting.retried
    # No receipt in 48 hours: a retry, a notice of its own (previewing queues nothing).
    late = T0 + WAIT
    assert not (await _follow(billing, store, late, preview=True)).retried
    again = await _follow(billing, store, late)
    assert list(again.retried) == [f"{KEY}:retry1"]
    assert (await _follow(billing, store, late)).retried == ()  # not twice
    kinds = [n.notice.kind for n in await billing.recent_notices("8880001", limit=10)]
    assert kinds.count(NoticeKind.DISCONNECTION_WARNING) == 2
    # The retry went undelivered too: paper mail.
    paper = await _follow(billing, store, late + WAIT)
    (unreached,) = paper.unreached
    assert (unreached.account_number, unreached.attempts, unreached.first_sent_at) == (
        "8880001",
        2,
        T0,
    )
    assert paper.to_json()["counts"] == {"proven": 0, "awaiting": 0, "retry": 0, "unreached": 1}


async def test_a_delivered_warning_is_proven_by_its_receipt(
    billing: BillingStore, store: Store
) -> None:
    message_id = await _warn(billing, store, KEY, T0)
    done = T0 + timedelta(minutes=2)
    await _deliver(store, message_id, done)
    followed = await _follow(billing, store, T0 + 10 * WAIT)
    (proof,) = followed.proofs
    assert (proof.status, proof.delivered_at) == (ProofStatus.PROVEN, done)
    assert not followed.retried
    assert (
        cast(dict[str, list[dict[str, str]]], followed.to_json())["warnings"][0]["delivered_at"]
        == done.isoformat()
    )


async def test_the_warnings_are_listed_over_http(billing: BillingStore, store: Store) -> None:
    await _warn(billing, store, KEY, T0)
    context, _ = context_for(store)
    context.clock = (T0 + WAIT).timestamp
    context.billing_route = None
    async with client_for(context) as client:
        answer = await client.get("/v1/billing/notices/warnings")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert listed["counts"] == {"proven": 0, "awaiting": 0, "retry": 1, "unreached": 0}
    (warning,) = listed["warnings"]
    assert (warning["account"], warning["status"], warning["attempts"]) == ("8880001", "retry", 1)
    assert listed["retried"] == []  # listing sends nothing


async def test_with_routing_a_warning_sent_again_goes_on_the_next_route_of_its_rule(
    billing: BillingStore, store: Store
) -> None:
    """The warning rule lists two routes: the first attempt goes on the first, the retry
    (no receipt came) on the second; a debt notice follows the notices' rule."""
    routing = RoutingTable(
        rules=(
            RouteRule("legal", ("sim", "backup"), kinds=frozenset({MessageKind.WARNING})),
            RouteRule("notices", ("bulk-route",), kinds=frozenset({MessageKind.NOTICE})),
        ),
        default=("sim",),
    )
    warning = replace(_notice(NoticeKind.DISCONNECTION_WARNING, T0), key=KEY, send_at=None)
    debt = replace(_notice(NoticeKind.DEBT, T0), key="notice:debt:t", send_at=None)
    saved = await billing.save_run_notices([warning, debt], [warning.account_number])
    first, notice = await queue_notices(
        billing, StoreQueue(store, T0), saved, route=ROUTE, routing=routing
    )
    late = T0 + WAIT
    again = await follow_up_warnings(
        billing, store, StoreQueue(store, late), now=late, route=ROUTE, wait=WAIT, retries=1,
        routing=routing,
    )  # fmt: skip
    assert list(again.retried) == [f"{KEY}:retry1"]
    retry_id = await store.find_by_idempotency_key(f"{KEY}:retry1")
    assert retry_id is not None
    views = [await store.get(i) for i in (first, notice, retry_id)]
    assert [(v.smsc, v.route_rule, v.route_plan) for v in views if v is not None] == [
        ("sim", "legal", ("sim", "backup")),
        ("bulk-route", "notices", ("bulk-route",)),
        ("backup", "legal", ("backup", "sim")),
    ]


async def test_the_account_view_shows_each_warning_and_its_proof(
    billing: BillingStore, store: Store
) -> None:
    """One warning delivered (proven: its receipt's done date, and the time to pay
    counted from it in the consumer's zone), one never (unreached: no retries left);
    another account's warning is not this account's."""
    proven_id = await _warn(billing, store, KEY, T0)
    done = T0 + timedelta(minutes=2)
    await _deliver(store, proven_id, done)
    lost = KEY.replace("electricity", "water")
    await _warn(billing, store, lost, T0 - timedelta(minutes=1))
    await _warn(billing, store, KEY.replace("8880001", "9990001"), T0, account="9990001")
    context, _ = context_for(store)
    context.clock = (T0 + WAIT).timestamp
    context.billing_route = None
    context.warning_retries = 0
    async with client_for(context) as client:
        answer = await client.get("/v1/billing/accounts/8880001")
    assert answer.status_code == 200, answer.text
    proven, unreached = answer.json()["warnings"]
    assert proven == {
        "key": KEY,
        "msisdn": "79161234567",
        "service": "electricity",
        "status": "proven",
        "attempts": 1,
        "first_sent_at": T0.isoformat(),
        "delivered_at": done.isoformat(),
        # Delivered 13:02 on 20 April in Moscow: 20 days to pay from the day after.
        "last_day_to_pay": "2024-05-10",
        "pay_by": "2024-05-10T21:00:00+00:00",
    }
    assert (unreached["key"], unreached["status"], unreached["attempts"]) == (lost, "unreached", 1)
    assert unreached["delivered_at"] is unreached["last_day_to_pay"] is unreached["pay_by"] is None
    # The same judge as the warnings list: the account's warnings there say the same.
    async with client_for(context) as client:
        listed = (await client.get("/v1/billing/notices/warnings")).json()["warnings"]
    assert [(w["key"], w["status"]) for w in listed if w["account"] == "8880001"] == [
        (KEY, "proven"),
        (lost, "unreached"),
    ]


async def test_an_account_without_warnings_shows_none(billing: BillingStore, store: Store) -> None:
    context, _ = context_for(store)
    async with client_for(context) as client:
        answer = await client.get("/v1/billing/accounts/8880001")
    assert answer.status_code == 200, answer.text
    assert answer.json()["warnings"] == []
