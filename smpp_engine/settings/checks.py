"""Rules that span tables, each reported against the key it is about."""

from __future__ import annotations

from .errors import Problem
from .model import Settings

__all__ = ["cross_check"]


def cross_check(settings: Settings, source: str) -> list[Problem]:
    """Every problem between tables of otherwise valid ``settings``."""
    problems: list[Problem] = []
    names = [smsc.name for smsc in settings.smsc]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(
                Problem(
                    source,
                    f"smsc[{index}].name",
                    "expected a name no other [[smsc]] has",
                    repr(name),
                )
            )
    keys = [key.name for key in settings.http.api_keys]
    for index, name in enumerate(keys):
        if name in keys[:index]:
            problems.append(
                Problem(
                    source,
                    f"http.api_keys[{index}].name",
                    "expected a name no other API key has",
                    repr(name),
                )
            )
    billing = settings.billing
    if billing.enabled and billing.route not in names:
        problems.append(
            Problem(
                source,
                "billing.route",
                f"expected the name of an [[smsc]] ({', '.join(map(repr, names))})",
                repr(billing.route),
            )
        )
    problems.extend(_routing_problems(settings, source, names))
    return problems


def _routing_problems(settings: Settings, source: str, names: list[str]) -> list[Problem]:
    """Every route a rule or the default plan names must be an [[smsc]]."""
    routing = settings.routing
    if routing is None:
        return []
    expected = f"expected the name of an [[smsc]] ({', '.join(map(repr, names))})"
    named = [(f"routing.default[{i}]", route) for i, route in enumerate(routing.default)]
    for rule in routing.rules:
        named += [(f"routing.rules[{rule.name}].routes[{i}]", r) for i, r in enumerate(rule.routes)]
    return [
        Problem(source, key, expected, repr(route)) for key, route in named if route not in names
    ]
