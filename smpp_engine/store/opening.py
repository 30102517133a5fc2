"""Open a store from a URL, the form configuration files and the command line use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..redaction import mask_url
from .errors import StoreError
from .messages.interface import Store

__all__ = ["ANSWERS_POOL_SIZE", "POOL_SIZE", "open_store"]

#: PostgreSQL's main pool at most, by default (``[store] pool_size``).
POOL_SIZE = 8
#: PostgreSQL's pool for the SMS self-service's answers at most, by default.
ANSWERS_POOL_SIZE = 4


@asynccontextmanager
async def open_store(
    url: str, *, pool_size: int = POOL_SIZE, answers_pool_size: int = ANSWERS_POOL_SIZE
) -> AsyncIterator[Store]:
    """The store ``url`` names, migrated; closed on exit.

    ``sqlite:///relative/or/absolute/path.db`` (``sqlite:////abs`` also works),
    ``sqlite://:memory:``, or ``postgresql://user@host:port/database`` (also
    ``postgres://``). Anything else raises :class:`StoreError` naming the URL,
    its password masked. ``pool_size`` and ``answers_pool_size`` bound PostgreSQL's
    two connection pools; SQLite has one connection.
    """
    scheme, separator, rest = url.partition("://")
    shown = mask_url(url)
    if not separator:
        raise StoreError(
            "config", f"store url {shown!r}: expected sqlite:///PATH or postgresql://..."
        )
    if scheme == "sqlite":
        from .sqlite import open_sqlite_store  # noqa: PLC0415 - only the chosen backend loads

        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise StoreError("sqlite", f"store url {shown!r}: no database path")
        async with open_sqlite_store(path) as sqlite_store:
            yield sqlite_store
        return
    if scheme in ("postgresql", "postgres"):
        from .postgres import open_postgres_store  # noqa: PLC0415

        async with open_postgres_store(
            url, max_size=pool_size, answers_max_size=answers_pool_size
        ) as postgres_store:
            yield postgres_store
        return
    raise StoreError("config", f"store url {shown!r}: unknown scheme {scheme!r}")
