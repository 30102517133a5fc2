"""MO waiting at the same moment, answered together, on each store.

On PostgreSQL the waiting MO of different phones are answered with one context
load and one save transaction; on SQLite one by one. Either way each is answered
as if alone: an MO sees the charges of one saved before it for the same account,
an MO delivered twice is billed once, one that cannot be saved keeps no other
from being answered, and each reply's round trip is observed.
"""
# ruff: noqa: RUF001 - the replies are Russian text

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import trio
from prometheus_client import REGISTRY

from billing_core import OutcomeStatus, account_hint, process_sms
from smpp_engine.billing import SmsSelfService
from smpp_engine.billing.service import route_sizer
from smpp_engine.store import BillingStore, Store, import_billing_data, load_billing_json
from smpp_engine.store import open_store as open_any_store
from smpp_engine.store.billing.model import AnswerToSave

from ..store.conftest import store_url_of
from .test_self_service import EXAMPLE, NOW, PHONE, _Ack, mo, store_url

__all__ = ["store_url"]  # the fixture, imported for pytest

WATER_PHONE = "79160000002"  # bound to 5550001 and 7770001
RURAL_PHONE = "79160000003"  # bound to 7770001 alone
PREPAID_PHONE = "79160000004"  # bound to 8880001


class _Counting:
    """The real store, counting the context loads and saves asked of it; ``failing``:
    the MO ids whose save fails (alone, or in any batch holding them)."""

    def __init__(self, store: Any, failing: frozenset[str] = frozenset()) -> None:
        self._store = store
        self.failing = failing
        self.loads: list[int] = []
        self.saves: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def load_context(self, **kwargs: Any) -> Any:
        self.loads.append(1)
        return await self._store.load_context(**kwargs)

    async def save_answer(self, outcome: Any, *args: Any, **kwargs: Any) -> Any:
        if outcome.mo_message_id in self.failing:
            raise RuntimeError("this MO cannot be saved")
        self.saves.append(1)
        return await self._store.save_answer(outcome, *args, **kwargs)


class _CountingBatches(_Counting):
    """A store that answers batches (PostgreSQL's), counted likewise: each call loads
    the contexts asked, and saves the answers decided unless one of them fails."""

    async def answer(
        self,
        asked: Sequence[Any],
        *,
        now: datetime,
        decide: Callable[[list[Any]], Sequence[AnswerToSave]],
    ) -> Any:
        self.loads.append(len(asked))

        def deciding(contexts: list[Any]) -> Sequence[AnswerToSave]:
            answers = decide(contexts)
            if any(a.outcome.mo_message_id in self.failing for a in answers):
                raise RuntimeError("this MO cannot be saved")
            if answers:
                self.saves.append(len(answers))
            return answers

        return await self._store.answer(asked, now=now, decide=deciding)


def batching(store: Any) -> bool:
    return hasattr(store, "save_answers")


@asynccontextmanager
async def example(url: str) -> AsyncIterator[tuple[Store, BillingStore]]:
    data = cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))
    async with open_any_store(url) as store:
        billing = cast(BillingStore, store)
        assert (await import_billing_data(billing, data)).ok
        yield store, billing


async def answer_waiting(
    store: Store, counting: _Counting, messages: list[tuple[str, str, str]]
) -> dict[str, list[bool]]:
    """Take ``messages`` ((phone, text, MO id)) before the one worker starts, so that they
    all wait together; the acks each MO id got once all are answered."""
    billing = cast(BillingStore, store)
    service = SmsSelfService(
        cast(BillingStore, counting),
        await billing.load_settings(),
        store,  # not a pipeline: replies are stored queued
        route="sim",
        clock=NOW.timestamp,
        workers=1,
    )
    acks = [(_Ack(), mo_id) for _, _, mo_id in messages]
    for (phone, text, mo_id), (ack, _) in zip(messages, acks, strict=True):
        service.take(mo(text, NOW.timestamp(), mo_id, ack, source=phone))
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        with trio.fail_after(30):
            while not all(a.answers for a, _ in acks):
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    found: dict[str, list[bool]] = {}
    for ack, mo_id in acks:
        found.setdefault(mo_id, []).extend(ack.answers)
    return found


