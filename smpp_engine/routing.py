"""Which route a message takes: ordered rules, the first that matches wins.

A rule matches on what is known when a message is accepted: the destination's
prefix, the sender, the client (the API key's name), the message's kind and
the local time of day in a zone. Every condition a rule leaves out matches
anything; the conditions it gives must all hold. The rule names its routes:

- one route;
- several, in failover order: the message goes to the first, and moves to the
  next when its route has had no bind for the route's ``failover_after`` or an
  SMSC answered "not over this bind" (see :mod:`smpp_engine.pipeline.statuses`);
- several with ``weights``: load sharing. The first route is drawn by weight
  from a hash of the message's stable key (its idempotency key, else its
  destination, sender and text), so a client's retry of the same request lands
  on the same route; the others follow in their configured order, for failover.

No rule matching: the default plan (``[routing] default``, else the first
``[[smsc]]``). A request naming its route is honoured as it is, recorded as
chosen "explicit", and never fails over. The choice is kept on the message:
its route, the rule's name and the plan.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from throttling import Priority

__all__ = [
    "DEFAULT_RULE",
    "EXPLICIT_RULE",
    "MessageFacts",
    "MessageKind",
    "RouteChoice",
    "RouteRule",
    "RoutingTable",
    "kind_of_priority",
]

_UTC = ZoneInfo("UTC")

#: The rule name recorded when the request named its route.
EXPLICIT_RULE = "explicit"
#: The rule name recorded when no rule matched and the default plan was taken.
DEFAULT_RULE = "default"


class MessageKind(enum.StrEnum):
    """What a message is, as routing sees it.

    The three lanes of the HTTP API and campaigns (``interactive``,
    ``transactional``, ``bulk``, from the message's priority), and what the
    billing side sends: ``reply`` (the answer to a consumer's SMS), ``notice``
    (debt notices, payment confirmations, reminders) and ``warning`` (the
    disconnection warning, the legal notice whose receipt is the proof).
    """

    INTERACTIVE = "interactive"
    TRANSACTIONAL = "transactional"
    BULK = "bulk"
    REPLY = "reply"
    NOTICE = "notice"
    WARNING = "warning"


_KIND_OF_PRIORITY = {
    Priority.INTERACTIVE: MessageKind.INTERACTIVE,
    Priority.TRANSACTIONAL: MessageKind.TRANSACTIONAL,
    Priority.BULK: MessageKind.BULK,
}


def kind_of_priority(priority: Priority) -> MessageKind:
    """The kind of a message known only by its lane (an HTTP API or campaign message)."""
    return _KIND_OF_PRIORITY[priority]


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a rule may look at. ``client``: the API key's name (None: not from the API).
    ``key``: what makes the weighted draw stable (see :meth:`stable_key`)."""

    destination: str
    source: str
    kind: MessageKind
    client: str | None = None
    key: str = ""

    @staticmethod
    def stable_key(idempotency_key: str | None, destination: str, source: str, text: str) -> str:
        """The idempotency key when there is one, else the message's own content."""
        if idempotency_key is not None:
            return idempotency_key
        return f"{destination}\x1f{source}\x1f{text}"


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The route a message takes, the rule that chose it, and the plan for failover."""

    route: str
    rule: str
    plan: tuple[str, ...]


def _draw(key: str, rule: str) -> float:
    """A number in [0, 1) fixed by ``key`` and ``rule``, evenly spread over keys."""
    digest = hashlib.blake2b(f"{rule}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _in_window(clock: time, start: time, end: time) -> bool:
    """Half-open ``[start, end)`` on a wall clock; an end not after the start runs past midnight."""
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One rule: its conditions and its routes (see the module docstring)."""

    name: str
    routes: tuple[str, ...]
    weights: tuple[float, ...] = ()
    prefixes: tuple[str, ...] = ()
    senders: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    kinds: frozenset[MessageKind] = frozenset()
    hours: tuple[time, time] | None = None
    zone: ZoneInfo = _UTC

    def __post_init__(self) -> None:
        if not self.routes:
            raise ValueError(f"rule {self.name!r}: routes must name at least one route")
        if len(set(self.routes)) != len(self.routes):
            raise ValueError(f"rule {self.name!r}: a route is named twice in {self.routes!r}")
        if self.weights and len(self.weights) != len(self.routes):
            raise ValueError(
                f"rule {self.name!r}: weights must be as many as routes ({len(self.routes)})"
            )
        if self.weights and (min(self.weights) < 0 or not sum(self.weights) > 0):
            raise ValueError(f"rule {self.name!r}: weights must be >= 0 with a positive sum")

    def matches(self, facts: MessageFacts, now: float) -> bool:
        if self.prefixes and not facts.destination.startswith(self.prefixes):
            return False
        if self.senders and facts.source not in self.senders:
            return False
        if self.clients and facts.client not in self.clients:
            return False
        if self.kinds and facts.kind not in self.kinds:
            return False
        if self.hours is not None:
            clock = datetime.fromtimestamp(now, UTC).astimezone(self.zone).time()
            if not _in_window(clock, *self.hours):
                return False
        return True

    def plan(self, key: str) -> tuple[str, ...]:
        """The routes in the order this message tries them."""
        if not self.weights or len(self.routes) == 1:
            return self.routes
        point = _draw(key, self.name) * sum(self.weights)
        first = len(self.routes) - 1
        total = 0.0
        for index, weight in enumerate(self.weights):
            total += weight
            if weight > 0 and point < total:
                first = index
                break
        while self.weights[first] == 0:  # float edge: never a route weighted 0
            first -= 1
        return (self.routes[first], *self.routes[:first], *self.routes[first + 1 :])


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Ordered rules and the default plan; :meth:`choose` answers for one message."""

    rules: tuple[RouteRule, ...]
    default: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.default:
            raise ValueError("the default plan must name at least one route")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names) or {DEFAULT_RULE, EXPLICIT_RULE} & set(names):
            raise ValueError(
                f"rule names must be distinct and neither {DEFAULT_RULE!r} nor "
                f"{EXPLICIT_RULE!r}, got {names!r}"
            )

    def routes(self) -> set[str]:
        """Every route a rule or the default names."""
        return {route for rule in self.rules for route in rule.routes} | set(self.default)

    def choose(self, facts: MessageFacts, now: float) -> RouteChoice:
        """The first matching rule's choice, else the default plan's."""
        for rule in self.rules:
            if rule.matches(facts, now):
                plan = rule.plan(facts.key)
                return RouteChoice(plan[0], rule.name, plan)
        return RouteChoice(self.default[0], DEFAULT_RULE, self.default)

    @staticmethod
    def explicit(route: str) -> RouteChoice:
        """A route the request named: honoured as it is, never moved."""
        return RouteChoice(route, EXPLICIT_RULE, (route,))


def check_routes(table: RoutingTable, known: Sequence[str]) -> list[str]:
    """The routes ``table`` names that are not in ``known``."""
    return sorted(table.routes() - set(known))
