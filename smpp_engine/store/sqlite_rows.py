"""SQLite rows read by column name: each query's rows are named tuples of its columns.

``sqlite3.Row`` looks names up in a loop per access; a named tuple class made
once per column list reads them as fast as an index, so the claim path can use
names too.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["named", "named_one"]


@lru_cache(maxsize=256)
def _row_class(columns: tuple[str, ...]) -> Any:
    return namedtuple("Row", columns)


def _cursor(c: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
    cursor = c.execute(sql, parameters)
    if cursor.description is not None:
        make = _row_class(tuple(d[0] for d in cursor.description))._make
        cursor.row_factory = lambda _, row: make(row)
    return cursor


def named(c: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
    """The rows of ``sql``, each readable by column name (``row.id``)."""
    return _cursor(c, sql, parameters).fetchall()


def named_one(c: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()) -> Any | None:
    """The first row of ``sql`` by column name, or None."""
    return _cursor(c, sql, parameters).fetchone()
