"""The receipt_id column (a submit_multi's other destinations named by its one id), on
both stores: a database of the schema before it opens and goes on, its messages named
by their own ids; the names given are read back, only for the messages given them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_engine.store import NewMessage, open_store

from .schema_at import store_before, versions_before
from .test_upgrade import _ROWS, QUEUED


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    versions = versions_before("ADD COLUMN receipt_id")
    async with store_before(request.param, tmp_path, versions, _ROWS, last_id=3) as url:
        yield url


async def test_a_database_from_before_receipt_ids_opens_and_names_new_ones(
    before_url: str,
) -> None:
    async with open_store(before_url) as store:
        assert await store.receipt_ids([QUEUED]) == {}
        accepted = await store.accept(
            [
                NewMessage(smsc="sim", source="ACME", destination=f"44770090010{n}", text="x")
                for n in range(3)
            ],
            now=13.0,
        )
        first, *others = (a.message_id for a in accepted)
        await store.name_receipts(first, others)
        everyone = [QUEUED, first, *others]
        assert await store.receipt_ids(everyone) == dict.fromkeys(others, first)
