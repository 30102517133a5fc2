"""Transactions on plans made once per connection (PostgreSQL's ``planned_once``).

The statements recording outcomes and saving billing answers run on cached
generic plans with sequential scans ruled out: the settings hold for their
transaction alone. A plan made while a table was small stays in use as it
grows: the accept of a reply is checked to read every table by a condition when
planned on a small table's statistics, the record path's and the billing saves'
statements on a new database's and on statistics of its empty tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smpp_engine.store import NewMessage
from smpp_engine.store.billing import postgres as billing_postgres
from smpp_engine.store.billing import postgres_unchanged
from smpp_engine.store.messages import postgres_accept, postgres_record
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


async def _generic_plan(store: Any, statement: str) -> list[dict[str, Any]]:
    """The nodes of ``statement``'s generic plan, as :func:`planned_once` runs it."""
    count = max(int(n) for n in re.findall(r"\$(\d+)", statement))

    async def explain(pool: Any) -> Any:  # on the store's asyncio loop
        async with pool.acquire() as connection, planned_once(connection):
            await connection.execute(f"PREPARE planned AS {statement}")
            nulls = ", ".join(["NULL"] * count)
            # EXPLAIN EXECUTE shows the plan the cache holds: the generic one here.
            found = await connection.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE planned ({nulls})")
            await connection.execute("DEALLOCATE planned")
            return json.loads(found)

    (plan,) = await store._run("plan", explain, store._pool)
    return list(_nodes(plan["Plan"]))


async def _analyze(pool: Any) -> None:
    async with pool.acquire() as connection:
        await connection.execute("ANALYZE")


def _assert_keyed_lookups(name: str, nodes: list[dict[str, Any]]) -> None:
    """No table read whole: no sequential scan, and every index read by a condition."""
    assert any("Index" in node["Node Type"] for node in nodes), name
    for node in nodes:
        assert node["Node Type"] != "Seq Scan", (name, node.get("Relation Name"))
        assert "Index Name" not in node or "Index Cond" in node, (name, node["Index Name"])


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


async def test_the_generic_plan_of_an_accept_looks_each_key_up_once_the_table_has_grown(
    tmp_path: Path,
) -> None:
    # Planned on statistics of a small table (150 keyed messages), as a new database
    # is until the next ANALYZE: the check of a key stays a lookup of that key. The
    # plan it had read every key stored (a hashed NOT EXISTS) for each billing reply.
    async for store in open_test_store("postgresql", tmp_path):
        await store.accept(
            [
                NewMessage(smsc="sim", source="5566", destination="79160000001", text="t",
                           idempotency_key=f"reply:{n}")
                for n in range(150)
            ],
            now=1_000_000.0,
        )  # fmt: skip
        await store._run("analyze", _analyze, store._pool)  # type: ignore[attr-defined]
        nodes = await _generic_plan(store, postgres_accept._ACCEPT)
    _assert_keyed_lookups("_ACCEPT", nodes)
    lookups = [n for n in nodes if n.get("Index Name") == "messages_idempotency_key_key"]
    assert lookups and all("input" in n["Index Cond"] for n in lookups), lookups


async def test_the_generic_plan_of_a_batch_save_finds_its_mo_rows_by_their_keys(
    tmp_path: Path,
) -> None:
    # billing_mo grows with every MO: planned on the statistics of an empty one (a new
    # database, analyzed), the reply ids are still written by key, not by a pass over
    # every MO stored (the hash join it had read the whole primary key).
    async for store in open_test_store("postgresql", tmp_path):
        await store._run("analyze", _analyze, store._pool)  # type: ignore[attr-defined]
        nodes = await _generic_plan(store, billing_postgres._SAVE_BATCH_CHANGES)
    reads = [n for n in nodes if n.get("Index Name") == "billing_mo_pkey"]
    assert reads
    assert all("Index Cond" in n for n in reads), reads


_SAVE_STATEMENTS = {
    "_SAVE_CHANGES": billing_postgres._SAVE_CHANGES,
    "_SAVE_BATCH_CHANGES": billing_postgres._SAVE_BATCH_CHANGES,
    "_SAVE_IF_UNCHANGED": postgres_unchanged._SAVE_IF_UNCHANGED,
}


_PLANNED_ONCE = {**_RECORD_STATEMENTS, **_SAVE_STATEMENTS}


@pytest.mark.parametrize("analyzed", [False, True], ids=["new", "analyzed-empty"])
@pytest.mark.parametrize("name", sorted(_PLANNED_ONCE))
async def test_no_generic_plan_of_a_statement_run_per_message_reads_a_table_whole(
    name: str, analyzed: bool, tmp_path: Path
) -> None:
    # Planned on a new database's statistics, and on those of its empty tables: the
    # plans made then stay cached on the connection (in a transaction, or on the
    # planned pool: see postgres_unchanged) while the tables grow. Each must stay a
    # set of lookups (the billing saves' joins from their arrays read whole primary
    # keys until each table's keys were listed beside them).
    async for store in open_test_store("postgresql", tmp_path):
        if analyzed:
            await store._run("analyze", _analyze, store._pool)  # type: ignore[attr-defined]
        nodes = await _generic_plan(store, _PLANNED_ONCE[name])
    _assert_keyed_lookups(name, nodes)
