"""Claims are leases: renewed while held, never sent once they may have run out.

A real SQLite store and the real simulator over loopback. The SMSC is away for
the first seconds, so the dispatcher holds its claims for several leases; the
leases are one second and recovery runs every 0.2 s, so a claim held without
renewal would be recovered and claimed again (and sent twice) unless the
dispatcher renews it, or drops it once it cannot.
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path
from typing import Any

import trio

from smpp_engine.esme import EsmeConfig, ReconnectPolicy
from smpp_engine.pipeline import Pipeline, SmscRoute
from smpp_engine.store import MessageState, Store, StoreUnavailableError
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running
from .test_pipeline import ROUTE, message, scenario, settled

LEASE = 1.0
SMSC_AWAY = 3.0  # seconds: three leases
MESSAGES = 60


class RenewalFails:
    """A real store whose lease renewals fail, as if the store were away for them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.renewals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def renew(self, smsc: str, *, owner: str, until: float) -> int:
        self.renewals += 1
        raise StoreUnavailableError("sqlite", "renew: the database is away")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def short_leased_route(port: int) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="gateway",
        password="secret",
        window_size=8,
        response_timeout=0.5,
        enquire_link_interval=None,
        reconnect=ReconnectPolicy(min_delay=0.1, max_delay=0.2),
    )
    return SmscRoute(name=ROUTE, esme=esme, lease=LEASE)


async def deliver(store: Store, real: Store) -> tuple[Counter[str], Pipeline]:
    """Send MESSAGES while the SMSC comes up late; what reached it, per destination."""
    port = free_port()
    async with trio.open_nursery() as nursery:
        pipeline = Pipeline(store, [short_leased_route(port)], housekeeping=0.2)
        await nursery.start(pipeline.run)
        await pipeline.accept([message(f"44770093{i:04d}") for i in range(MESSAGES)])
        await trio.sleep(SMSC_AWAY)
        async with running(scenario(), port=port) as sim:
            with trio.fail_after(60):
                await settled(real, lambda c: c.get(MessageState.DELIVERED, 0) == MESSAGES)
            received = Counter(r.destination for r in sim.messages(system_id="gateway"))
        nursery.cancel_scope.cancel()
    return received, pipeline


async def test_claims_held_longer_than_a_lease_are_renewed_not_recovered(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "store.db") as store:
        received, pipeline = await deliver(store, store)
        views = [await store.get(i) for i in range(1, MESSAGES + 1)]
    assert len(received) == MESSAGES and max(received.values()) == 1
    events = {e.event for v in views if v is not None for e in v.events}
    assert "lease_expired" not in events and "released" not in events
    assert not any(v is not None and v.possible_duplicate for v in views)
    assert pipeline.dispatchers[ROUTE].owner.endswith("#1")  # one lease owner all along


async def test_claims_whose_lease_cannot_be_renewed_are_dropped_not_sent(tmp_path: Path) -> None:
    """Renewals fail throughout: the claims are dropped before their lease runs out and
    given back; each message goes out once, under a later lease owner."""
    async with open_sqlite_store(tmp_path / "store.db") as real:
        store = RenewalFails(real)
        received, pipeline = await deliver(store, real)  # type: ignore[arg-type]
        views = [await real.get(i) for i in range(1, MESSAGES + 1)]
    assert len(received) == MESSAGES and max(received.values()) == 1, received.most_common(3)
    assert store.renewals >= 2
    owner = pipeline.dispatchers[ROUTE].owner
    assert not owner.endswith("#1"), owner  # the claims were dropped, claimed again anew
    # Given back (the store took that call): no possible duplicate, no unclean stop.
    assert any(e.event == "released" for v in views if v is not None for e in v.events)
    assert not any(v is not None and v.possible_duplicate for v in views)
