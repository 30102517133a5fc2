"""open_store picks the backend from the URL and refuses what it cannot open, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from smpp_engine.store import NewMessage, StoreError, open_store

from .conftest import drop_database, fresh_database


async def test_sqlite_url_opens_a_file_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/urls.db"
    async with open_store(url) as store:
        assert store.name == "sqlite"
        await store.accept(
            [NewMessage(smsc="a", source="S", destination="4477", text="t")], now=1.0
        )
    assert (tmp_path / "urls.db").exists()
    async with open_store(url) as again:
        assert sum((await again.count_by_state()).values()) == 1


async def test_postgresql_url_opens_a_postgresql_store() -> None:
    dsn = await fresh_database()
    try:
        async with open_store(dsn) as store:
            assert store.name == "postgresql"
    finally:
        await drop_database(dsn)


@pytest.mark.parametrize("url", ["mysql://x", "just-a-path.db", "sqlite://"])
async def test_bad_urls_are_refused_by_name(url: str) -> None:
    with pytest.raises(StoreError, match="store url"):
        async with open_store(url):
            pytest.fail("opened")
