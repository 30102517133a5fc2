"""The simulator's pieces without sockets: distributions, mixes, ids, records, CSV, builders."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol import MessageState, PduError, PduStream, SubmitSm
from smpp_engine.simulator import MoCsvError, MoMessageSpec, read_mo_csv
from smpp_engine.simulator.behaviour import prefix_lookup
from smpp_engine.simulator.faults import Malformed, malformed_pdu
from smpp_engine.simulator.message_ids import MessageIds, id_encoder
from smpp_engine.simulator.mo import MoBuilder
from smpp_engine.simulator.randomness import (
    Exponential,
    Fixed,
    LogNormal,
    Uniform,
    WeightedChoice,
    chance,
    sampler,
)
from smpp_engine.simulator.records import MessageRecord, MessageStore
from smpp_engine.simulator.scenario import MessageIdSettings

DISTRIBUTIONS = [
    Fixed(value=0.25),
    Uniform(distribution="uniform", low=0.1, high=0.2),
    Exponential(distribution="exponential", mean=1.0, max=3.0),
    LogNormal(distribution="lognormal", median=0.02, sigma=1.0, max=2.0),
]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@given(seed=st.integers(0, 2**32))
def test_samplers_stay_in_bounds_and_replay(
    distribution: Fixed | Uniform | Exponential | LogNormal, seed: int
) -> None:
    draw = sampler(distribution, random.Random(seed))
    values = [draw() for _ in range(50)]
    assert all(v >= 0 for v in values)
    cap = getattr(distribution, "max", None) or getattr(distribution, "high", None)
    if cap is not None:
        assert all(v <= cap for v in values)
    again = sampler(distribution, random.Random(seed))
    assert [again() for _ in range(50)] == values


def test_weighted_choice_follows_weights_and_skips_draws_when_constant() -> None:
    rng = random.Random(1)
    choice = WeightedChoice({"a": 3, "b": 1, "c": 0}, rng)
    counts = Counter(choice.pick() for _ in range(4000))
    assert set(counts) == {"a", "b"}
    assert 2700 < counts["a"] < 3300
    single = WeightedChoice({"x": 1, "y": 0}, rng)
    state = rng.getstate()
    assert single.pick() == "x"
    assert rng.getstate() == state  # no draw made
    with pytest.raises(ValueError):
        WeightedChoice({"a": 0}, rng)


def test_chance() -> None:
    rng = random.Random(2)
    assert chance(0.0, rng) is None
    always = chance(1.0, rng)
    assert always is not None and always()
    half = chance(0.5, rng)
    assert half is not None
    assert 400 < sum(half() for _ in range(1000)) < 600


def test_prefix_lookup_longest_first() -> None:
    assert prefix_lookup({}) is None
    lookup = prefix_lookup({"44": 1, "4477": 2, "447712": 3})
    assert lookup is not None
    assert [lookup(a) for a in ("447712000", "4477000", "4400", "3598", "4")] == [
        3,
        2,
        1,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("base", "width", "upper", "number", "expected"),
    [
        ("hex", 0, False, 0xABC, b"abc"),
        ("hex", 6, True, 0xABC, b"000ABC"),
        ("decimal", 0, False, 42, b"42"),
        ("decimal", 5, False, 42, b"00042"),
    ],
)
def test_id_encoder(base: str, width: int, upper: bool, number: int, expected: bytes) -> None:
    assert id_encoder(base, width, upper)(number) == expected  # type: ignore[arg-type]


def test_message_ids_monotonic_never_go_back_and_random_avoid_taken() -> None:
    taken: set[int] = set()
    ids = MessageIds(MessageIdSettings(start=10), random.Random(0), taken)
    assert [ids.next() for _ in range(3)] == [10, 11, 12]
    ids.configure(MessageIdSettings(start=5, format="decimal"), random.Random(0))
    assert ids.next() == 13
    assert ids.parse("13") == 13 and ids.parse("x1") is None and ids.parse("") is None
    rng = random.Random(3)
    first = random.Random(3).getrandbits(63)
    taken.add(first)
    ids = MessageIds(MessageIdSettings(mode="random"), rng, taken)
    assert ids.next() != first


def _record(number: int, destination: str) -> MessageRecord:
    pdu = SubmitSm(source_addr="1", destination_addr=destination, short_message=b"hi")
    return MessageRecord(
        number, b"%x" % number, "acme", "acme/TRX#1", pdu, 0.0, 0.0, MessageState.DELIVERED, 5.0
    )


def test_store_keeps_the_newest_within_its_cap() -> None:
    store = MessageStore(3)
    for number in range(1, 6):
        store.add(_record(number, f"d{number % 2}"))
    assert [r.number for r in store] == [3, 4, 5]
    assert (store.accepted, store.dropped, len(store)) == (5, 2, 3)
    assert store.get(1) is None and store.get(4) is not None
    assert [r.number for r in store.query(destination="d1")] == [3, 5]
    assert [r.number for r in store.query(limit=2)] == [4, 5]
    assert [r.number for r in store.query(message_id="4")] == [4]
    store.set_cap(1)
    assert [r.number for r in store] == [5] and store.dropped == 4
    zero = MessageStore(0)
    zero.add(_record(1, "x"))
    assert (len(zero), zero.dropped) == (0, 1)


def test_record_state_in_time() -> None:
    record = _record(1, "x")
    assert record.state(4.9) is MessageState.ENROUTE
    assert record.state(5.0) is MessageState.DELIVERED
    record.cancelled = True
    assert record.state(1.0) is MessageState.DELETED
    assert record.to_dict(1.0)["state"] == "DELETED"


def test_read_mo_csv(tmp_path: Path) -> None:
    path = tmp_path / "mo.csv"
    path.write_text('source,destination,text\n1,2,"a, b"\n\n3,4,c,1.5\n')
    rows = read_mo_csv(path)
    assert [(r.source, r.text, r.delay, r.line) for r in rows] == [
        ("1", "a, b", 0.0, 2),
        ("3", "c", 1.5, 4),
    ]
    for bad, column in (("1,2\n", "row"), (",2,x\n", "source"), ("1,2,x,-1\n", "delay")):
        path.write_text(bad)
        with pytest.raises(MoCsvError) as caught:
            read_mo_csv(path)
        assert caught.value.column == column


def test_mo_builder_references_differ_per_message() -> None:
    builder = MoBuilder(seed=1)
    spec = MoMessageSpec(source="1", destination="2", text="x" * 300)
    first, second = builder.build(spec), builder.build(spec)
    assert len(first) == len(second) == 2
    assert first[0].short_message[3] != second[0].short_message[3]  # the UDH reference


@pytest.mark.parametrize("variant", list(Malformed))
def test_malformed_pdus_do_not_decode(variant: Malformed) -> None:
    stream = PduStream()
    stream.feed(malformed_pdu(variant))
    with pytest.raises(PduError):
        stream.next_pdu()
