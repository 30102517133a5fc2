"""Flash messages (the ``flash`` column), on both stores.

A database of the schema before the column opens and goes on: its messages are not
flash; a message accepted as flash is claimed and shown as flash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_engine.store import NewMessage, open_store

from .schema_at import store_before, versions_before
from .test_upgrade import _ROWS, _SQLITE_STATE_COUNTS, QUEUED


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    versions = versions_before("ADD COLUMN flash")
    async with store_before(
        request.param, tmp_path, versions, _ROWS, last_id=3, sqlite_only=_SQLITE_STATE_COUNTS
    ) as url:
        yield url


async def test_a_database_from_before_flash_opens_and_keeps_flash_messages(
    before_url: str,
) -> None:
    async with open_store(before_url) as store:
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        old = [c for c in claimed if c.message_id == QUEUED]
        assert old and not old[0].flash
        old_view = await store.get(QUEUED)
        assert old_view is not None and not old_view.flash
        flash, plain = await store.accept(
            [
                NewMessage(
                    smsc="sim", source="ACME", destination="447700900004", text="Now!", flash=True
                ),
                NewMessage(smsc="sim", source="ACME", destination="447700900005", text="plain"),
            ],
            now=13.0,
        )
        claimed = await store.claim("sim", 10, owner="new-gateway", now=14.0, lease=30.0)
        by_id = {c.message_id: c for c in claimed}
        assert by_id[flash.message_id].flash
        assert not by_id[plain.message_id].flash
        shown = await store.get(flash.message_id)
        assert shown is not None and shown.flash
