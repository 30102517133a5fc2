"""Failover end to end: two real simulators over loopback TCP, one of them killed mid-run.

Every message accepted ends DELIVERED with the id it was accepted with; none
reaches an SMSC its rule does not list; a message whose rule has one route
waits for it. The killed SMSC sends each receipt right before its
submit_sm_resp (``before_resp = 1``): a real SMSC that dies takes the receipts
it still owed with it, and those messages would end UNKNOWN at the receipt
timeout, which is the truth but not what this test is about.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from smpp_engine.esme import EsmeConfig, ReconnectPolicy
from smpp_engine.pipeline import Pipeline, RetryPolicy, SmscRoute
from smpp_engine.protocol import CommandStatus
from smpp_engine.simulator import Simulator, parse_scenario
from smpp_engine.store import MessageState, MessageView, NewMessage, Store
from smpp_engine.store.sqlite import open_sqlite_store

from ..simulator.helpers import running

A, B = "smsc-a", "smsc-b"


def scenario(**sections: Any) -> Any:
    return parse_scenario(
        {
            "accounts": [{"system_id": "gateway", "password": "secret"}],
            # Deliveries never wait behind a full window: each receipt goes out with its answer.
            "smsc": {"deliver_window": 10_000, **sections.pop("smsc", {})},
            "receipts": {"before_resp": 1.0},
            **sections,
        }
    )


def route(name: str, port: int, **overrides: Any) -> SmscRoute:
    esme = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="gateway",
        password="secret",
        name=name,
        window_size=16,
        response_timeout=2.0,
        enquire_link_interval=None,
        reconnect=ReconnectPolicy(min_delay=0.1, max_delay=0.5),
    )
    fields: dict[str, Any] = {
        "name": name,
        "esme": esme,
        "lease": 10.0,
        "failover_after": 1.0,
        "retry": RetryPolicy(first_delay=0.2, max_delay=1.0, max_attempts=20),
    }
    fields.update(overrides)
    return SmscRoute(**fields)


def message(n: int, plan: Sequence[str], rule: str = "shared") -> NewMessage:
    return NewMessage(
        smsc=plan[0],
        source="ACME",
        destination=f"4477009{n:05d}",
        text=f"Reading {n} received, thank you",
        route_rule=rule,
        route_plan=tuple(plan),
    )


@asynccontextmanager
async def pipeline_on(
    tmp_path: Path, routes: Sequence[SmscRoute]
) -> AsyncIterator[tuple[Pipeline, Store]]:
    async with open_sqlite_store(tmp_path / "store.db") as store, trio.open_nursery() as nursery:
        pipeline = Pipeline(store, routes, housekeeping=0.2)
        await nursery.start(pipeline.run)
        try:
            yield pipeline, store
        finally:
            pipeline.stop()


async def settled(
    store: Store, until: Callable[[Mapping[MessageState, int]], bool], timeout: float = 60
) -> None:
    with trio.fail_after(timeout):
        while not until(await store.count_by_state()):
            await trio.sleep(0.05)


async def views(store: Store, ids: Sequence[int]) -> list[MessageView]:
    found = [await store.get(i) for i in ids]
    assert all(v is not None for v in found)
    return [v for v in found if v is not None]


def destinations(sim: Simulator) -> set[str]:
    return {r.destination for r in sim.messages(system_id="gateway")}


async def test_a_killed_smsc_s_messages_fail_over_and_none_is_lost(tmp_path: Path) -> None:
    shared = [message(n, (A, B)) for n in range(600)]
    only_a = [message(n, (A,), rule="a-only") for n in range(1000, 1050)]
    only_b = [message(n, (B,), rule="explicit") for n in range(2000, 2050)]
    async with trio.open_nursery() as sims:
        sim_a = Simulator(scenario(), port=0)
        scope_a = trio.CancelScope()

        async def run_a(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            with scope_a:
                await sim_a.run(task_status=task_status)

        await sims.start(run_a)
        port_a = sim_a.port
        async with (
            running(scenario()) as sim_b,
            pipeline_on(tmp_path, [route(A, port_a), route(B, sim_b.port)]) as (pipeline, store),
        ):
            first = await pipeline.accept([*shared[:300], *only_b])
            with trio.fail_after(30):
                while len(sim_a.messages(system_id="gateway")) < 100:
                    await trio.sleep(0.01)
            scope_a.cancel()  # the SMSC dies: its links close, its listener is gone
            reached_a = destinations(sim_a)
            later = await pipeline.accept([*shared[300:], *only_a])
            ids = [a.message_id for a in (*first, *later)]
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) >= 650)
            # The single-route ones wait for their route, which is still down.
            assert (await store.count_by_state(smsc=A)).get(MessageState.QUEUED, 0) + (
                await store.count_by_state(smsc=A)
            ).get(MessageState.SUBMITTING, 0) == len(only_a)
            # The SMSC comes back on its port: what waited for it goes out.
            sim_a2 = Simulator(scenario(smsc={"message_ids": {"start": 10_000_000}}), port=port_a)
            await sims.start(sim_a2.run)
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 700)
            found = await views(store, ids)
            reached_b = destinations(sim_b)
            reached_a2 = destinations(sim_a2)
            sims.cancel_scope.cancel()
    by_id = {v.message_id: v for v in found}
    assert sorted(by_id) == sorted(ids)  # every id accepted is the message delivered
    assert all(v.state is MessageState.DELIVERED for v in found)
    a_only = {m.destination for m in only_a}
    b_only = {m.destination for m in only_b}
    assert not a_only & reached_b  # never sent where its rule does not allow
    assert not b_only & (reached_a | reached_a2)
    assert a_only <= reached_a2
    moved = [v for v in found if v.route_plan == (A, B) and v.smsc == B]
    assert moved, "the shared messages left the dead route"
    assert all(any(e.event == "rerouted" for e in v.events) for v in moved)
    assert all(v.smsc == A for v in found if v.route_plan == (A,))
    # Each moved message went to B under its own id, with its text.
    assert {v.destination for v in moved} <= reached_b


async def test_a_retry_elsewhere_answer_fails_over_and_a_permanent_one_does_not(
    tmp_path: Path,
) -> None:
    refusing = scenario(
        submit={
            "prefixes": {
                "44770090": "ESME_RINVBNDSTS",  # "not over this bind": retry elsewhere
                "44770091": "ESME_RINVDSTADR",  # "never": permanent
            }
        }
    )
    async with (
        running(refusing) as sim_a,
        running(scenario()) as sim_b,
        pipeline_on(
            tmp_path,
            [route(A, sim_a.port, retry=RetryPolicy(first_delay=0.1, max_attempts=3)),
             route(B, sim_b.port)],
        ) as (pipeline, store),
    ):  # fmt: skip
        elsewhere = message(0, (A, B))
        permanent = message(10_000, (A, B))
        stuck = message(1, (A,), rule="a-only")
        accepted = await pipeline.accept([elsewhere, permanent, stuck])
        await settled(
            store,
            lambda c: (
                c.get(MessageState.DELIVERED, 0) == 1 and c.get(MessageState.REJECTED, 0) == 2
            ),
        )
        moved, refused, retried = await views(store, [a.message_id for a in accepted])
        reached_b = destinations(sim_b)
    assert (moved.smsc, moved.state) == (B, MessageState.DELIVERED)
    rerouted = [e for e in moved.events if e.event == "rerouted"]
    assert [e.detail for e in rerouted] == [f"{A} -> {B} reason=command_status=0x00000004"]
    assert moved.destination in reached_b
    # A permanent refusal is final where it happened.
    assert (refused.smsc, refused.state) == (A, MessageState.REJECTED)
    assert refused.error_code == CommandStatus.ESME_RINVDSTADR
    # One route only: it retried on A as it always did, until its attempts ran out.
    assert (retried.smsc, retried.state, retried.attempts) == (A, MessageState.REJECTED, 3)
    assert retried.error_code == CommandStatus.ESME_RINVBNDSTS
    assert not {refused.destination, retried.destination} & reached_b
