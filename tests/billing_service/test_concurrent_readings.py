"""Two first readings of the month for one account, answered side by side, on each store.

Both load the account before either is saved, so each computes the month's fixed
charge (9.31 of the example's cold water) and a balance that includes it. The store
bills the fixed charge once (the second save finds it billed); the reply of the
second must then say the balance the ledger holds, not one with the charge twice
or without the first reading.
"""
# ruff: noqa: RUF001 - the replies are Russian text

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import trio

from billing_core import ChargeKind, OutcomeStatus
from smpp_engine.billing import SmsSelfService
from smpp_engine.store import (
    Accepted,
    BillingStore,
    NewMessage,
    Store,
    import_billing_data,
    load_billing_json,
    open_store,
)

from .test_self_service import EXAMPLE, NOW, _Ack, mo, store_url

__all__ = ["store_url"]  # the fixture, imported for pytest

WATER_PHONE = "79160000002"  # bound to 5550001 (cold water, last read 100.0) and 7770001
D = Decimal


class _LoadTogether:
    """The real store; each context load waits until ``n`` loads are in: the readings
    are computed from the same ledger, as when they arrive in the same instant."""

    def __init__(self, store: Any, n: int) -> None:
        self._store = store
        self._left = n
        self._all_in = trio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def load_context(self, **kwargs: Any) -> Any:
        context = await self._store.load_context(**kwargs)
        self._left -= 1
        if not self._left:
            self._all_in.set()
        await self._all_in.wait()
        return context


class _NoQueue:
    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        raise AssertionError("a reply is queued by the store with its answer")


async def test_a_reply_says_the_balance_billed_when_a_concurrent_reading_billed_first(
    store_url: str,
) -> None:
    data = cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))
    async with open_store(store_url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, data)).ok
        settings = await billing.load_settings()
        service = SmsSelfService(
            cast(BillingStore, _LoadTogether(billing, 2)),
            settings,
            _NoQueue(),
            route="sim",
            clock=NOW.timestamp,
        )
        outcomes = {}

        async def answer(text: str, mo_id: str) -> None:
            message = mo(text, NOW.timestamp(), mo_id, _Ack(), source=WATER_PHONE)
            outcomes[mo_id] = await service.handle(message)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer, "5550001 140,0", "mo-a")  # 40 m³: 25.70
            nursery.start_soon(answer, "5550001 130,0", "mo-b")  # 30 m³: 14.70
        ledger = await billing.load_ledger("5550001")
        # One fixed charge of 9.31 between them.
        assert ledger.balance.amount == D("25.70") + D("14.70") + D("9.31") == D("49.71")
        replies = {mo_id: await _reply_text(store, billing, mo_id) for mo_id in ("mo-a", "mo-b")}
        fixed = {
            mo_id: [c.amount for c in o.charges if c.kind is ChargeKind.FIXED]
            for mo_id, o in outcomes.items()
        }
        assert sorted(fixed.values()) == [[], [D("9.31")]]  # as billed: once
        first, second = sorted(outcomes, key=lambda mo_id: len(fixed[mo_id]), reverse=True)
        assert all(o.status is OutcomeStatus.ACCEPTED for o in outcomes.values())
        # The first saved says its balance; the second the ledger's after both.
        assert outcomes[second].balance_after == D("49.71")
        assert "Долг 49,71 р" in replies[second], replies
        mine = {"mo-a": D("35.01"), "mo-b": D("24.01")}[first]  # with the fixed charge
        assert outcomes[first].balance_after == mine
        assert f"Долг {mine:.2f}".replace(".", ",") in replies[first], replies


async def _reply_text(store: Store, billing: BillingStore, mo_id: str) -> str:
    reply_id = await billing.reply_message_id(mo_id)
    assert reply_id is not None
    view = await store.get(reply_id)
    assert view is not None
    return view.text
