"""What the HTTP API is given by the app wiring: the store, the pipeline's accept, the keys."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from billing_core import UtilitySettings
from throttling import Priority

from ..control import ReloadReport
from ..pipeline import RouteStatus
from ..protocol import DEFAULT_PROFILE, MAX_PARTS, Concatenation, TextProfile
from ..routing import RoutingTable
from ..store import Accepted, NewMessage, Store
from .auth import KeyRing
from .health import Readiness
from .tenancy import TenantGate

__all__ = ["ApiContext", "RouteText"]


@dataclass(frozen=True, slots=True)
class RouteText:
    """How one route writes text: its SMSC's text profile and concatenation method.

    The API plans a message's text with these, as the route's dispatcher will
    split it, so what is accepted is what the route can send, in as many parts
    as were stored (settings: ``[[smsc]] default_alphabet``, ``allow_latin1``,
    ``concatenation``), in no more parts than it sends (``max_parts``).
    """

    profile: TextProfile = DEFAULT_PROFILE
    method: Concatenation = Concatenation.UDH8
    max_parts: int = MAX_PARTS
    #: Whether its messages may ask for flash ([[smsc]] flash).
    flash: bool = False


@dataclass
class ApiContext:
    """Everything the API's handlers use; nothing else reaches them.

    ``store`` also implements the campaign and billing store interfaces (both
    backends do). ``accept`` is the pipeline's durable accept: it returns once
    the messages are committed and wakes their route. ``routes`` are the SMSC
    route names, the first being the default; ``route_texts`` their text
    profiles and concatenation methods by name (a route left out takes GSM 7-bit
    with 8-bit UDH references, the defaults). ``api_key_digests`` maps a key's
    name to the SHA-256 hex digest of the key; the keys themselves are never
    held; ``api_key_scopes`` what each may do (a key left out: everything).
    :meth:`replace_keys` swaps them while the API runs (a reload).
    ``metrics_public`` serves ``/metrics`` without a key.
    """

    store: Store
    accept: Callable[[Sequence[NewMessage]], Awaitable[list[Accepted]]]
    routes: Sequence[str]
    api_key_digests: Mapping[str, str]
    metrics_public: bool
    readiness: Callable[[], Awaitable[Readiness]]
    clock: Callable[[], float] = time.time
    #: The priority of a message posted without one.
    default_priority: Priority = Priority.TRANSACTIONAL
    route_texts: Mapping[str, RouteText] = field(default_factory=dict)
    #: Each route's binds, rate and restarts, from the pipeline of this process.
    route_status: Callable[[], Mapping[str, RouteStatus]] | None = None
    #: The route billing notices go out on ([billing] route); None: the first route.
    billing_route: str | None = None
    #: The routing table ([routing]); None: a message takes its request's route or the
    #: first one.
    routing: RoutingTable | None = None
    #: The engine's [notices] quiet hours and caps put on a utility's notice rules.
    notice_rules: Callable[[UtilitySettings], UtilitySettings] = lambda utility: utility
    #: How long a disconnection warning may wait for its receipt, and how many times
    #: it is sent again ([notices] warning_wait_hours, warning_retries).
    warning_wait: timedelta = timedelta(hours=48)
    warning_retries: int = 1
    api_key_scopes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Obey the paused routes in the store now (this process's pipeline), after a change.
    pauses_changed: Callable[[], Awaitable[None]] | None = None
    #: Drop and re-establish a route's binds (None: no pipeline runs in this process).
    rebind: Callable[[str], None] | None = None
    #: Re-read the settings file and apply it; raises SettingsError, the running
    #: settings kept (None: this process has nothing to reload).
    reload: Callable[[], Awaitable[ReloadReport]] | None = None
    #: The tenants and the keys acting for them ([[tenants]], [http] api_keys tenant).
    tenant_gate: TenantGate = field(default_factory=TenantGate)
    #: The keys in force, made from the two mappings above.
    keys: KeyRing = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyRing(self.api_key_digests, self.api_key_scopes)
        if not self.routes:
            raise ValueError("routes: the API needs at least one SMSC route")
        unknown = sorted(set(self.route_texts) - set(self.routes))
        if unknown:
            raise ValueError(f"route_texts: no such route {', '.join(unknown)}")
        if self.routing is not None and (strange := self.routing.routes() - set(self.routes)):
            raise ValueError(f"routing: no such route {', '.join(sorted(strange))}")
        if self.billing_route is not None and self.billing_route not in self.routes:
            raise ValueError(f"billing_route: no such route {self.billing_route}")

    def replace_keys(
        self,
        digests: Mapping[str, str],
        scopes: Mapping[str, frozenset[str]],
        tenants: TenantGate | None = None,
    ) -> None:
        """Take these keys (and the tenants they act for) from the next request on.

        The tenants go first: a request between the two assignments meets a new key
        only once the gate knows whose it is (no request runs between them anyway:
        this runs on the one trio thread)."""
        if tenants is not None:
            self.tenant_gate = tenants
        self.api_key_digests = digests
        self.api_key_scopes = scopes
        self.keys = KeyRing(digests, scopes)

    def replace_routes(
        self,
        routes: Sequence[str],
        route_texts: Mapping[str, RouteText],
        billing_route: str | None,
        routing: RoutingTable | None = None,
    ) -> None:
        """Take these routes and routing table from the next request on (a reload
        changed them)."""
        self.routes = list(routes)
        self.routing = routing
        self.route_texts = dict(route_texts)
        self.billing_route = billing_route if billing_route in self.routes else None

    def route_text(self, route: str) -> RouteText:
        """The text profile and concatenation method of ``route``."""
        return self.route_texts.get(route, _DEFAULT_TEXT)


_DEFAULT_TEXT = RouteText()
