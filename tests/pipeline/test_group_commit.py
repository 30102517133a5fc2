"""Concurrent accepts share transactions; each caller gets its own ids, errors stay its own."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.pipeline.accepting import GroupCommit
from smpp_engine.store import Accepted, NewMessage, StoreUnavailableError
from smpp_engine.store.sqlite import open_sqlite_store


def message(n: int, **fields: Any) -> NewMessage:
    return NewMessage(smsc="sim", source="ACME", destination=f"4477009{n:05d}", text="Hi", **fields)


class Counting:
    """The real store, counting its accept transactions; ``fail`` makes the next ones fail."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.transactions: list[int] = []
        self.fail = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def accept(self, messages: Sequence[NewMessage], *, now: float) -> list[Accepted]:
        self.transactions.append(len(messages))
        if self.fail:
            self.fail -= 1
            raise StoreUnavailableError("sqlite", "accept: the disk is away")
        result: list[Accepted] = await self.store.accept(messages, now=now)
        return result


async def test_concurrent_callers_share_transactions_and_get_their_own_ids(
    tmp_path: Path,
) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as real:
        store = Counting(real)
        commit = GroupCommit(store, time.time)
        got: dict[int, list[Accepted]] = {}

        async def caller(n: int) -> None:
            got[n] = await commit.accept([message(n), message(1000 + n)])

        async with trio.open_nursery() as nursery:
            for n in range(50):
                nursery.start_soon(caller, n)
        for n, accepted in got.items():
            assert len(accepted) == 2
            for a, destination in zip(accepted, (n, 1000 + n), strict=True):
                view = await real.get(a.message_id)
                assert view is not None and view.destination == f"4477009{destination:05d}"
    assert sum(store.transactions) == 100
    assert len(store.transactions) < 50  # shared: far fewer transactions than callers


async def test_a_bad_message_fails_only_its_caller(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as real:
        commit = GroupCommit(real, time.time)
        results: dict[str, Any] = {}

        async def caller(name: str, messages: list[NewMessage]) -> None:
            try:
                results[name] = await commit.accept(messages)
            except ValueError as exc:
                results[name] = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller, "first", [message(1)])
            nursery.start_soon(caller, "bad", [message(2, parts=0)])
            nursery.start_soon(caller, "good", [message(3)])
        assert isinstance(results["bad"], ValueError)
        assert len(results["first"]) == 1 and len(results["good"]) == 1
        assert sum((await real.count_by_state()).values()) == 2


async def test_a_store_error_fails_every_caller_of_its_transaction(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "s.db") as real:
        store = Counting(real)
        store.fail = 1
        commit = GroupCommit(store, time.time)
        errors = []

        async def caller(n: int) -> None:
            try:
                await commit.accept([message(n)])
            except StoreUnavailableError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for n in range(5):
                nursery.start_soon(caller, n)
        # The first transaction failed for its callers; the rest went on.
        assert len(errors) == store.transactions[0]
        assert sum((await real.count_by_state()).values()) == 5 - len(errors)
        with pytest.raises(ValueError, match="parts"):
            await commit.accept([message(9, parts=0)])
