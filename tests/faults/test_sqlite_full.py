"""SQLite runs out of space under a gateway process that accepts and sends, then gets it back.

No mount needed: the process starts with a low RLIMIT_FSIZE (soft limit only, so
the test can raise it again without privileges). Python ignores SIGXFSZ, so a
write past the limit fails with EFBIG and SQLite reports an I/O error, as it
would on a full disk. The limit is 1 MiB: the store starts with ~210 KB in its
WAL, and the WAL checkpoints only at 1000 pages (~4 MB), so the WAL is the file
that fills, after roughly 2,500 messages, and nothing frees room until the limit
is raised.

While full: an accept is a 503 naming the store, never a 500, and nothing of the
refused batch is written; sending stops (the outcomes wait in the writer, which
retries); /healthz answers. Once the limit is raised: every accepted message is
delivered, with no hand.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.simulator import Simulator, parse_scenario
from tests.simulator.helpers import running

from . import harness

pytestmark = pytest.mark.slow

SCENARIO = {"accounts": [{"system_id": "gateway", "password": harness.SMSC_PASSWORD}]}
LIMIT = 1 << 20
BATCH = 100


def _low_file_size_limit() -> None:
    """In the child before exec: files may grow to LIMIT (the hard limit stays as it was)."""
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))


async def _store_trouble_met(gateway: harness.GatewayProcess) -> int:
    """How often sending met the full store: the writer found it unavailable and kept
    its batch to retry, or the route's rate share could not be renewed, so the route
    stopped sending (a process that cannot renew its share may not keep it: another
    process could take it; nothing is lost, the messages wait in the store)."""
    await trio.lowlevel.checkpoint()
    log = gateway.errors_logged()
    return log.count('"event": "store_write_failed"') + log.count(
        '"event": "rate share not renewed"'
    )


async def _sim_count(sim: Simulator) -> int:
    await trio.lowlevel.checkpoint()
    return len(sim.messages(system_id="gateway"))


async def _accept_batch(client: Any, n: int) -> tuple[list[str], Any]:
    """Batch number ``n`` of BATCH messages: its destinations and the answer."""
    batch = harness.numbers(BATCH, first=447700000000 + n * BATCH)
    body = {"messages": [{"to": f"+{d}", "from": "ACME", "text": f"Notice {d}"} for d in batch]}
    return batch, await client.post("/v1/messages/batch", json=body)


def _db_size(store_url: str) -> int:
    return Path(store_url.removeprefix("sqlite:///")).stat().st_size


@pytest.mark.parametrize("when", ["wal_fills", "after_checkpoint"])
async def test_sqlite_full_at_accept_and_while_sending(tmp_path: Path, when: str) -> None:
    """``wal_fills``: the process starts with the 1 MiB limit and the WAL reaches it.
    ``after_checkpoint``: once the WAL was checkpointed (the database file has grown),
    the running process is given the database's size plus 128 KiB: writes into
    the 4 MB WAL, now past the limit, fail."""
    figures: dict[str, Any] = {"when": when}
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    popen: dict[str, Any] = {"preexec_fn": _low_file_size_limit} if when == "wal_fills" else {}
    with trio.fail_after(150):
        async with running(parse_scenario(SCENARIO)) as sim:
            # A lease longer than the outage, as in production (120 s): the claims
            # held meanwhile stay this process's (see test_outage_longer_than_the_lease).
            config = harness.write_config(
                tmp_path, store_url, sim.port, throughput=100.0, lease=30.0
            )
            gateway = await harness.GatewayProcess.start(config, **popen)
            try:
                liveness = harness.Liveness(gateway)
                acceptor = harness.Acceptor(gateway, every=0.2)
                async with trio.open_nursery() as nursery:
                    await nursery.start(liveness.run)
                    accepted: list[str] = []
                    async with gateway.client() as client:
                        # Accept while it sends, until the store is full.
                        for n in range(200):
                            if when == "after_checkpoint" and _db_size(store_url) > 200_000:
                                _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                                limit = _db_size(store_url) + (128 << 10)
                                resource.prlimit(
                                    gateway.process.pid, resource.RLIMIT_FSIZE, (limit, hard)
                                )
                                when = "limited"
                            refused, answer = await _accept_batch(client, n)
                            if answer.status_code != 201:
                                break
                            accepted.extend(refused)
                            await trio.sleep(0.05)
                        else:
                            raise AssertionError(f"never full after {len(accepted)} messages")
                        assert answer.status_code == 503, answer.text
                        body = answer.json()
                        assert body["error"] == "store unavailable", body
                        assert "sqlite store" in body["detail"], body
                        figures["accepted_before_full"] = len(accepted)
                        figures["full_answer"] = body["detail"]

                        # Full: accepts are refused the same way (a write small enough
                        # for the room left may still get through: a full disk is
                        # seldom full to the byte); sending stalls: the outcomes the
                        # writer cannot write are retried, or the rate share cannot be
                        # renewed and the route stops sending until it can.
                        await nursery.start(acceptor.run)
                        full_at = trio.current_time()
                        sent_when_full = await _sim_count(sim)
                        await harness.wait_for(
                            lambda: _store_trouble_met(gateway), bool, timeout=60
                        )
                        await trio.sleep_until(full_at + 3.0)
                        figures["sent_while_full"] = await _sim_count(sim) - sent_when_full
                        figures["accepted_while_full"] = len(acceptor.accepted)
                        assert acceptor.refusals, acceptor.summary()
                        assert acceptor.failures == [], acceptor.failures
                        assert (await client.get("/healthz")).status_code == 200

                        # Room again (the soft limit raised to the hard one): no hand.
                        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                        resource.prlimit(gateway.process.pid, resource.RLIMIT_FSIZE, (hard, hard))
                        roomy_at = trio.current_time()
                        before = len(acceptor.accepted)
                        await harness.wait_for(
                            lambda: _accepted_count(acceptor), lambda n: n > before, timeout=30
                        )
                        figures["accepting_again_s"] = round(
                            acceptor.accepted_at[before] - roomy_at, 1
                        )
                        await trio.sleep(0.5)
                        await acceptor.finish()
                    nursery.cancel_scope.cancel()
                assert acceptor.failures == [], acceptor.failures
                assert liveness.failures == [], liveness.failures
                assert gateway.alive, gateway.errors_logged()[-3000:]

                everyone = accepted + acceptor.accepted
                counts = await harness.all_final(store_url, len(everyone), timeout=60)
                figures["delivered_after_room_s"] = round(trio.current_time() - roomy_at, 1)
                # Exactly the accepted messages: nothing of the refused batch was written.
                assert counts == {"delivered": len(everyone)}, counts
                seen, submits = harness.sent_counts(sim, everyone + refused)
                assert seen == set(everyone), "lost or half-written: " + str(
                    sorted(set(everyone) ^ seen)[:10]
                )
                # At most the window in flight when the store filled went out twice.
                assert submits - len(everyone) <= 16, (submits, len(everyone))
                figures.update(
                    store_trouble_met=await _store_trouble_met(gateway),
                    messages=len(everyone),
                    submits=submits,
                    duplicates=submits - len(everyone),
                    flagged=await harness.possible_duplicates(gateway),
                    acceptor=acceptor.summary(),
                )
            finally:
                code = await gateway.stop()
            assert code == 0, gateway.errors_logged()[-3000:]
    print("sqlite full:", figures)


async def _accepted_count(acceptor: harness.Acceptor) -> int:
    await trio.lowlevel.checkpoint()
    return len(acceptor.accepted)
