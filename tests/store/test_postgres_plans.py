"""Transactions on plans made once per connection (PostgreSQL's ``planned_once``).

The statements recording outcomes and saving billing answers run on cached
generic plans with sequential scans ruled out: the settings hold for their
transaction alone, and no such plan scans a table whole, whatever size the
table had when the plan was made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smpp_engine.store.messages import postgres_record
from smpp_engine.store.postgres_plans import planned_once

from .conftest import open_test_store

_SETTINGS = "SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')"


async def _settings(connection: Any) -> tuple[str, str]:
    row = await connection.fetchrow(_SETTINGS)
    return row[0], row[1]


async def test_the_settings_hold_for_the_transaction_alone(tmp_path: Path) -> None:
    async def inside_and_after(pool: Any) -> Any:  # on the store's asyncio loop
        async with pool.acquire() as connection:
            before = await _settings(connection)
            async with planned_once(connection):
                inside = await _settings(connection)
                await connection.execute("CREATE TABLE planned (n int)")
            after = await _settings(connection)
            committed = await connection.fetchval("SELECT to_regclass('planned') IS NOT NULL")
            return before, inside, after, committed

    async for store in open_test_store("postgresql", tmp_path):
        found = await store._run("planned", inside_and_after, store._pool)  # type: ignore[attr-defined]
    before, inside, after, committed = found
    assert before == ("force_custom_plan", "on")
    assert inside == ("force_generic_plan", "off")
    assert after == before
    assert committed


async def test_an_error_rolls_the_transaction_back_and_its_settings_with_it(
    tmp_path: Path,
) -> None:
    async def failing(pool: Any) -> Any:
        async with pool.acquire() as connection:
            with pytest.raises(ZeroDivisionError):
                async with planned_once(connection):
                    await connection.execute("CREATE TABLE planned (n int)")
                    raise ZeroDivisionError
            kept = await connection.fetchval("SELECT to_regclass('planned') IS NOT NULL")
            return kept, await _settings(connection), connection.is_in_transaction()

    async for store in open_test_store("postgresql", tmp_path):
        kept, settings, open_ = await store._run("failing", failing, store._pool)  # type: ignore[attr-defined]
    assert not kept
    assert settings == ("force_custom_plan", "on")
    assert not open_


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


_RECORD_STATEMENTS = {
    name: getattr(postgres_record, name)
    for name in (
        "_FIND_RECEIPT_PARTS",
        "_LOCK_MESSAGES",
        "_MARK_DISPATCHED",
        "_LOCK_CAMPAIGNS",
        "_LOAD_PARTS",
        "_LOAD_HELD",
        "_WRITE",
    )
}


@pytest.mark.parametrize("name", sorted(_RECORD_STATEMENTS))
async def test_no_generic_plan_of_the_record_path_scans_a_table_whole(
    name: str, tmp_path: Path
) -> None:
    statement = _RECORD_STATEMENTS[name]
    count = max(int(n) for n in re.findall(r"\$(\d+)", statement))

    async def generic_plan(pool: Any) -> Any:
        async with pool.acquire() as connection, planned_once(connection):
            await connection.execute(f"PREPARE planned AS {statement}")
            nulls = ", ".join(["NULL"] * count)
            # EXPLAIN EXECUTE shows the plan the cache holds: the generic one here.
            found = await connection.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE planned ({nulls})")
            await connection.execute("DEALLOCATE planned")
            return json.loads(found)

    async for store in open_test_store("postgresql", tmp_path):
        (plan,) = await store._run("plan", generic_plan, store._pool)  # type: ignore[attr-defined]
    nodes = list(_nodes(plan["Plan"]))
    assert any("Index" in node["Node Type"] for node in nodes), name
    for node in nodes:
        assert node["Node Type"] != "Seq Scan", (name, node.get("Relation Name"))
