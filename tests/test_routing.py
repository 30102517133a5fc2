"""The routing table: the first matching rule wins, weights are stable and proportional."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp_engine.routing import (
    DEFAULT_RULE,
    EXPLICIT_RULE,
    MessageFacts,
    MessageKind,
    RouteRule,
    RoutingTable,
)
from smpp_engine.store import next_route

BERLIN = ZoneInfo("Europe/Berlin")


def _facts(
    destination: str = "4915112345678",
    *,
    source: str = "ACME",
    kind: MessageKind = MessageKind.TRANSACTIONAL,
    client: str | None = "crm",
    key: str = "k",
) -> MessageFacts:
    return MessageFacts(destination, source, kind, client, key)


def _at(hour: int, minute: int = 0, zone: ZoneInfo = BERLIN) -> float:
    return datetime(2026, 7, 1, hour, minute, tzinfo=zone).timestamp()


NOON = _at(12)


def test_each_condition_must_hold_and_a_missing_one_matches_anything() -> None:
    rule = RouteRule(
        "de-replies",
        ("a",),
        prefixes=("49", "43"),
        senders=frozenset({"ACME"}),
        clients=frozenset({"crm"}),
        kinds=frozenset({MessageKind.REPLY, MessageKind.TRANSACTIONAL}),
        hours=(time(8), time(20)),
        zone=BERLIN,
    )
    assert rule.matches(_facts(), NOON)
    assert rule.matches(_facts("4366412345"), NOON)
    assert not rule.matches(_facts("447700900123"), NOON)
    assert not rule.matches(_facts(source="OTHER"), NOON)
    assert not rule.matches(_facts(client="billing"), NOON)
    assert not rule.matches(_facts(client=None), NOON)
    assert not rule.matches(_facts(kind=MessageKind.BULK), NOON)
    assert not rule.matches(_facts(), _at(20))  # half-open: 20:00 is outside
    assert rule.matches(_facts(), _at(8))
    assert RouteRule("any", ("a",)).matches(_facts(client=None), NOON)


def test_a_window_past_midnight_is_read_on_the_zone_s_clock() -> None:
    night = RouteRule("night", ("b",), hours=(time(22), time(6)), zone=BERLIN)
    assert night.matches(_facts(), _at(23))
    assert night.matches(_facts(), _at(5, 59))
    assert not night.matches(_facts(), _at(6))
    # 21:30 UTC in July is 23:30 in Berlin: the rule's zone decides, not UTC.
    assert night.matches(_facts(), _at(21, 30, ZoneInfo("UTC")))


def test_first_matching_rule_wins_and_no_match_takes_the_default() -> None:
    table = RoutingTable(
        rules=(
            RouteRule("uk", ("b",), prefixes=("44",)),
            RouteRule("replies", ("c", "b"), kinds=frozenset({MessageKind.REPLY})),
        ),
        default=("a",),
    )
    uk_reply = table.choose(_facts("447700900123", kind=MessageKind.REPLY), NOON)
    assert (uk_reply.route, uk_reply.rule, uk_reply.plan) == ("b", "uk", ("b",))
    reply = table.choose(_facts(kind=MessageKind.REPLY), NOON)
    assert (reply.route, reply.rule, reply.plan) == ("c", "replies", ("c", "b"))
    other = table.choose(_facts(), NOON)
    assert (other.route, other.rule, other.plan) == ("a", DEFAULT_RULE, ("a",))
    explicit = RoutingTable.explicit("b")
    assert (explicit.route, explicit.rule, explicit.plan) == ("b", EXPLICIT_RULE, ("b",))


_NAMES = st.sampled_from(["a", "b", "c", "d"])
_PREFIXES = st.lists(st.sampled_from(["4", "44", "49", "491", "3"]), max_size=2)


@settings(max_examples=200)
@given(
    rules=st.lists(st.tuples(_PREFIXES, _NAMES), min_size=1, max_size=6),
    destination=st.sampled_from(["447700900123", "4915112345", "359888123456", "4930123"]),
)
def test_the_first_rule_that_matches_chooses(
    rules: list[tuple[list[str], str]], destination: str
) -> None:
    table = RoutingTable(
        tuple(
            RouteRule(f"r{i}", (route,), prefixes=tuple(p)) for i, (p, route) in enumerate(rules)
        ),
        default=("z",),
    )
    choice = table.choose(_facts(destination), NOON)
    first = next(
        (i for i, (p, _) in enumerate(rules) if not p or destination.startswith(tuple(p))), None
    )
    if first is None:
        assert choice.rule == DEFAULT_RULE
        assert choice.route == "z"
    else:
        assert choice.rule == f"r{first}"
        assert choice.route == rules[first][1]


@given(
    weights=st.lists(st.integers(0, 5), min_size=2, max_size=4).filter(lambda w: sum(w) > 0),
    key=st.text(max_size=30),
)
def test_a_weighted_plan_is_stable_and_holds_every_route_once(weights: list[int], key: str) -> None:
    routes = tuple("abcd"[: len(weights)])
    rule = RouteRule("shared", routes, weights=tuple(float(w) for w in weights))
    plan = rule.plan(key)
    assert plan == rule.plan(key)  # a retry of the same request lands on the same route
    assert sorted(plan) == sorted(routes)
    assert weights[routes.index(plan[0])] > 0  # a route weighted 0 is never first
    # The others keep their configured order, for failover.
    assert [r for r in routes if r != plan[0]] == list(plan[1:])


@pytest.mark.parametrize("weights", [(3.0, 1.0), (1.0, 1.0, 2.0), (0.0, 1.0)])
def test_weights_share_the_load_in_proportion(weights: tuple[float, ...]) -> None:
    routes = tuple("abc"[: len(weights)])
    rule = RouteRule("shared", routes, weights=weights)
    n = 20_000
    firsts = [rule.plan(f"message-{i}")[0] for i in range(n)]
    total = sum(weights)
    for route, weight in zip(routes, weights, strict=True):
        share = firsts.count(route) / n
        # 20,000 draws: the share is within 2 points of the weight's (4+ sigma).
        assert abs(share - weight / total) < 0.02, (route, share)


def test_the_draw_depends_on_the_stable_key_only() -> None:
    assert MessageFacts.stable_key("idem-1", "44", "ACME", "hi") == "idem-1"
    assert MessageFacts.stable_key(None, "44", "ACME", "hi") == MessageFacts.stable_key(
        None, "44", "ACME", "hi"
    )
    assert MessageFacts.stable_key(None, "44", "ACME", "hi") != MessageFacts.stable_key(
        None, "45", "ACME", "hi"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"routes": ()}, "at least one route"),
        ({"routes": ("a", "a")}, "named twice"),
        ({"routes": ("a", "b"), "weights": (1.0,)}, "as many as routes"),
        ({"routes": ("a", "b"), "weights": (0.0, 0.0)}, "positive sum"),
    ],
)
def test_a_bad_rule_says_what_is_wrong(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RouteRule("bad", **kwargs)  # type: ignore[arg-type]


@given(plan=st.lists(_NAMES, unique=True, max_size=4), current=_NAMES)
def test_failover_goes_to_the_next_route_of_the_plan_only(plan: list[str], current: str) -> None:
    target = next_route(plan, current)
    if current in plan and plan.index(current) + 1 < len(plan):
        assert target == plan[plan.index(current) + 1]
    else:
        assert target is None  # the last route, or one the plan does not name: no move
