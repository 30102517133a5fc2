"""Runtime control of a running gateway: what a reload changes, and what it reports.

A reload re-reads the settings file. What it can apply while messages flow is
the *routing configuration* (:class:`RoutingConfiguration`: the ``[[smsc]]``
routes and the ``[routing]`` rules), the API keys and the ``[[tenants]]`` they
act for (swapped together); everything else (the store, the HTTP listener, the
simulator, billing, callbacks, MO routes, retention, the SMPP server face and
the tenants' SMPP credentials) is read at start only, and a reload that finds it
changed says so in ``restart_needed`` instead of applying half of it. The
gateway swaps the routing configuration in one place
(:meth:`smpp_engine.app.Gateway.reload`), so anything added to it is reloaded
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .pipeline import SmscRoute
from .routing import RoutingTable
from .settings import Settings

__all__ = ["ReloadReport", "RoutingConfiguration", "restart_needed"]

#: The sections a reload applies (of [http] only api_keys, of [[tenants]] all but
#: smpp; both are compared below). Every other section is read at start only, a
#: section added later included: a change to one is reported, never ignored.
_RELOADED = frozenset({"smsc", "routing", "http", "tenants"})
#: Of [http], what a reload applies; the rest (host, port, ...) takes a restart.
_HTTP_RELOADED = frozenset({"api_keys"})


@dataclass(frozen=True, slots=True)
class RoutingConfiguration:
    """How messages are routed: the routes (the first is the default) and the
    routing table of rules (None without ``[routing]``)."""

    routes: tuple[SmscRoute, ...]
    table: RoutingTable | None = None

    @property
    def names(self) -> list[str]:
        return [route.name for route in self.routes]


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload applied: the routes added, removed and changed (by name), the
    API keys now in force, and the settings that changed but take a restart.
    ``queued_on_removed`` counts the messages left in the store, by removed route."""

    added: Sequence[str] = ()
    removed: Sequence[str] = ()
    changed: Sequence[str] = ()
    keys: int = 0
    restart_needed: Sequence[str] = ()
    queued_on_removed: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "routes": {
                "added": list(self.added),
                "removed": list(self.removed),
                "changed": list(self.changed),
            },
            "keys": self.keys,
            "restart_needed": list(self.restart_needed),
            "queued_on_removed": dict(self.queued_on_removed),
        }


def restart_needed(running: Settings, loaded: Settings) -> list[str]:
    """The settings keys that differ between ``running`` and ``loaded`` and that a
    reload does not apply (``store``, ``http.port``, ...), sorted."""
    changed = [
        name
        for name in type(running).model_fields
        if name not in _RELOADED and getattr(running, name) != getattr(loaded, name)
    ]
    http_old, http_new = running.http.model_dump(), loaded.http.model_dump()
    changed += [
        f"http.{key}"
        for key in http_old
        if key not in _HTTP_RELOADED and http_old[key] != http_new.get(key)
    ]
    # The SMPP server face's credentials hold its binds: read at start only.
    # A tenant without SMPP credentials added or removed changes none of them.
    if _credentials(running) != _credentials(loaded):
        changed.append("tenants.smpp")
    return sorted(changed)


def _credentials(settings: Settings) -> dict[str, Any]:
    return {tenant.name: tenant.smpp for tenant in settings.tenants if tenant.smpp}
