"""A database of the schema before rate shares opens with this code, on both stores: its
queued message is claimed and may end PRESUMED_DELIVERED (PostgreSQL's state check
takes the new state), and the processes sharing it hold rate shares.

The schema before is found by the migration that creates ``rate_shares``, not by a
number, so it stays right when migrations of other features are numbered around it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_engine.store import (
    MessageState,
    PartSubmitted,
    RateShare,
    RateShareStore,
    Store,
    open_store,
)

from .schema_at import store_before, versions_before

_QUEUED = (
    "INSERT INTO messages (id, smsc, source, source_ton, source_npi, destination, dest_ton, "
    "dest_npi, text, parts, priority, registered_delivery, not_before, state, attempts, "
    "created_at, updated_at) VALUES (1, 'sim', 'ACME', 5, 0, '447700900001', 1, 1, 'queued', "
    "1, 0, {true}, 0, 'queued', 0, 1, 1)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def before(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    versions = versions_before("CREATE TABLE rate_shares")
    rows = [_QUEUED, "INSERT INTO state_counts (smsc, state, n) VALUES ('sim', 'queued', 1)"]
    async with (
        store_before(request.param, tmp_path, versions, rows, last_id=1) as url,
        open_store(url) as store,
    ):
        yield store


async def test_a_database_before_rate_shares_opens_and_goes_on(before: Store) -> None:
    now = time.time()
    (claimed,) = await before.claim("sim", 10, owner="new:1/sim#0", now=now, lease=60)
    assert (claimed.message_id, claimed.text) == (1, "queued")
    await before.record([PartSubmitted(1, 0, "bind-1", "smsc-1", now, now)])
    assert await before.expire_receipts(older_than=now + 1, now=now + 2, presume_delivered=True)
    view = await before.get(1)
    assert view is not None and view.state is MessageState.PRESUMED_DELIVERED
    assert isinstance(before, RateShareStore)
    rows = await before.renew_rate_share(RateShare("sim", "new:1", now + 3), now=now)
    assert rows == [RateShare("sim", "new:1", now + 3, 1.0, None)]
