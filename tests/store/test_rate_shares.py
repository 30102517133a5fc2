"""Shares of an SMSC account's rate, on both stores: each holder's row, renewed; the live
rows of a route are its holders; a row not renewed runs out; two stores opened on one
database (two processes) see each other's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from smpp_engine.store import RateShare, RateShareStore, Store, open_store

from .conftest import store_url_of

T0 = 1_800_000_000.0


def shares_of(store: Store) -> RateShareStore:
    assert isinstance(store, RateShareStore)
    return store


def holders(rows: list[RateShare]) -> list[str]:
    return [row.holder for row in rows]


async def test_a_renewal_writes_the_holders_row_and_returns_the_routes_live_rows(
    store: Store,
) -> None:
    shares = shares_of(store)
    first = await shares.renew_rate_share(RateShare("sim", "b:2", T0 + 3), now=T0)
    assert first == [RateShare("sim", "b:2", T0 + 3, 1.0, None)]
    rows = await shares.renew_rate_share(
        RateShare("sim", "a:1", T0 + 4, level=0.5, cut_at=T0 + 0.5), now=T0 + 1
    )
    # By holder, the renewing one included, with what each published.
    assert rows == [
        RateShare("sim", "a:1", T0 + 4, 0.5, T0 + 0.5),
        RateShare("sim", "b:2", T0 + 3, 1.0, None),
    ]
    # Another route's holders are not this one's.
    other = await shares.renew_rate_share(RateShare("backup", "a:1", T0 + 4), now=T0 + 1)
    assert holders(other) == ["a:1"]
    # A renewal replaces the row: the cut goes, the lease moves on.
    again = await shares.renew_rate_share(RateShare("sim", "a:1", T0 + 6), now=T0 + 2)
    assert again[0] == RateShare("sim", "a:1", T0 + 6, 1.0, None)


async def test_a_row_not_renewed_runs_out_and_a_dropped_one_is_gone(store: Store) -> None:
    shares = shares_of(store)
    await shares.renew_rate_share(RateShare("sim", "dead", T0 + 3), now=T0)
    await shares.renew_rate_share(RateShare("sim", "left", T0 + 3), now=T0)
    await shares.drop_rate_share("sim", "left")
    await shares.drop_rate_share("sim", "never-there")  # nothing to drop: no error
    alive = await shares.renew_rate_share(RateShare("sim", "alive", T0 + 5.9), now=T0 + 2.9)
    assert holders(alive) == ["alive", "dead"]
    # At its lease_until the row holds no more (and is deleted).
    alive = await shares.renew_rate_share(RateShare("sim", "alive", T0 + 6), now=T0 + 3)
    assert holders(alive) == ["alive"]
    # The renewing holder's own row counts even if it is already late.
    late = await shares.renew_rate_share(RateShare("sim", "late", T0 + 1), now=T0 + 3)
    assert holders(late) == ["alive", "late"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_stores_on_one_database_see_each_others_shares(kind: str, tmp_path: Path) -> None:
    async with (
        store_url_of(kind, tmp_path) as url,
        open_store(url) as one,
        open_store(url) as two,
    ):
        await shares_of(one).renew_rate_share(RateShare("sim", "one", T0 + 3), now=T0)
        rows = await shares_of(two).renew_rate_share(RateShare("sim", "two", T0 + 3), now=T0)
        assert holders(rows) == ["one", "two"]
        await shares_of(two).drop_rate_share("sim", "two")
        rows = await shares_of(one).renew_rate_share(RateShare("sim", "one", T0 + 4), now=T0 + 1)
        assert holders(rows) == ["one"]
