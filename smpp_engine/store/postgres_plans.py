"""Transactions whose statements run on plans made once per connection (PostgreSQL).

The pool plans every statement afresh for its real parameters
(``plan_cache_mode = force_custom_plan``): a generic plan cached while a table
was small would keep scanning it whole once it has grown. For the statements
that run per message (a billing save, recording a batch of outcomes) planning
costs as much as running them, and they are keyed lookups and inserts: with
sequential scans ruled out, a plan made once serves them at any table size.
:func:`planned_once` opens such a transaction in the round trip of its BEGIN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

__all__ = ["planned_once"]

_BEGIN_PLANNED_ONCE = (
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off"
)


@asynccontextmanager
async def planned_once(connection: Any) -> AsyncIterator[None]:
    """A transaction on ``connection`` whose statements use their cached generic plans
    and no sequential scans; committed at the end, rolled back on any error."""
    await connection.execute(_BEGIN_PLANNED_ONCE)
    try:
        yield
    except BaseException:
        if not connection.is_closed():
            # A connection lost here is closed by the pool; the error stays the first one.
            with suppress(Exception):
                await connection.execute("ROLLBACK")
        raise
    await connection.execute("COMMIT")
