"""What only the SQLite store promises about campaigns: its queries use their indexes.

The stats of a 200,000-message campaign must come from an index, not a scan of
the messages table; the opt-out list is probed by its key; recover() still
finds its messages through the lease index now that it reads their campaigns.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from smpp_engine.store.sqlite import open_sqlite_store


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (
            "SELECT state, count(*) FROM messages WHERE campaign_id = 1 GROUP BY state",
            "COVERING INDEX messages_campaign",
        ),
        (
            "SELECT error_code, count(*) FROM messages WHERE campaign_id = 1 "
            "AND state IN (SELECT value FROM json_each('[\"rejected\"]')) "
            "AND error_code IS NOT NULL GROUP BY error_code",
            "COVERING INDEX messages_campaign",
        ),
        (
            "UPDATE messages SET state = 'held' WHERE campaign_id = 1 AND state = 'queued'",
            "INDEX messages_campaign",
        ),
        (
            "SELECT json_group_array(o.msisdn) FROM json_each('[]') AS asked "
            "JOIN opt_outs AS o ON o.msisdn = asked.value",
            "PRIMARY KEY",
        ),
        (
            "SELECT msisdn, fields FROM group_members WHERE group_id = 1 ORDER BY msisdn",
            "PRIMARY KEY",
        ),
        (  # recover(), which reads the campaign of each message whose lease ran out
            "SELECT m.id, m.smsc, m.lease_owner, c.state FROM messages AS m "
            "LEFT JOIN campaigns AS c ON c.id = m.campaign_id "
            "WHERE m.state = 'submitting' AND m.lease_until <= 5",
            "INDEX messages_lease",
        ),
    ],
)
async def test_the_campaign_queries_use_their_index(tmp_path: Path, query: str, index: str) -> None:
    path = tmp_path / "s.db"
    async with open_sqlite_store(path):
        pass
    connection = sqlite3.connect(path)
    try:
        plan = " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}"))
    finally:
        connection.close()
    assert index in plan
    assert "SCAN messages" not in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan  # the order comes from the index
