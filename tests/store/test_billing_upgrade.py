"""Billing data of the previous release (schema 5) opens with this code, on both stores.

The database is built with the migrations up to 5 and filled by SQL as that
release stored it: a utility, an account owing for February, its phone, a
two-zone meter with its last readings, a tariff, an SMS already answered and a
payment already posted. Opened now (PostgreSQL: migration 6 drops the stored
procedures that saved answers), an SMS is answered and billed on that ledger
with its reply stored claimed, a payment is allocated oldest debt first, and
what was processed before stays processed.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import trio

from billing_core import (
    NoticeKind,
    NoticeRecord,
    Payment,
    PaymentPosting,
    post_payment,
    process_sms,
)
from smpp_engine.store import (
    BillingStore,
    MessageState,
    NewMessage,
    ReplyLease,
    SavedAnswer,
    Store,
    open_store,
)
from smpp_engine.store.billing.codec import dumps, settings_from_json, settings_to_json

from ..billing.builders import SIZER
from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at
from .test_billing_repository import NOW, PHONE, example

PREVIOUS_RELEASE = 5
ACCOUNT = "1234567890"
D = Decimal


def _utility_settings() -> str:
    document = {k: v for k, v in example()["utilities"][0].items() if k != "default"}
    return dumps(settings_to_json(settings_from_json(document)))


# Written as release 5 stored them (its columns; booleans per store).
_ROWS: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO billing_utilities (id, settings, is_default) VALUES (?, ?, {true})",
     ("acme", _utility_settings())),
    ("INSERT INTO billing_accounts (number, utility_id, language, time_zone, closed, opening, "
     "charges, penalties, payments, advance) VALUES (?, 'acme', 'ru', NULL, {false}, '100.00', "
     "'0', '0', '0', '0')", (ACCOUNT,)),
    ("INSERT INTO billing_open_items (account_number, period, principal, penalty, due_date) "
     "VALUES (?, '2024-02', '100.00', '0', '2024-03-15')", (ACCOUNT,)),
    ("INSERT INTO billing_bindings (msisdn, account_number, opted_out) VALUES (?, ?, {false})",
     (PHONE, ACCOUNT)),
    ("INSERT INTO billing_service_points (id, account_number, service) "
     "VALUES (1, ?, 'electricity')", (ACCOUNT,)),
    ("INSERT INTO billing_meters (id, service_point_id, serial, digits, decimals, multiplier, "
     "status, position) VALUES (1, 1, 'E-1', 6, 0, '1', 'active', 0)", ()),
    ("INSERT INTO billing_registers (id, meter_id, zone, position) VALUES "
     "(11, 1, 'T1', 0), (12, 1, 'T2', 1)", ()),
    ("INSERT INTO billing_readings (register_id, value, taken_at, received_at, source, status, "
     "period) VALUES (11, '12000', ?, ?, 'inspector', 'accepted', '2024-02'), "
     "(12, '5000', ?, ?, 'inspector', 'accepted', '2024-02')",
     ("2024-02-19T09:00:00.000000+00:00",) * 4),
    ("INSERT INTO billing_tariffs (id, utility_id, service, zone, valid_from, valid_to, pricing) "
     "VALUES (1, 'acme', 'electricity', NULL, '2024-01-01', NULL, ?)",
     ('{"kind":"zoned","prices":{"T1":"5.92","T2":"1.74"}}',)),
    ("INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent, "
     "account_number, reply, rejection, balance_after) VALUES ('mo-old', ?, 'БАЛ', "
     "'2024-03-19T09:00:00.000000+00:00', 'answered', 'balance', ?, 'Долг 100,00', NULL, "
     "'100.00')", (PHONE, ACCOUNT)),
    ("INSERT INTO billing_payments (id, reference, account_number, amount, paid_on, period, "
     "advance) VALUES (1, 'bank-old', ?, '0.01', '2024-01-10', NULL, '0.01')", (ACCOUNT,)),
]  # fmt: skip


def _sqlite_release_5(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, PREVIOUS_RELEASE)
        for statement, args in _ROWS:
            connection.execute(statement.format(true=1, false=0), args)
    finally:
        connection.close()


def _postgres_release_5(dsn: str) -> None:
    def numbered(statement: str) -> str:
        count = iter(range(1, 100))
        return re.sub(r"\?", lambda _: f"${next(count)}", statement)

    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(connection, PREVIOUS_RELEASE)
            for statement, args in _ROWS:
                sql = numbered(statement.format(true="true", false="false"))
                types = await connection.prepare(sql)
                values = [
                    datetime.fromisoformat(a) if t.name == "timestamptz" else a
                    for a, t in zip(args, types.get_parameters(), strict=True)
                ]
                await connection.execute(sql, *values)
            for table in ("service_points", "meters", "registers", "tariffs", "payments"):
                await connection.execute(
                    f"SELECT setval('billing_{table}_id_seq', "
                    f"(SELECT max(id) FROM billing_{table}))"
                )
        finally:
            await connection.close()

    asyncio.run(write())


@pytest.fixture(params=["sqlite", "postgresql"])
async def release_5(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with store_url_of(request.param, tmp_path) as url:
        if request.param == "sqlite":
            await trio.to_thread.run_sync(_sqlite_release_5, tmp_path / "store.db")
        else:
            await trio.to_thread.run_sync(_postgres_release_5, url)
        async with open_store(url) as store:
            yield store


def _confirmation(posting: PaymentPosting) -> list[NoticeRecord]:
    at = datetime(2024, 3, 25, 9, tzinfo=UTC)
    text = f"Оплата принята, долг {posting.balance_after}"
    return [NoticeRecord(NoticeKind.PAYMENT_CONFIRMATION, ACCOUNT, PHONE, text, at, at)]


async def test_billing_data_of_the_previous_release_is_answered_and_paid(
    release_5: Store,
) -> None:
    store = release_5
    repo = cast(BillingStore, store)
    context = await repo.load_context(
        msisdn=PHONE, account_number=None, mo_message_id="mo-new", now=NOW
    )
    assert context.account is not None and context.account.ledger.balance.amount == D("100.00")
    outcome = process_sms(context, "12150 5080", mo_message_id="mo-new", now=NOW, sizer=SIZER)
    assert outcome.reply is not None and outcome.balance_after == D("1127.20")
    reply = NewMessage(
        smsc="sim", source="5566", destination=PHONE, text=outcome.reply.text, priority=2,
        idempotency_key="reply:mo-new",
    )  # fmt: skip
    at = NOW.timestamp()
    saved = await repo.save_answer(outcome, reply, now=at, lease=ReplyLease("me", at + 60))
    assert saved.claimed is not None and saved.claimed.dispatched
    view = await store.get(saved.claimed.message_id)
    assert view is not None and view.state is MessageState.SUBMITTING
    assert view.events[0].event == "accepted"
    ledger = await repo.load_ledger(ACCOUNT)
    assert [(str(i.period), i.principal) for i in ledger.open_items] == [
        ("2024-02", D("100.00")),
        ("2024-03", D("1027.20")),
    ]
    # The payment goes to the oldest debt first; its confirmation is kept with it.
    payment = Payment(ACCOUNT, D("500.00"), date(2024, 3, 25), "bank-new")
    assert await repo.save_payment_with_notices(post_payment(ledger, payment), _confirmation)
    paid = await repo.load_ledger(ACCOUNT)
    assert [(str(i.period), i.principal) for i in paid.open_items] == [("2024-03", D("627.20"))]
    assert paid.balance.amount == D("627.20")
    (notice,) = await repo.unqueued_notices("bank-new")
    assert notice.text.endswith("627.20")
    # What the previous release processed stays processed.
    old = Payment(ACCOUNT, D("0.01"), date(2024, 1, 10), "bank-old")
    assert not await repo.save_payment_with_notices(post_payment(paid, old), _confirmation)
    again = process_sms(
        await repo.load_context(msisdn=PHONE, account_number=None, mo_message_id="x", now=NOW),
        "БАЛ",
        mo_message_id="mo-old",
        now=NOW,
        sizer=SIZER,
    )
    assert await repo.save_answer(again, None, now=at, lease=None) == SavedAnswer(saved=False)
    assert (await repo.load_ledger(ACCOUNT)).balance.amount == D("627.20")
    if store.name == "postgresql":
        assert await _procedures(store) == ["billing_load_context"]


async def _procedures(store: Store) -> list[str]:
    """The functions of the schema (migration 6 leaves only the one that loads)."""

    async def fetch(pool: Any) -> list[str]:
        async with pool.acquire() as connection:
            found = await connection.fetch(
                "SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n "
                "ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1"
            )
            return [r[0] for r in found]

    names: list[str] = await store._bridge.call(fetch, store._pool)  # type: ignore[attr-defined]
    return names
