"""``[routing]``: the routing table's rules, in order, and the default plan.

Route names are checked against the ``[[smsc]]`` tables in :mod:`.checks`, so
that an unknown one names its key (``routing.rules[1].routes[0]``).
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from billing_core.quiet_hours import parse_window

from ..routing import (
    DEFAULT_RULE,
    EXPLICIT_RULE,
    MessageKind,
    RouteRule,
    RoutingTable,
)
from .sections import Section
from .smsc import RouteName

__all__ = ["RoutingSettings", "RuleSettings"]

_Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Prefix = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]


class RuleSettings(Section):
    """One ``[[routing.rules]]``: conditions (each optional; all given must hold) and routes."""

    name: RouteName
    #: One route, or several in failover order.
    routes: list[RouteName] = Field(min_length=1)
    #: Load sharing: one weight per route (the first route is drawn by weight).
    weights: list[_Weight] | None = None
    #: Destination prefixes (international digits, no "+").
    prefixes: list[_Prefix] = []
    #: Source addresses (sender ids or numbers), as the message gives them.
    sources: list[str] = []
    #: API key names (the client that sent the message).
    clients: list[str] = []
    kinds: list[Literal["interactive", "transactional", "bulk", "reply", "notice", "warning"]] = []
    #: A local time window "HH:MM-HH:MM" (an end before the start runs past midnight).
    hours: str | None = None
    #: The zone ``hours`` is read in.
    time_zone: str = "UTC"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value in (DEFAULT_RULE, EXPLICIT_RULE):
            raise ValueError(f"{DEFAULT_RULE!r} and {EXPLICIT_RULE!r} are names the engine records")
        return value

    @field_validator("routes")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("expected each route once")
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_window(value, field="hours")
            except ValueError:
                raise ValueError("expected a window HH:MM-HH:MM") from None
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone name such as Europe/Berlin") from None
        return value

    @model_validator(mode="after")
    def _weights(self) -> RuleSettings:
        if self.weights is not None:
            if len(self.weights) != len(self.routes):
                raise ValueError(f"weights: expected one per route ({len(self.routes)})")
            if not sum(self.weights) > 0:
                raise ValueError("weights: expected at least one above 0")
        return self

    def to_rule(self) -> RouteRule:
        return RouteRule(
            name=self.name,
            routes=tuple(self.routes),
            weights=tuple(self.weights or ()),
            prefixes=tuple(self.prefixes),
            senders=frozenset(self.sources),
            clients=frozenset(self.clients),
            kinds=frozenset(MessageKind(kind) for kind in self.kinds),
            hours=None if self.hours is None else parse_window(self.hours, field="hours"),
            zone=ZoneInfo(self.time_zone),
        )


class RoutingSettings(Section):
    """``[routing]``: present, it needs at least one rule; absent, every message takes its
    request's route or the first ``[[smsc]]``, as without a routing table."""

    #: The plan when no rule matches; empty: the first [[smsc]].
    default: list[RouteName] = []
    rules: list[RuleSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_names(self) -> RoutingSettings:
        names = [rule.name for rule in self.rules]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"rules[{index}].name: {name!r} is the name of an earlier rule")
        return self

    def to_table(self, first_route: str) -> RoutingTable:
        return RoutingTable(
            rules=tuple(rule.to_rule() for rule in self.rules),
            default=tuple(self.default) or (first_route,),
        )
