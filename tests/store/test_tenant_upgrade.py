"""A database of the schema before tenants and callbacks opens with this code, on both stores.

Its messages (written as the earlier releases wrote them) are the operator's (no
tenant, no callback) and go on as before; new messages carry their tenant and
callback, and their events reach the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_engine.store import MessageState, NewMessage, PartState, ReceiptArrived, open_store
from smpp_engine.store.callbacks import OutboxStatus

from .schema_at import store_before
from .test_upgrade import _ROWS, _SQLITE_STATE_COUNTS, QUEUED, SUBMITTED

BEFORE_TENANTS = 13  # the schema just before tenants and callbacks
PG_BEFORE_TENANTS = 14


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    versions = (BEFORE_TENANTS, PG_BEFORE_TENANTS)
    async with store_before(
        request.param, tmp_path, versions, _ROWS, last_id=3, sqlite_only=_SQLITE_STATE_COUNTS
    ) as url:
        yield url


async def test_a_database_from_before_tenants_opens_and_goes_on(before_url: str) -> None:
    async with open_store(before_url) as store:
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        assert QUEUED in [c.message_id for c in claimed]
        await store.record([ReceiptArrived("sim", "abc", PartState.DELIVERED, 12.0)])
        sent = await store.get(SUBMITTED)
        assert sent is not None and sent.state is MessageState.DELIVERED
        assert sent.tenant is None
        outbox = store.list_callbacks  # type: ignore[attr-defined]
        assert await outbox(status=OutboxStatus.PENDING) == []
        [new] = await store.accept(
            [
                NewMessage(
                    smsc="sim",
                    source="ACME",
                    destination="447700900004",
                    text="new",
                    tenant="acme",
                    callback_url="https://hooks.example/sms",
                    callback_events=frozenset({"accepted"}),
                )
            ],
            now=13.0,
        )
        view = await store.get(new.message_id)
        assert view is not None and view.tenant == "acme"
        (event,) = await outbox(status=OutboxStatus.PENDING)
        assert (event.message_id, event.event) == (new.message_id, "accepted")
