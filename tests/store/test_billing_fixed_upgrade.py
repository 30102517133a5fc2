"""A database of the schema before charges had a kind (SQLite 5, PostgreSQL 6) opens and
bills fixed charges.

Filled as that schema stored billing data (the rows of
:mod:`.test_billing_upgrade`), with a fixed electricity charge of 50.00 a month
and a charge stored for March: the charges stored before are usage, so March's
first reading still bills March's fixed charge, once.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import trio

from billing_core import ChargeKind, Period, Service, process_sms
from smpp_engine.store import BillingStore, Store, open_store

from ..billing.builders import SIZER
from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at
from .test_billing_repository import NOW, PHONE
from .test_billing_upgrade import _ROWS, ACCOUNT

D = Decimal
#: The last schema before charges had a kind, per store.
SQLITE_BEFORE = 5
POSTGRES_BEFORE = 6

_MORE: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO billing_tariffs (id, utility_id, service, zone, valid_from, valid_to, pricing) "
     "VALUES (2, 'acme', 'electricity', NULL, '2024-01-01', NULL, ?)",
     ('{"kind":"fixed","amount":"50.00"}',)),
    ("INSERT INTO billing_charges (account_number, period, service, meter_id, start_on, end_on, "
     "due_date, amount, lines, mo_message_id) VALUES (?, '2024-03', 'electricity', 1, "
     "'2024-02-19', '2024-03-01', '2024-04-15', '0.00', '[]', 'mo-old')", (ACCOUNT,)),
]  # fmt: skip


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, SQLITE_BEFORE)
        for statement, args in _ROWS + _MORE:
            connection.execute(statement.format(true=1, false=0), args)
    finally:
        connection.close()


def _postgres_before(dsn: str) -> None:
    def numbered(statement: str) -> str:
        count = iter(range(1, 100))
        return re.sub(r"\?", lambda _: f"${next(count)}", statement)

    async def write() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await postgres_schema_at(connection, POSTGRES_BEFORE)
            for statement, args in _ROWS + _MORE:
                sql = numbered(statement.format(true="true", false="false"))
                types = await connection.prepare(sql)
                values = [
                    datetime.fromisoformat(a)
                    if t.name == "timestamptz"
                    else datetime.fromisoformat(a).date()
                    if t.name == "date"
                    else a
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
async def before(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with store_url_of(request.param, tmp_path) as url:
        if request.param == "sqlite":
            await trio.to_thread.run_sync(_sqlite_before, tmp_path / "store.db")
        else:
            await trio.to_thread.run_sync(_postgres_before, url)
        async with open_store(url) as store:
            yield store


async def test_a_database_before_charge_kinds_opens_and_bills_the_fixed_charge_once(
    before: Store,
) -> None:
    repo = cast(BillingStore, before)
    context = await repo.load_context(
        msisdn=PHONE, account_number=None, mo_message_id="mo-1", now=NOW
    )
    assert context.account is not None and context.account.fixed_billed == frozenset()
    outcome = process_sms(context, "12150 5080", mo_message_id="mo-1", now=NOW, sizer=SIZER)
    assert [(c.kind, c.amount) for c in outcome.charges] == [
        (ChargeKind.USAGE, D("1027.20")),
        (ChargeKind.FIXED, D("50.00")),
    ]
    assert outcome.balance_after == D("1177.20")
    assert await repo.save_outcome(outcome)
    later = NOW + timedelta(hours=1)
    context = await repo.load_context(
        msisdn=PHONE, account_number=None, mo_message_id="mo-2", now=later
    )
    assert context.account is not None
    assert context.account.fixed_billed == frozenset({(Service.ELECTRICITY, Period(2024, 3))})
    second = process_sms(context, "12160 5085", mo_message_id="mo-2", now=later, sizer=SIZER)
    assert [c.kind for c in second.charges] == [ChargeKind.USAGE]
    assert await repo.save_outcome(second)
    ledger = await repo.load_ledger(ACCOUNT)
    assert ledger.balance.amount == D("1177.20") + second.charges[0].amount
    # The period closes on the upgraded schema: read, and its fixed charge billed.
    closed = await repo.close_period(Period(2024, 3), now=later + timedelta(days=14))
    assert (closed.accounts, closed.estimated_meters, closed.fixed_charges) == (1, 0, 0)
