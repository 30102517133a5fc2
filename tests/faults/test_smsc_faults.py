"""The SMSC misbehaves while a gateway process sends: nothing is lost, no hand is needed.

A real ``smpp-engine run`` on SQLite sends a few thousand messages to the
simulator in this process while the simulator drops the link (a FIN, an RST),
stops answering for longer than the route's response timeout, or refuses binds
for a while. Every accepted message must reach the simulator at least once and
end DELIVERED in the store; ``/healthz`` answers throughout; ``/readyz`` tells
the link's loss and its return.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.simulator import Simulator, parse_scenario
from tests.simulator.helpers import running

from . import harness

pytestmark = pytest.mark.slow

ACCOUNTS = [{"system_id": "gateway", "password": harness.SMSC_PASSWORD}]
#: Submits answered after 50 ms and receipts up to a second later: a window is
#: in flight and receipts are owed whenever a fault strikes.
SLOW_ANSWERS = {
    "accounts": ACCOUNTS,
    "submit": {"latency": 0.05},
    "receipts": {"delay": {"distribution": "uniform", "low": 0.1, "high": 1.0}},
}
#: Retries of unanswered submits within the test's patience (the default waits 5 s).
QUICK_RETRY = "[smsc.retry]\nfirst_delay = 0.5\nmax_delay = 2\n"


@dataclass
class Rig:
    sim: Simulator
    gateway: harness.GatewayProcess
    store_url: str
    liveness: harness.Liveness


@asynccontextmanager
async def _rig(tmp_path: Path, scenario: dict[str, Any], **config: Any) -> AsyncIterator[Rig]:
    """The simulator, a gateway process on SQLite bound to it, and a liveness probe.

    On the way out: the process was alive and answered /healthz all along, and it
    stops cleanly (exit 0).
    """
    async with (
        running(parse_scenario(scenario)) as sim,
        _rig_to(tmp_path, sim, sim.port, **config) as rig,
    ):
        yield rig


@asynccontextmanager
async def _rig_to(tmp_path: Path, sim: Simulator, port: int, **config: Any) -> AsyncIterator[Rig]:
    """A gateway process on SQLite bound to ``port`` (``sim``, or a relay to it)."""
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    path = harness.write_config(tmp_path, store_url, port, **config)
    gateway = await harness.GatewayProcess.start(path)
    try:
        liveness = harness.Liveness(gateway)
        async with trio.open_nursery() as nursery:
            await nursery.start(liveness.run)
            yield Rig(sim, gateway, store_url, liveness)
            nursery.cancel_scope.cancel()
        assert liveness.failures == [], liveness.failures
        assert liveness.probes > 0
        assert gateway.alive
    finally:
        code = await gateway.stop()
    assert code == 0, gateway.errors_logged()[-3000:]


async def _reached(sim: Simulator, destinations: list[str], at_least: int) -> None:
    async def probe() -> int:
        await trio.lowlevel.checkpoint()
        return len(harness.sent_counts(sim, destinations)[0])

    await harness.wait_for(probe, lambda n: n >= at_least, timeout=30)


async def _nothing_lost(rig: Rig, destinations: list[str]) -> dict[str, int]:
    """Every message DELIVERED in the store and seen by the SMSC; the figures."""
    count = len(destinations)
    counts = await harness.all_final(rig.store_url, count, timeout=60)
    assert counts == {"delivered": count}, counts
    seen, submits = harness.sent_counts(rig.sim, destinations)
    assert seen == set(destinations), f"{count - len(seen)} never reached the SMSC"
    return {
        "messages": count,
        "submits": submits,
        "duplicates": submits - count,
        "flagged": await harness.possible_duplicates(rig.gateway),
    }


async def _send_with_faults(
    tmp_path: Path,
    count: int,
    faults: list[tuple[str, dict[str, Any]]],
    scenario: dict[str, Any],
    **config: Any,
) -> dict[str, int]:
    """Send ``count`` messages; the k-th fault strikes once k/(len+2) of them reached the SMSC."""
    async with _rig(tmp_path, scenario, **config) as rig:
        destinations = harness.numbers(count)
        async with rig.gateway.client() as client:
            ids = await harness.post_batch(client, destinations)
        assert len(set(ids)) == count
        for index, (kind, arguments) in enumerate(faults, start=1):
            await _reached(rig.sim, destinations, count * index // (len(faults) + 2))
            rig.sim.fault(kind, **arguments)
        figures = await _nothing_lost(rig, destinations)
    return figures


async def test_link_dropped_mid_window_loses_nothing(tmp_path: Path) -> None:
    """The SMSC closes both binds (FIN, then RST) with windows in flight, twice each."""
    faults: list[tuple[str, dict[str, Any]]] = [
        ("drop", {}),
        ("drop", {"variant": "reset"}),
        ("drop", {}),
        ("drop", {"variant": "reset"}),
    ]
    with trio.fail_after(120):
        figures = await _send_with_faults(
            tmp_path, 3000, faults, SLOW_ANSWERS, window=64, binds=2, throughput=600.0
        )
    # At most the windows in flight at each drop were sent twice, each flagged.
    assert figures["duplicates"] <= len(faults) * 2 * 64, figures
    assert figures["flagged"] >= figures["duplicates"], figures
    print("link drops:", figures)


async def test_smsc_stops_answering_longer_than_response_timeout(tmp_path: Path) -> None:
    """A stall outlasting response_timeout: the submits in flight time out, are retried
    as possible duplicates (the SMSC answers the first tries late), all end DELIVERED."""
    faults: list[tuple[str, dict[str, Any]]] = [("stall", {"duration": 4.0})]
    with trio.fail_after(120):
        figures = await _send_with_faults(
            tmp_path,
            2000,
            faults,
            {"accounts": ACCOUNTS},
            window=32,
            throughput=400.0,
            response_timeout=1.5,
            extra=QUICK_RETRY,
        )
    # The window in flight when the stall began was sent again, flagged.
    assert figures["duplicates"] > 0, figures
    assert figures["flagged"] >= figures["duplicates"], figures
    print("stall:", figures)


async def _partitioned(tmp_path: Path, count: int, outage: float, **config: Any) -> dict[str, Any]:
    """Send ``count`` messages through a relay that is cut for ``outage`` seconds once a
    quarter went out: /readyz must be 503 naming the route while it is cut, and the
    API accept all the same; then ready again, with everything delivered."""
    async with trio.open_nursery() as relays:
        async with running(parse_scenario(SLOW_ANSWERS)) as sim:
            link = harness.LinkCut(sim.port)
            await relays.start(link.run)
            rig_config = {"window": 32, "throughput": 300.0, **config}
            async with _rig_to(tmp_path, sim, link.port, **rig_config) as rig:
                destinations = harness.numbers(count)
                async with rig.gateway.client() as client:
                    await harness.wait_for(
                        lambda: client.get("/readyz"), lambda a: a.status_code == 200, timeout=15
                    )
                    await harness.post_batch(client, destinations[:-1])
                    await _reached(sim, destinations, count // 4)
                    link.cut()
                    cut_at = trio.current_time()
                    down = await harness.wait_for(
                        lambda: client.get("/readyz"), lambda a: a.status_code == 503, timeout=10
                    )
                    assert down.json()["routes_without_binds"] == [harness.ROUTE], down.json()
                    # Accepting does not need the link.
                    late = await client.post(
                        "/v1/messages",
                        json={"to": f"+{destinations[-1]}", "from": "ACME", "text": "late"},
                    )
                    assert late.status_code == 201, late.text
                    await trio.sleep_until(cut_at + outage)
                    link.mend()
                    await harness.wait_for(
                        lambda: client.get("/readyz"), lambda a: a.status_code == 200, timeout=60
                    )
                    ready_after = trio.current_time() - cut_at - outage
                figures: dict[str, Any] = await _nothing_lost(rig, destinations)
        relays.cancel_scope.cancel()
    figures.update(
        outage=outage,
        ready_after_mend=round(ready_after, 1),
        connections_turned_away=link.turned_away,
    )
    return figures


async def test_readyz_follows_the_link(tmp_path: Path) -> None:
    """The network to the SMSC is cut for 3 s: /readyz is 503 naming the route, the API
    still accepts, /readyz is 200 again after, and nothing was lost, with no hand."""
    with trio.fail_after(120):
        # A lease longer than the outage: the claims held meanwhile stay this process's.
        figures = await _partitioned(tmp_path, 1500, 3.0, lease=30.0)
    # Only what was in flight when the link was cut was sent twice, flagged.
    assert figures["duplicates"] <= 32, figures
    assert figures["flagged"] >= figures["duplicates"], figures
    print("readyz:", figures)


async def test_outage_longer_than_the_lease(tmp_path: Path) -> None:
    """The link is down for twice the lease while this process holds claims for it.

    Nothing may be lost. No message should go out twice but those in flight at
    the cut either: the claims are still this live process's.
    """
    with trio.fail_after(120):
        figures = await _partitioned(tmp_path, 1500, 8.0, lease=4.0)
    print("outage > lease:", figures)
    # The leases of the claims held are renewed while the link is down: only what
    # was in flight at the cut goes out twice, and it is flagged.
    assert figures["duplicates"] <= 32, figures
    assert figures["flagged"] >= figures["duplicates"], figures
