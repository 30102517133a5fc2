"""SIGKILL ``smpp-engine run`` again and again during a campaign, on both stores.

A campaign of real recipients goes out at its pace; two poison messages (what a
release without the checks at the door let into the store) wait among them.
The gateway is killed six times at moments spread over the campaign and started
again each time. Afterwards: nothing lost (every recipient's notice reached the
simulator and the store says DELIVERED), the poison failed alone with its reason,
the process ends cleanly on SIGTERM, every real duplicate is flagged as a possible
duplicate, and the flags are few (only what may have reached the SMSC).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import pytest
import trio

from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import MessageState, NewMessage, Store, open_store

from ..simulator.helpers import running
from ..store.conftest import store_url_of
from .harness import ROUTE, SMSC_PASSWORD, GatewayProcess, wait_for, write_config

RECIPIENTS = 1500
RATE = 150.0  # messages/s: the campaign takes ten seconds of sending
KILLS = 6
WINDOW = 16

pytestmark = pytest.mark.slow


async def plant_poison(store: Store) -> list[int]:
    """Two messages the dispatcher cannot send: an old release stored them."""
    accepted = await store.accept(
        [
            # GSM, but no C-octet string carries it: it used to end the process.
            NewMessage(smsc=ROUTE, source="ACME€", destination="447700999001", text="Hi"),
            # Stored as one part; this route splits it in two.
            NewMessage(smsc=ROUTE, source="ACME", destination="447700999002", text="y" * 300),
        ],
        now=time.time(),
    )
    return [a.message_id for a in accepted]


async def create_campaign(gateway: GatewayProcess, destinations: list[str]) -> None:
    async with gateway.client() as client:
        answer = await client.post(
            "/v1/campaigns",
            json={
                "name": "december-debts",
                "template": "Dear customer, your debt of {amount} EUR is due; please pay.",
                "sender": "ACME",
                "recipients": [
                    {"msisdn": f"+{d}", "fields": {"amount": f"{n % 97}.50"}}
                    for n, d in enumerate(destinations)
                ],
                "rate": RATE,
                "quiet_hours": {"weekday": None, "weekend": None},
            },
        )
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert (report["state"], report["queued"]) == ("running", len(destinations)), report["skipped"]


def received(sim: Simulator) -> Counter[str]:
    return Counter(record.destination for record in sim.messages(system_id="gateway"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_sigkills_during_a_campaign_lose_nothing_and_flag_honestly(
    kind: str, tmp_path: Path
) -> None:
    destinations = [f"4477009{n:05d}" for n in range(RECIPIENTS)]
    rng = random.Random(20261204)
    scenario = parse_scenario(
        {
            "accounts": [{"system_id": "gateway", "password": SMSC_PASSWORD}],
            "receipts": {"delay": {"distribution": "uniform", "low": 0.01, "high": 0.2}},
        }
    )
    async with store_url_of(kind, tmp_path) as url, running(scenario) as sim:
        async with open_store(url) as store:
            poison = await plant_poison(store)
        config = write_config(tmp_path, url, sim.port, window=WINDOW)
        gateway = await GatewayProcess.start(config)
        await create_campaign(gateway, destinations)
        kills = 0
        with trio.fail_after(240):
            for kill in range(1, KILLS + 1):
                # Kill points spread over the campaign, each a little off the grid.
                target = (kill + rng.uniform(-0.3, 0.3)) * RECIPIENTS / (KILLS + 1)
                while sum(received(sim).values()) < target:
                    assert gateway.alive, gateway.errors_logged()[-3000:]
                    await trio.sleep(0.01)
                gateway.kill()
                await gateway.process.wait()
                kills += 1
                gateway = await GatewayProcess.start(config)
            async with open_store(url) as store:
                counts = await wait_for(
                    store.count_by_state,
                    lambda c: c.get(MessageState.DELIVERED, 0) == RECIPIENTS,
                    timeout=120,
                )
                assert gateway.alive
                views = {
                    v.destination: v
                    for m in range(1, RECIPIENTS + len(poison) + 1)
                    if (v := await store.get(m)) is not None
                }
        assert await gateway.stop() == 0
        got = received(sim)

    assert counts == {MessageState.DELIVERED: RECIPIENTS, MessageState.REJECTED: 2}, counts
    # Nothing lost: every recipient's notice reached the SMSC.
    assert set(destinations) <= set(got)
    # The poison failed alone, each with its reason, and never reached the SMSC.
    for message_id in poison:
        [view] = [v for v in views.values() if v.message_id == message_id]
        assert view.state is MessageState.REJECTED
        assert "reason=" in view.events[-1].detail
        assert view.destination not in got
    duplicates = {d: n - 1 for d, n in got.items() if n > 1}
    flagged = {d for d, v in views.items() if v.possible_duplicate}
    # Every real duplicate was flagged ...
    assert set(duplicates) <= flagged
    # ... and flags stay near what may have reached the SMSC: at most the
    # unsettled limit and the marks ahead of sending, per kill.
    assert len(flagged) <= kills * 3 * WINDOW, (len(flagged), duplicates)
    print(
        "KILL-FIGURES",
        json.dumps(
            {
                "store": kind,
                "kills": kills,
                "messages": RECIPIENTS,
                "lost": len(set(destinations) - set(got)),
                "duplicates": sum(duplicates.values()),
                "duplicated_messages": len(duplicates),
                "flagged": len(flagged),
            }
        ),
    )
