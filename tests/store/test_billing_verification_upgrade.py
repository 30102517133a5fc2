"""A database of the schema before meters had a verification date opens, and its meters
take one: the billing rows of :mod:`.test_billing_upgrade`, written by SQL against the
schema one migration short of this code's on each store. Opened now, the meter has no
date (no invitation); imported again with one, its holder is invited to verify it."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import asyncpg
import pytest
import trio

from billing_core import MeterVerification, NoticeKind, NoticeReason, Service, decide_notices
from smpp_engine.store import BillingStore, Store, import_billing_data, open_store

from ..billing.builders import SIZER
from .conftest import store_url_of
from .schema_at import postgres_schema_at, sqlite_schema_at
from .test_billing_repository import NOW
from .test_billing_upgrade import _ROWS, ACCOUNT

#: The schema just before meter verification dates and the penalty columns.
SQLITE_BEFORE = 9
POSTGRES_BEFORE = 10


def _sqlite_before(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        sqlite_schema_at(connection, SQLITE_BEFORE)
        for statement, args in _ROWS:
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
            for statement, args in _ROWS:
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


async def test_a_meter_stored_before_verification_dates_takes_one_and_is_invited(
    before: Store,
) -> None:
    billing = cast(BillingStore, before)
    context = await billing.load_notice_context(ACCOUNT, now=NOW)
    assert context.verifications == ()
    due = NOW.date() + timedelta(days=10)
    meter = {
        "serial": "E-1",
        "account": ACCOUNT,
        "service": "electricity",
        "digits": 6,
        "registers": [{"zone": "T1", "id": 11}, {"zone": "T2", "id": 12}],
        "verification_date": due.isoformat(),
    }
    report = await import_billing_data(billing, {"meters": [meter]})
    assert report.ok, report.problems
    settings = await billing.load_settings()
    (paged,) = await billing.load_notice_contexts(settings, now=NOW)
    alone = await billing.load_notice_context(ACCOUNT, now=NOW)
    expected = (MeterVerification("E-1", Service.ELECTRICITY, due),)
    assert paged.verifications == alone.verifications == expected
    invitations = [
        v
        for v in decide_notices(paged, NOW, sizer=SIZER)
        if v.kind is NoticeKind.METER_VERIFICATION
    ]
    assert [v.reason for v in invitations] == [NoticeReason.QUEUED]
    # The same meter imported without a date has none any more.
    del meter["verification_date"]
    assert (await import_billing_data(billing, {"meters": [meter]})).ok
    assert (await billing.load_notice_context(ACCOUNT, now=NOW)).verifications == ()
