"""Rules that span tables, each reported against the key it is about."""

from __future__ import annotations

from .errors import Problem
from .model import Settings
from .tenants import TenantSettings

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
    tenants = [tenant.name for tenant in settings.tenants]
    for index, name in enumerate(tenants):
        if name in tenants[:index]:
            problems.append(
                Problem(
                    source,
                    f"tenants[{index}].name",
                    "expected a name no other [[tenants]] entry has",
                    repr(name),
                )
            )
    for index, key in enumerate(settings.http.api_keys):
        if key.tenant is not None and key.tenant not in tenants:
            problems.append(
                Problem(
                    source,
                    f"http.api_keys[{index}].tenant",
                    f"expected the name of a [[tenants]] entry ({', '.join(map(repr, tenants))})"
                    if tenants
                    else "expected the name of a [[tenants]] entry (there is none)",
                    repr(key.tenant),
                )
            )
    rules = [rule.name for rule in settings.mo_routes]
    for index, name in enumerate(rules):
        if name in rules[:index]:
            problems.append(
                Problem(
                    source,
                    f"mo_routes[{index}].name",
                    "expected a name no other [[mo_routes]] rule has",
                    repr(name),
                )
            )
    with_urls = {t.name for t in settings.tenants if t.callback_url}
    for index, rule in enumerate(settings.mo_routes):
        where = f"mo_routes[{index}]"
        if rule.target == "tenant" and rule.tenant not in with_urls:
            problems.append(
                Problem(
                    source,
                    f"{where}.tenant",
                    "expected a [[tenants]] entry with a callback_url "
                    f"({', '.join(map(repr, sorted(with_urls))) or 'there is none'})",
                    repr(rule.tenant),
                )
            )
        if rule.target == "smpp":
            problems.extend(_mo_smpp_problems(settings, source, where, rule.tenant, rule.system_id))
        if rule.target == "billing" and not settings.billing.enabled:
            problems.append(
                Problem(
                    source,
                    f"{where}.target",
                    "expected billing enabled ([billing] enabled = true) for this target",
                    repr(rule.target),
                )
            )
    problems.extend(_smpp_problems(settings, source, names))
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


def _smpp_problems(settings: Settings, source: str, routes: list[str]) -> list[Problem]:
    """system_ids unique over every tenant; routes named by the SMPP server face exist."""
    problems: list[Problem] = []
    seen: set[str] = set()
    expected = f"expected the name of an [[smsc]] ({', '.join(map(repr, routes))})"
    for tenant in settings.tenants:
        for c, credential in enumerate(tenant.smpp):
            at = f"tenants[{tenant.name}].smpp[{c}]"
            if credential.system_id in seen:
                problems.append(
                    Problem(
                        source,
                        f"{at}.system_id",
                        "expected a system_id no other credential has",
                        repr(credential.system_id),
                    )
                )
            seen.add(credential.system_id)
            if credential.route and credential.route not in routes:
                problems.append(Problem(source, f"{at}.route", expected, repr(credential.route)))
    server = settings.smpp_server
    if server is not None and server.route and server.route not in routes:
        problems.append(Problem(source, "smpp_server.route", expected, repr(server.route)))
    return problems


def mo_receivers(tenant: TenantSettings) -> list[str]:
    """The system_ids of ``tenant``'s credentials that may bind to receive."""
    return [c.system_id for c in tenant.smpp if {"receiver", "transceiver"} & set(c.bind_types)]


def _mo_smpp_problems(
    settings: Settings, source: str, where: str, tenant_name: str, system_id: str
) -> list[Problem]:
    """An MO route to a tenant's SMPP binds names a tenant with a credential that may
    bind to receive: the one given, or its only one."""
    tenant = next((t for t in settings.tenants if t.name == tenant_name), None)
    if tenant is None:
        names = ", ".join(repr(t.name) for t in settings.tenants) or "there is none"
        return [
            Problem(
                source,
                f"{where}.tenant",
                f"expected a [[tenants]] entry ({names})",
                repr(tenant_name),
            )
        ]
    receivers = mo_receivers(tenant)
    if system_id:
        if system_id not in receivers:
            return [
                Problem(
                    source,
                    f"{where}.system_id",
                    f"expected a [[tenants.smpp]] system_id of {tenant_name!r} that may bind "
                    f"as a receiver ({', '.join(map(repr, receivers)) or 'there is none'})",
                    repr(system_id),
                )
            ]
        return []
    if len(receivers) != 1:
        return [
            Problem(
                source,
                f"{where}.system_id",
                f"expected the system_id whose binds get them: {tenant_name!r} has "
                f"{len(receivers)} credentials that may bind as a receiver "
                f"({', '.join(map(repr, receivers)) or 'none'})",
                repr(system_id),
            )
        ]
    return []
