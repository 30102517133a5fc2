"""Segments kept as a client sent them (the ``payload`` column), on both stores.

A database of the schema before the column opens and goes on: its messages have
no payload and are split by their route as before; a message accepted with a
payload is claimed with it, byte for byte, also when accepted leased.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_engine.protocol import SegmentPayload, Tag
from smpp_engine.store import NewMessage, open_store

from .schema_at import store_before, versions_before
from .test_upgrade import _ROWS, _SQLITE_STATE_COUNTS, QUEUED

# A client's second part of three, with its SAR TLVs and UCS-2 coding.
PAYLOAD = SegmentPayload(
    0,
    8,
    "часть".encode("utf-16-be"),
    {Tag.sar_msg_ref_num: 513, Tag.sar_total_segments: 3, Tag.sar_segment_seqnum: 2},
).encode()


@pytest.fixture(params=["sqlite", "postgresql"])
async def before_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    versions = versions_before("ADD COLUMN payload")
    async with store_before(
        request.param, tmp_path, versions, _ROWS, last_id=3, sqlite_only=_SQLITE_STATE_COUNTS
    ) as url:
        yield url


async def test_a_database_from_before_payloads_opens_and_keeps_new_ones(before_url: str) -> None:
    async with open_store(before_url) as store:
        claimed = await store.claim("sim", 10, owner="new-gateway", now=11.0, lease=30.0)
        old = [c for c in claimed if c.message_id == QUEUED]
        assert old and old[0].payload is None
        [kept, plain] = await store.accept(
            [
                NewMessage(
                    smsc="sim",
                    source="ACME",
                    destination="447700900004",
                    text="часть",
                    payload=PAYLOAD,
                ),
                NewMessage(smsc="sim", source="ACME", destination="447700900005", text="plain"),
            ],
            now=13.0,
        )
        claimed = await store.claim("sim", 10, owner="new-gateway", now=14.0, lease=30.0)
        by_id = {c.message_id: c for c in claimed}
        assert by_id[kept.message_id].payload == PAYLOAD
        assert by_id[plain.message_id].payload is None
        segment = SegmentPayload.decode(PAYLOAD)
        assert segment.tlvs[Tag.sar_segment_seqnum] == 2
        assert segment.short_message.decode("utf-16-be") == "часть"