async def reply_text(store: Store, mo_id: str) -> str | None:
    """The reply to ``mo_id``: a balance's is keyed by the window it was asked in too."""
    message_id = await store.find_by_idempotency_key(f"reply:{mo_id}")
    if message_id is None:
        window = int(NOW.timestamp() // 600)
        message_id = await store.find_by_idempotency_key(f"reply:{mo_id}:{window}")
    if message_id is None:
        return None
    view = await store.get(message_id)
    assert view is not None
    return view.text


def debt(text: str | None) -> Decimal:
    assert text is not None
    found = re.search(r"Долг (\d+),(\d\d) р", text)
    assert found, text
    return Decimal(f"{found[1]}.{found[2]}")


def round_trips() -> float:
    return REGISTRY.get_sample_value("smpp_billing_round_trip_seconds_count") or 0.0


async def test_mo_waiting_together_are_answered_with_one_load_and_one_save(
    store_url: str,
) -> None:
    async with example(store_url) as (store, billing):
        counting = (_CountingBatches if batching(store) else _Counting)(store)
        before = round_trips()
        acks = await answer_waiting(
            store,
            counting,
            [
                (PHONE, "12150 5080", "mo-1"),
                (WATER_PHONE, "5550001 140,0", "mo-2"),
                (PREPAID_PHONE, "БАЛАНС", "mo-3"),
            ],
        )
        assert acks == {"mo-1": [True], "mo-2": [True], "mo-3": [True]}
        if batching(store):
            assert (counting.loads, counting.saves) == ([3], [3])
        else:
            assert (counting.loads, counting.saves) == ([1, 1, 1], [1, 1, 1])
        # Each MO's round trip is observed, batched or not.
        assert round_trips() - before == 3
        assert (await reply_text(store, "mo-1")) == (
            "ЛС1234567890 приняты Т1 12150 Т2 5080. Долг 1027,20 р до 15.04"
        )
        assert (await billing.load_ledger("1234567890")).balance.amount == Decimal("1027.20")
        water = await billing.load_ledger("5550001")
        assert debt(await reply_text(store, "mo-2")) == water.balance.amount > 0
        prepaid = await billing.load_ledger("8880001")
        assert debt(await reply_text(store, "mo-3")) == prepaid.balance.amount


async def test_an_mo_of_an_account_another_mo_of_the_batch_charges_sees_those_charges(
    store_url: str,
) -> None:
    async with example(store_url) as (store, billing):
        counting = (_CountingBatches if batching(store) else _Counting)(store)
        acks = await answer_waiting(
            store,
            counting,
            [
                (WATER_PHONE, "7770001 99990", "mo-reading"),  # 7770001, by the hint
                (RURAL_PHONE, "БАЛАНС", "mo-other-phone"),  # 7770001, its only account
                (PHONE, "12150 5080", "mo-1"),
                (PHONE, "БАЛАНС", "mo-same-phone"),
            ],
        )
        assert all(answers == [True] for answers in acks.values()), acks
        rural = (await billing.load_ledger("7770001")).balance.amount
        assert rural > 0
        reading = await reply_text(store, "mo-reading")
        assert reading is not None and "приняты" in reading
        assert debt(reading) == rural
        # Taken after the reading, answered on the ledger the reading left.
        assert debt(await reply_text(store, "mo-other-phone")) == rural
        assert debt(await reply_text(store, "mo-same-phone")) == Decimal("1027.20")
        if batching(store):
            # The two balances waited for the batch of the readings.
            assert counting.loads[0] == 3 and counting.saves[0] == 2


async def test_an_mo_delivered_twice_is_billed_once_in_a_batch_and_after_it(
    store_url: str,
) -> None:
    async with example(store_url) as (store, billing):
        counting = (_CountingBatches if batching(store) else _Counting)(store)
        acks = await answer_waiting(
            store,
            counting,
            [
                (PHONE, "12150 5080", "mo-1"),
                (WATER_PHONE, "5550001 140,0", "mo-2"),
                (PHONE, "12150 5080", "mo-1"),  # the SMSC's redelivery
            ],
        )
        assert acks == {"mo-1": [True, True], "mo-2": [True]}
        again = await answer_waiting(
            store,
            counting,
            [(PHONE, "12150 5080", "mo-1"), (PREPAID_PHONE, "БАЛАНС", "mo-3")],
        )
        assert again == {"mo-1": [True], "mo-3": [True]}
        assert (await billing.load_ledger("1234567890")).balance.amount == Decimal("1027.20")
        assert await billing.reply_message_id("mo-1") is not None
        assert await reply_text(store, "mo-3") is not None


async def test_a_batch_that_cannot_be_saved_is_answered_one_by_one(store_url: str) -> None:
    async with example(store_url) as (store, billing):
        counting = (_CountingBatches if batching(store) else _Counting)(
            store, failing=frozenset({"mo-2"})
        )
        acks = await answer_waiting(
            store,
            counting,
            [
                (PHONE, "12150 5080", "mo-1"),
                (WATER_PHONE, "5550001 140,0", "mo-2"),
                (PREPAID_PHONE, "БАЛАНС", "mo-3"),
            ],
        )
        # The one that cannot be saved is refused for now (the SMSC offers it again);
        # the others are answered, each acked once its answer is stored.
        assert acks == {"mo-1": [True], "mo-2": [False], "mo-3": [True]}
        assert await reply_text(store, "mo-2") is None
        assert (await billing.load_ledger("5550001")).balance.amount == 0
        assert (await billing.load_ledger("1234567890")).balance.amount == Decimal("1027.20")
        assert await reply_text(store, "mo-3") is not None


async def test_a_lone_mo_that_cannot_be_saved_is_refused_once(store_url: str) -> None:
    async with example(store_url) as (store, billing):
        counting = (_CountingBatches if batching(store) else _Counting)(
            store, failing=frozenset({"mo-1"})
        )
        acks = await answer_waiting(store, counting, [(PHONE, "12150 5080", "mo-1")])
        # Refused for now (the SMSC offers it again), after one try: not loaded again.
        assert acks == {"mo-1": [False]}
        assert (counting.loads, counting.saves) == ([1], [])
        assert await reply_text(store, "mo-1") is None
        assert (await billing.load_ledger("1234567890")).balance.amount == 0


@pytest.mark.parametrize("kind", ["postgresql"])
async def test_a_batch_save_stores_nothing_of_an_mo_stored_before(
    kind: str, tmp_path: Path
) -> None:
    async with store_url_of(kind, tmp_path, "billing.db") as url, example(url) as (store, billing):
        settings = await billing.load_settings()
        sizer = route_sizer(store, "sim")
        asked = [(PHONE, "12150 5080", "mo-1"), (WATER_PHONE, "5550001 140,0", "mo-2")]
        contexts = await cast(Any, billing).load_contexts(
            [(phone, account_hint(text, settings), mo_id) for phone, text, mo_id in asked],
            now=NOW,
        )
        outcomes = [
            process_sms(context, text, mo_message_id=mo_id, now=NOW, sizer=sizer)
            for context, (_, text, mo_id) in zip(contexts, asked, strict=True)
        ]
        assert [o.status for o in outcomes] == [OutcomeStatus.ACCEPTED] * 2
        # The first is saved by a concurrent delivery between the load and the save.
        assert (await billing.save_answer(outcomes[0], None, now=0.0, lease=None)).saved
        saved = await cast(Any, billing).save_answers(
            [AnswerToSave(o, None, NOW.timestamp()) for o in outcomes]
        )
        assert [s.saved for s in saved] == [False, True]
        assert (await billing.load_ledger("1234567890")).balance.amount == Decimal("1027.20")
        assert (await billing.load_ledger("5550001")).balance.amount > 0
        with pytest.raises(ValueError, match="1234567890"):
            await cast(Any, billing).save_answers(
                [AnswerToSave(outcomes[0], None, 0.0), AnswerToSave(outcomes[0], None, 0.0)]
            )
