"""An SMS's answer saved in one statement when nothing changed since its context loaded.

PostgreSQL's :func:`save_if_unchanged` writes an answer only when, under the
accounts' lock, the ledgers are the ones its outcome was computed on, its MO is
not stored and its reply's key is free; otherwise it writes nothing and the
store saves in a transaction on the ledger as it stands. Each guard is broken
here by a real change between the load and the save.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, cast

import pytest
import trio

from billing_core import Ledger, Period, process_sms
from smpp_engine.store import (
    BillingStore,
    MessageState,
    NewMessage,
    ReplyLease,
    import_billing_data,
)
from smpp_engine.store.billing.model import AnswerToSave, SavedAnswer
from smpp_engine.store.billing.postgres_unchanged import save_if_unchanged
from smpp_engine.store.postgres import open_postgres_store

from ..billing.builders import SIZER
from .test_billing_repository import NOW, PHONE, example, load
from .test_postgres import Admin, admin_connection, kill_connections, once_available

D = Decimal
ACCOUNT = "1234567890"  # PHONE's; a reading "12150 5080" bills it 1027.20
_OF_MO = "mo_message_id = 'mo-u'"


def _reply(mo_id: str, text: str = "ok") -> NewMessage:
    return NewMessage(
        smsc="sim", source="5566", destination=PHONE, text=text, idempotency_key=f"reply:{mo_id}"
    )


async def _reading(repo: BillingStore, mo_id: str) -> tuple[AnswerToSave, dict[str, Ledger]]:
    """A reading's answer, and the ledgers its outcome was computed on."""
    context = await load(repo, PHONE, None, mo_id)
    outcome = process_sms(context, "12150 5080", mo_message_id=mo_id, now=NOW, sizer=SIZER)
    assert context.account is not None and outcome.charges
    at = NOW.timestamp()
    answer = AnswerToSave(outcome, _reply(mo_id), at, ReplyLease("me", at + 60))
    return answer, {ACCOUNT: context.account.ledger}


async def _save(
    store: Any, answers: Sequence[AnswerToSave], loaded: dict[str, Ledger]
) -> list[SavedAnswer] | None:
    async def on_planned(pool: Any) -> list[SavedAnswer] | None:
        async with pool.acquire() as connection:
            return await save_if_unchanged(connection, answers, loaded)

    return cast(list[SavedAnswer] | None, await store._run("save", on_planned, store._planned))


async def test_an_answer_on_the_ledger_as_stored_is_saved_whole(pg_dsn: str) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(BillingStore, store)
        assert (await import_billing_data(repo, example())).ok
        answer, loaded = await _reading(repo, "mo-u")
        saved = await _save(store, [answer], loaded)
        assert saved is not None
        (one,) = saved
        assert one.saved and one.claimed is not None and one.reply_id == one.claimed.message_id
        assert await repo.reply_message_id("mo-u") == one.reply_id
        view = await store.get(one.claimed.message_id)
        assert view is not None and view.state is MessageState.SUBMITTING
        ledger = await repo.load_ledger(ACCOUNT)
        assert ledger.balance.amount == D("1027.20")
        assert [(i.period, i.principal) for i in ledger.open_items] == [
            (Period(2024, 3), D("1027.20"))
        ]
        assert (await load(repo, PHONE, None, "mo-u")).mo_already_processed
        readings = "SELECT array_agg(value ORDER BY value) FROM billing_readings WHERE {}"
        assert await admin.value(readings.format(_OF_MO)) == [D(5080), D(12150)]
        charged = "SELECT sum(amount) FROM billing_charges WHERE {}"
        assert await admin.value(charged.format(_OF_MO)) == D("1027.20")


async def _charged(admin: Admin, store: Any = None) -> None:
    await admin.execute(
        f"UPDATE billing_accounts SET charges = charges + 100 WHERE number = '{ACCOUNT}'"
    )


async def _item_changed(admin: Admin, store: Any = None) -> None:
    # The totals as they were: only an open item differs.
    await admin.execute(
        "INSERT INTO billing_open_items (account_number, period, principal, penalty) "
        f"VALUES ('{ACCOUNT}', '2024-01', 100, 0)"
    )


async def _mo_stored(admin: Admin, store: Any = None) -> None:
    await admin.execute(
        "INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status) "
        f"VALUES ('mo-u', '{PHONE}', '12150 5080', now(), 'accepted')"
    )


async def _key_taken(admin: Admin, store: Any) -> None:
    await store.accept([_reply("mo-u", "sent before")], now=NOW.timestamp())


@pytest.mark.parametrize(
    "meddle",
    [_charged, _item_changed, _mo_stored, _key_taken],
    ids=["totals", "open-item", "mo-stored", "key-taken"],
)
async def test_nothing_is_written_once_what_the_answer_rests_on_changed(
    meddle: Callable[[Admin, Any], Awaitable[None]], pg_dsn: str
) -> None:
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(BillingStore, store)
        assert (await import_billing_data(repo, example())).ok
        answer, loaded = await _reading(repo, "mo-u")
        await meddle(admin, store)
        totals = "SELECT charges FROM billing_accounts WHERE number = $1"
        charges = await admin.value(totals, ACCOUNT)
        assert await _save(store, [answer], loaded) is None
        # Not a row of the answer: no reading, no charge, no reply, the totals as they were.
        for table in ("billing_charges", "billing_readings"):
            assert await admin.value(f"SELECT count(*) FROM {table} WHERE {_OF_MO}") == 0
        replies = "SELECT count(*) FROM messages WHERE idempotency_key = 'reply:mo-u'"
        assert await admin.value(replies) == (1 if meddle is _key_taken else 0)
        assert await admin.value(totals, ACCOUNT) == charges


