"""Random interleavings of the store's calls keep its invariants (hypothesis, SQLite).

Each example opens a fresh in-memory store (fixtures are not reset between
hypothesis examples) and runs a random program of accepts, claims, batches of
updates (some naming unknown messages or unknown SMSC ids), clock ticks,
recoveries, receipt timeouts and cancellations. After every step the whole
store is read back and checked:

- the counts per state are exactly the states the messages are in;
- a final state never changes, and the history only grows at its end;
- a message not final is SUBMITTED exactly when every part was answered, and
  is never left with every part finally receipted;
- DELIVERED means every part was delivered;
- a claim hands out only messages that were QUEUED and due, each once, with
  the parts still to send;
- every update naming an unknown message is counted as an orphan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp_engine.store import (
    FINAL_STATES,
    MessageState,
    MessageView,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    SubmitFailed,
    SubmitUnknown,
    Update,
)
from smpp_engine.store.sqlite import SqliteStore, open_sqlite_store

SMSCS = ("smsc-a", "smsc-b")
ORPHAN = 10_000_000
RECEIPT_STATES = (
    PartState.DELIVERED,
    PartState.DELIVERED,  # weighted: most receipts say DELIVRD
    PartState.UNDELIVERABLE,
    PartState.EXPIRED,
    PartState.REJECTED,
    PartState.DELETED,
    PartState.RECEIPT_UNKNOWN,
)
ANSWERED = {PartState.SUBMITTED, *RECEIPT_STATES}

accept_op = st.tuples(
    st.just("accept"),
    st.lists(
        st.tuples(
            st.sampled_from(SMSCS),
            st.integers(1, 3),  # parts
            st.integers(0, 2),  # priority
            st.one_of(st.none(), st.sampled_from(["k0", "k1", "k2"])),  # idempotency key
            st.integers(0, 6),  # not_before, from now
            st.one_of(st.none(), st.integers(0, 12)),  # expires_at, from now
        ),
        min_size=1,
        max_size=4,
    ),
)
update_spec = st.tuples(
    st.sampled_from(
        ["submitted", "failed_retry", "failed", "failed_expired", "unknown_retry", "unknown"]
        + ["receipt"] * 4
        + ["orphan", "stray_receipt"]
    ),
    st.integers(0, 50),  # which message, modulo the ones there are
    st.integers(0, 2),  # which part, modulo its parts
    st.integers(0, 1),  # which SMSC id generation
    st.sampled_from(RECEIPT_STATES),
)
operation = st.one_of(
    accept_op,
    st.tuples(st.just("claim"), st.sampled_from(SMSCS), st.integers(1, 4), st.integers(1, 20)),
    st.tuples(st.just("record"), st.lists(update_spec, min_size=1, max_size=6)),
    st.tuples(st.just("tick"), st.integers(1, 15)),
    st.tuples(st.just("recover")),
    st.tuples(st.just("expire_receipts"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.lists(st.integers(0, 50), max_size=3)),
)


@dataclass
class Model:
    """What the test knows independently of the store."""

    now: float = 1.0
    ids: list[int] = field(default_factory=list)
    parts: dict[int, int] = field(default_factory=dict)
    smsc: dict[int, str] = field(default_factory=dict)
    views: dict[int, MessageView] = field(default_factory=dict)
    orphans: int = 0


def smsc_id(message_id: int, part: int, generation: int) -> str:
    return f"s{message_id}.{part}.{generation}"


def build_updates(model: Model, specs: list[tuple[str, int, int, int, PartState]]) -> list[Update]:
    updates: list[Update] = []
    now = model.now
    for kind, which, part_pick, generation, receipt_state in specs:
        if kind == "orphan" or not model.ids:
            updates.append(SubmitUnknown(ORPHAN + which, 0, now, "timeout"))
            model.orphans += 1
            continue
        message_id = model.ids[which % len(model.ids)]
        part = part_pick % model.parts[message_id]
        if kind == "submitted":
            sid = smsc_id(message_id, part, generation)
            updates.append(PartSubmitted(message_id, part, "bind-1", sid, now, now))
        elif kind == "failed_retry":
            updates.append(SubmitFailed(message_id, part, 0x58, now, retry_at=now + 2))
        elif kind in ("failed", "failed_expired"):
            expired = kind == "failed_expired"
            updates.append(SubmitFailed(message_id, part, 0x0B, now, expired=expired))
        elif kind == "unknown_retry":
            updates.append(SubmitUnknown(message_id, part, now, "timeout", retry_at=now + 2))
        elif kind == "unknown":
            updates.append(SubmitUnknown(message_id, part, now, "link_lost"))
        elif kind == "receipt":
            sid = smsc_id(message_id, part, generation)
            updates.append(ReceiptArrived(model.smsc[message_id], sid, receipt_state, now))
        else:  # a receipt for an id no part will ever carry
            updates.append(ReceiptArrived("smsc-a", f"stray-{which}", receipt_state, now))
    return updates


async def check(store: SqliteStore, model: Model) -> None:
    states: Counter[MessageState] = Counter()
    for message_id in model.ids:
        found = await store.get(message_id)
        assert found is not None
        before = model.views.get(message_id)
        if before is not None:
            if before.state in FINAL_STATES:
                assert found.state is before.state, (before, found)
            assert found.events[: len(before.events)] == before.events
        part_states = [p.state for p in found.part_views]
        assert len(part_states) == found.parts
        if found.state not in FINAL_STATES:
            answered = all(s in ANSWERED for s in part_states)
            assert (found.state is MessageState.SUBMITTED) == answered, found
            assert not all(s in RECEIPT_STATES for s in part_states), found
        if found.state is MessageState.DELIVERED:
            assert all(s is PartState.DELIVERED for s in part_states), found
        model.views[message_id] = found
        states[found.state] += 1
    assert dict(await store.count_by_state()) == dict(states)
    for smsc in SMSCS:
        expected = Counter(v.state for v in model.views.values() if v.smsc == smsc)
        assert dict(await store.count_by_state(smsc=smsc)) == dict(expected)
    stats = await store.stats()
    assert stats["orphan_updates"] == model.orphans
    assert stats["held_receipts"] >= 0


async def step(store: SqliteStore, model: Model, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "accept":
        specs: list[tuple[str, int, int, str | None, int, int | None]] = op[1]
        batch = [
            NewMessage(
                smsc,
                "ACME",
                "447700900000",
                "text",
                parts=parts,
                priority=priority,
                idempotency_key=key,
                not_before=model.now + not_before,
                expires_at=None if expires is None else model.now + expires,
            )
            for smsc, parts, priority, key, not_before, expires in specs
        ]
        accepted = await store.accept(batch, now=model.now)
        assert len(accepted) == len(batch)
        for new, result in zip(batch, accepted, strict=True):
            if result.duplicate:
                assert result.message_id in model.parts
                continue
            assert result.message_id not in model.parts
            model.ids.append(result.message_id)
            model.parts[result.message_id] = new.parts
            model.smsc[result.message_id] = new.smsc
    elif kind == "claim":
        smsc, limit, lease = op[1], op[2], op[3]
        claimed = await store.claim(smsc, limit, owner="gw", now=model.now, lease=float(lease))
        assert len(claimed) <= limit
        assert len({c.message_id for c in claimed}) == len(claimed)
        for c in claimed:
            before = model.views[c.message_id]
            assert before.state is MessageState.QUEUED, before
            assert c.smsc == smsc
            assert c.expires_at is None or c.expires_at >= model.now
            unanswered = tuple(p.part for p in before.part_views if p.state not in ANSWERED)
            assert c.pending_parts == unanswered
            assert c.attempts == before.attempts
    elif kind == "record":
        await store.record(build_updates(model, op[1]))
    elif kind == "tick":
        model.now += op[1]
    elif kind == "recover":
        report = await store.recover(now=model.now)
        for message_id in report.message_ids:
            assert model.views[message_id].state is MessageState.SUBMITTING
    elif kind == "expire_receipts":
        await store.expire_receipts(older_than=model.now - op[1], now=model.now)
    else:
        picks: list[int] = op[1]
        targets = [model.ids[i % len(model.ids)] for i in picks] if model.ids else []
        queued = {t for t in targets if model.views[t].state is MessageState.QUEUED}
        assert await store.cancel(targets, now=model.now) == len(queued)
    await check(store, model)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(operation, min_size=1, max_size=25))
def test_random_programs_keep_the_invariants(program: list[tuple[Any, ...]]) -> None:
    async def run() -> None:
        async with open_sqlite_store(":memory:") as store:
            model = Model()
            for op in program:
                await step(store, model, op)

    trio.run(run)
