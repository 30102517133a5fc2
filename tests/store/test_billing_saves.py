"""Billing saves: the rules both stores share, and the ledger read under lock.

:mod:`smpp_engine.store.messages.accept` and :mod:`smpp_engine.store.billing.rules`
are tested as functions; the stores then show the reply accepted as any message
is, and (PostgreSQL, where saves run side by side) a save that waited for a
ledger's lock charging the ledger as the other transaction left it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import trio

from billing_core import (
    Ledger,
    NoticeKind,
    NoticeRecord,
    Payment,
    Period,
    post_payment,
    process_sms,
)
from smpp_engine.store import (
    BillingStore,
    MessageState,
    NewMessage,
    ReplyLease,
    Store,
    UnknownAccountError,
    import_billing_data,
)
from smpp_engine.store.billing import rules
from smpp_engine.store.billing.model import AnswerToSave
from smpp_engine.store.messages.accept import AcceptBatch, Lease, accepted, message_rows
from smpp_engine.store.messages.model import Accepted
from smpp_engine.store.postgres import open_postgres_store

from ..billing.builders import SIZER
from .conftest import open_test_store
from .test_billing_repository import NOW, PHONE, TWO_ACCOUNTS, example, load
from .test_postgres import admin_connection

D = Decimal


def _message(key: str | None, text: str = "t") -> NewMessage:
    return NewMessage(smsc="sim", source="5566", destination=PHONE, text=text, idempotency_key=key)


def test_a_batch_stores_the_first_message_of_each_key() -> None:
    batch = AcceptBatch.of([_message("a"), _message(None), _message("a", "again"), _message("b")])
    assert [m.idempotency_key for m in batch.distinct] == ["a", None, "b"]
    assert batch.slots == [(0, False), (1, False), (0, True), (2, False)]
    assert batch.keys() == ["a", "b"]
    # ids per distinct message, "b" stored before this batch
    assert accepted(batch, [(7, False), (8, False), (3, True)]) == [
        Accepted(7),
        Accepted(8),
        Accepted(7, duplicate=True),
        Accepted(3, duplicate=True),
    ]


def test_a_message_accepted_leased_is_submitting_attempted_and_dispatched() -> None:
    (queued,) = message_rows([_message("q")], 5.0)
    assert (queued["state"], queued["attempts"], queued["dispatched"]) == ("queued", 0, False)
    assert (queued["lease_owner"], queued["lease_until"], queued["created_at"]) == (None, None, 5.0)
    (leased,) = message_rows([_message("l")], 5.0, lease=Lease("me", 65.0))
    assert (leased["state"], leased["attempts"], leased["dispatched"]) == ("submitting", 1, True)
    assert (leased["lease_owner"], leased["lease_until"]) == ("me", 65.0)
    (held,) = message_rows([_message("h")], 5.0, state=MessageState.HELD, campaign_id=4)
    assert (held["state"], held["campaign_id"]) == ("held", 4)
    with pytest.raises(ValueError, match="SUBMITTING"):
        message_rows([_message("x")], 5.0, state=MessageState.HELD, lease=Lease("me", 65.0))


async def test_an_answer_charging_an_unknown_account_is_refused(store: Store) -> None:
    repo = cast(BillingStore, store)
    assert (await import_billing_data(repo, example())).ok
    context = await load(repo, PHONE, None, "mo-u")
    outcome = process_sms(context, "12150 5080", mo_message_id="mo-u", now=NOW, sizer=SIZER)
    (charge,) = outcome.charges
    with pytest.raises(UnknownAccountError):
        rules.answer_rows(outcome, {})
    stray = outcome._replace(charges=(charge._replace(account_number="000"),))
    with pytest.raises(Exception, match="unknown account '000'"):
        await repo.save_answer(stray, None, now=NOW.timestamp(), lease=None)
    # Nothing of it was kept: the same MO saves afterwards.
    assert await repo.reply_message_id("mo-u") is None
    assert (await repo.save_answer(outcome, None, now=NOW.timestamp(), lease=None)).saved


def test_a_payment_is_posted_again_on_the_ledger_as_stored() -> None:
    march = Period(2024, 3)
    stale = Ledger.opening(D(0), march)
    stored = stale.charge(march, D("100.00"))
    payment = Payment("1", D("30.00"), date(2024, 3, 25), "r")
    posting = rules.payment_as_stored(post_payment(stale, payment), stored)
    assert posting.balance_after == D("70.00")
    write = rules.payment_rows(posting, stored)
    assert write.allocations == [
        {
            "line": 0,
            "period": "2024-03",
            "part": "principal",
            "amount": D("30.00"),
            "due_date": None,  # the item paid has none
        }
    ]
    assert write.ledgers.open_items[0]["principal"] == D("70.00")


def test_a_notice_is_stored_pending_whatever_it_says() -> None:
    at = datetime(2024, 3, 20, tzinfo=UTC)
    notice = NoticeRecord(NoticeKind.DEBT, "1", PHONE, "долг", at, None, amount=D("5.00"))
    (row,) = rules.notice_rows([notice], "ref")
    assert (row["state"], row["payment_reference"], row["amount"]) == ("pending", "ref", D("5.00"))


async def test_a_reply_is_accepted_as_any_message(store: Store) -> None:
    repo = cast(BillingStore, store)
    assert (await import_billing_data(repo, example())).ok
    outcome = process_sms(
        await load(repo, PHONE, None, "mo-e"), "БАЛ", mo_message_id="mo-e", now=NOW, sizer=SIZER
    )
    assert outcome.reply is not None
    reply = NewMessage(
        smsc="sim", source="5566", destination=PHONE, text="ok", priority=2, idempotency_key="r:e"
    )
    at = NOW.timestamp()
    saved = await repo.save_answer(outcome, reply, now=at, lease=ReplyLease("me", at + 60))
    assert saved.reply_id is not None
    (sent,) = await store.accept([reply], now=at)  # the pipeline's accept knows it
    assert sent == Accepted(saved.reply_id, duplicate=True)
    view = await store.get(saved.reply_id)
    assert view is not None and view.state is MessageState.SUBMITTING
    assert [(e.at, e.event, e.detail) for e in view.events][:1] == [
        (at, "accepted", "parts=1 priority=2")
    ]


async def test_a_reply_whose_key_is_stored_is_kept_on_its_mo_and_not_sent_again(
    store: Store,
) -> None:
    repo = cast(BillingStore, store)
    assert (await import_billing_data(repo, example())).ok
    at = NOW.timestamp()
    (before,) = await store.accept([_message("reply:mo-k", "sent before")], now=at)
    outcome = process_sms(
        await load(repo, PHONE, None, "mo-k"), "БАЛ", mo_message_id="mo-k", now=NOW, sizer=SIZER
    )
    assert outcome.reply is not None
    saved = await repo.save_answer(
        outcome, _message("reply:mo-k"), now=at, lease=ReplyLease("me", at + 60)
    )
    # Saved, its reply the one stored: not claimed again, kept on the MO.
    assert (saved.saved, saved.reply_id, saved.claimed) == (True, before.message_id, None)
    assert await repo.reply_message_id("mo-k") == before.message_id
    view = await store.get(before.message_id)
    assert view is not None and view.text == "sent before"


@pytest.mark.parametrize("kind", ["postgresql"])
async def test_a_batch_keeps_each_reply_on_its_mo_stored_before_or_new(
    kind: str, tmp_path: Path
) -> None:
    async for store in open_test_store(kind, tmp_path):
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        at = NOW.timestamp()
        (before,) = await store.accept([_message("reply:mo-b1", "sent before")], now=at)
        answers = []
        for phone, mo_id in ((PHONE, "mo-b1"), (TWO_ACCOUNTS, "mo-b2")):
            outcome = process_sms(
                await load(repo, phone, None, mo_id),
                "БАЛ",
                mo_message_id=mo_id,
                now=NOW,
                sizer=SIZER,
            )
            reply = NewMessage(
                smsc="sim", source="5566", destination=phone, text="ok",
                idempotency_key=f"reply:{mo_id}",
            )  # fmt: skip
            answers.append(AnswerToSave(outcome, reply, at, ReplyLease("me", at + 60)))
        first, second = await repo.save_answers(answers)
        assert (first.saved, first.reply_id, first.claimed) == (True, before.message_id, None)
        assert second.saved and second.claimed is not None
        assert second.reply_id == second.claimed.message_id != before.message_id
        assert await repo.reply_message_id("mo-b1") == before.message_id
        assert await repo.reply_message_id("mo-b2") == second.reply_id
        view = await store.get(cast(int, second.reply_id))
        assert view is not None and view.state is MessageState.SUBMITTING


async def test_a_save_that_waited_for_the_ledger_charges_it_as_left(pg_dsn: str) -> None:
    """A charge of another period lands while the SMS's save waits for the account's
    lock: both stay, the totals and the open items alike."""
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(BillingStore, store)
        assert (await import_billing_data(repo, example())).ok
        context = await load(repo, PHONE, None, "mo-w")
        outcome = process_sms(context, "12150 5080", mo_message_id="mo-w", now=NOW, sizer=SIZER)
        await admin.execute("BEGIN")
        await admin.execute(
            "UPDATE billing_accounts SET charges = charges + 100 WHERE number = '1234567890'"
        )
        await admin.execute(
            "INSERT INTO billing_open_items (account_number, period, principal, penalty) "
            "VALUES ('1234567890', '2024-01', 100, 0)"
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(repo.save_outcome, outcome)
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
            )
            await admin.execute("COMMIT")
        ledger = await repo.load_ledger("1234567890")
        assert ledger.balance.charges == D("1127.20")
        assert [(i.period, i.principal) for i in ledger.open_items] == [
            (Period(2024, 1), D(100)),
            (Period(2024, 3), D("1027.20")),
        ]
        # A payment that waited too.
        await admin.execute("BEGIN")
        await admin.execute(
            "UPDATE billing_accounts SET charges = charges + 50 WHERE number = '1234567890'"
        )
        await admin.execute(
            "INSERT INTO billing_open_items (account_number, period, principal, penalty) "
            "VALUES ('1234567890', '2023-12', 50, 0)"
        )
        payment = Payment("1234567890", D("60.00"), date(2024, 3, 25), "bank-w")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(repo.save_payment, post_payment(ledger, payment))
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
            )
            await admin.execute("COMMIT")
        paid = await repo.load_ledger("1234567890")
        # The oldest debt first: December's 50, then 10 of January.
        assert [(i.period, i.principal) for i in paid.open_items] == [
            (Period(2024, 1), D(90)),
            (Period(2024, 3), D("1027.20")),
        ]
        assert paid.balance.amount == D("1117.20")


async def test_the_store_s_billing_utility_answers_for_the_default(store: Store) -> None:
    repo = cast(BillingStore, store)
    data = example()
    second = {**data["utilities"][0], "id": "beta", "default": False}
    data["utilities"].append(second)
    assert (await import_billing_data(repo, data)).ok
    assert (await repo.load_settings()).utility_id == "acme"  # imported as the default
    store.billing_utility = "beta"  # type: ignore[attr-defined]
    assert (await repo.load_settings()).utility_id == "beta"
    assert (await repo.load_settings("acme")).utility_id == "acme"


@pytest.mark.parametrize("kind", ["postgresql"])
@pytest.mark.parametrize("asked", [[PHONE], [PHONE, TWO_ACCOUNTS]], ids=["one", "two"])
async def test_one_call_loads_decides_and_saves_what_was_decided(
    kind: str, asked: list[str], tmp_path: Path
) -> None:
    at = NOW.timestamp()
    seen: list[list[Any]] = []

    def decide(contexts: list[Any]) -> list[AnswerToSave]:
        seen.append(contexts)
        answers = []
        for n, context in enumerate(contexts):
            mo_id = f"mo-one-call-{n}"
            outcome = process_sms(context, "БАЛ", mo_message_id=mo_id, now=NOW, sizer=SIZER)
            reply = NewMessage(smsc="sim", source="5566", destination=context.msisdn,
                               text="ok", idempotency_key=f"reply:{mo_id}")  # fmt: skip
            answers.append(AnswerToSave(outcome, reply, at, ReplyLease("me", at + 60)))
        return answers

    async for store in open_test_store(kind, tmp_path):
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        questions = [(phone, None, f"mo-one-call-{n}") for n, phone in enumerate(asked)]
        saved = await repo.answer(questions, now=NOW, decide=decide)
        # Each context is the one asked, in order; each answer decided is saved.
        (contexts,) = seen
        assert [c.msisdn for c in contexts] == asked
        assert [s.saved for s in saved] == [True] * len(asked)
        for n, result in enumerate(saved):
            assert result.claimed is not None and result.reply_id == result.claimed.message_id
            assert await repo.reply_message_id(f"mo-one-call-{n}") == result.reply_id


@pytest.mark.parametrize("kind", ["postgresql"])
async def test_what_the_decision_raises_is_raised_as_it_is_and_nothing_is_saved(
    kind: str, tmp_path: Path
) -> None:
    def decide(contexts: list[Any]) -> list[AnswerToSave]:
        raise LookupError("the core's own fault")

    def twice(contexts: list[Any]) -> list[AnswerToSave]:
        (context,) = contexts
        outcome = process_sms(context, "БАЛ", mo_message_id="mo-2x", now=NOW, sizer=SIZER)
        return [AnswerToSave(outcome, None, 0.0), AnswerToSave(outcome, None, 0.0)]

    async for store in open_test_store(kind, tmp_path):
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        with pytest.raises(LookupError, match="the core's own fault"):
            await repo.answer([(PHONE, None, "mo-raised")], now=NOW, decide=decide)
        # Answers that charge one account twice are the caller's mistake too.
        with pytest.raises(ValueError, match="1234567890"):
            await repo.answer([(PHONE, None, "mo-2x")], now=NOW, decide=twice)
        for mo_id in ("mo-raised", "mo-2x"):
            assert not (await load(repo, PHONE, None, mo_id)).mo_already_processed
        assert await repo.answer([], now=NOW, decide=decide) == []