async def test_an_answer_whose_ledger_changed_under_its_lock_is_saved_on_it_as_left(
    pg_dsn: str,
) -> None:
    """A charge lands while the answer's statement waits for the account's lock: the
    statement writes nothing, the transaction saves the reading on the ledger as the
    charge left it, and the reply is restated with that balance."""
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        restated: list[Ledger] = []

        def decide(contexts: list[Any]) -> list[AnswerToSave]:
            (context,) = contexts
            outcome = process_sms(context, "12150 5080", mo_message_id="mo-l", now=NOW, sizer=SIZER)

            def restate(dropped: Sequence[Any], ledger: Ledger) -> NewMessage:
                restated.append(ledger)
                return _reply("mo-l", f"debt {ledger.balance.amount}")

            at = NOW.timestamp()
            return [AnswerToSave(outcome, _reply("mo-l"), at, ReplyLease("me", at + 60), restate)]

        await admin.execute("BEGIN")
        await _charged(admin)
        async with trio.open_nursery() as nursery:
            answered: list[Any] = []

            async def answer() -> None:
                answered.append(await repo.answer([(PHONE, None, "mo-l")], now=NOW, decide=decide))

            nursery.start_soon(answer)
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
            )
            await admin.execute("COMMIT")
        ((saved,),) = answered
        assert saved.saved and saved.reply_id is not None
        ledger = await repo.load_ledger(ACCOUNT)
        assert ledger.balance.amount == D("1127.20")
        assert [r.balance.amount for r in restated] == [D("1127.20")]
        view = await store.get(saved.reply_id)
        assert view is not None and view.text == "debt 1127.20"


async def test_an_open_item_changed_under_the_lock_is_kept_whatever_the_totals(
    pg_dsn: str,
) -> None:
    """Once the account's lock was waited for, the open items the statement would read
    are older than the lock: even with the totals as loaded, the answer is saved in
    the transaction, which reads them again, and the other's change is kept."""
    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        await admin.execute(
            f"UPDATE billing_accounts SET charges = charges + 100 WHERE number = '{ACCOUNT}'"
        )
        await admin.execute(
            "INSERT INTO billing_open_items (account_number, period, principal, penalty) "
            f"VALUES ('{ACCOUNT}', '2024-02', 100, 0)"
        )

        def decide(contexts: list[Any]) -> list[AnswerToSave]:
            (context,) = contexts
            outcome = process_sms(context, "12150 5080", mo_message_id="mo-i", now=NOW, sizer=SIZER)
            return [AnswerToSave(outcome, None, NOW.timestamp())]

        await admin.execute("BEGIN")
        await admin.execute(
            f"UPDATE billing_accounts SET advance = advance WHERE number = '{ACCOUNT}'"
        )
        await admin.execute("UPDATE billing_open_items SET penalty = 7 WHERE period = '2024-02'")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: repo.answer([(PHONE, None, "mo-i")], now=NOW, decide=decide))
            await admin.wait_until(
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
            )
            await admin.execute("COMMIT")
        ledger = await repo.load_ledger(ACCOUNT)
        assert [(i.period, i.principal, i.penalty) for i in ledger.open_items] == [
            (Period(2024, 2), D(100), D(7)),
            (Period(2024, 3), D("1027.20"), D(0)),
        ]


async def test_the_answers_pool_plans_once_and_the_main_pool_does_not(pg_dsn: str) -> None:
    async def settings(pool: Any) -> tuple[str, str]:
        async with pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')"
            )
            return row[0], row[1]

    async with open_postgres_store(pg_dsn) as store:
        repo = cast(Any, store)
        planned = await repo._run("settings", settings, repo._planned)
        main = await repo._run("settings", settings, repo._pool)
    assert planned == ("force_generic_plan", "off")
    assert main == ("force_custom_plan", "on")


async def test_answers_are_unavailable_while_their_connections_are_killed_then_heal(
    pg_dsn: str,
) -> None:
    def decide(contexts: list[Any]) -> list[AnswerToSave]:
        (context,) = contexts
        outcome = process_sms(context, "БАЛ", mo_message_id="mo-k", now=NOW, sizer=SIZER)
        return [AnswerToSave(outcome, None, NOW.timestamp())]

    async with open_postgres_store(pg_dsn) as store, admin_connection(pg_dsn) as admin:
        repo = cast(Any, store)
        assert (await import_billing_data(repo, example())).ok
        await repo.answer([(PHONE, None, "mo-first")], now=NOW, decide=lambda contexts: [])
        await kill_connections(admin)
        # Told to wait (the SMSC offers the MO again), never a plain store error.
        (saved,) = await once_available(
            lambda: repo.answer([(PHONE, None, "mo-k")], now=NOW, decide=decide)
        )
        assert saved.saved
