"""Who a request acts for: a tenant (its key's ``tenant``) or the operator (a key with none).

A tenant's key sends only from the tenant's sender ids, within its quotas and
throughput, and sees only its own messages and campaigns: another tenant's are
answered 404, as if they did not exist, so ids reveal nothing. The operator's
keys see everything, as every key did before tenants existed.

Quotas (messages per UTC day and month) are counted in the store when a send
is accepted, so all gateway processes share one count; over a quota the send
is refused with 429 ``quota exceeded`` and a ``Retry-After`` up to the period's
end. Throughput is applied at accept with a GCRA (429 ``rate limited`` with the
wait in ``Retry-After``), one per tenant per process, sized by the process's share
of the tenant's throughput (:mod:`smpp_engine.tenant_rates`: the gateway processes
on one store share it, and the SMPP server face takes from the same limiter):
refusing at the door keeps one tenant from filling the route's queue, where its
messages would hold back the others' (the dispatcher sends by priority, not by
tenant).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from starlette.requests import Request

from throttling import GCRA

from ..store.callbacks import CALLBACK_EVENTS, DEFAULT_CALLBACK_EVENTS, CallbackStore
from ..store.tenants import QuotaRefusal, TenantStore
from ..tenant_rates import TenantRates
from .errors import ApiError, invalid

if TYPE_CHECKING:
    from ..settings import Settings
    from .context import ApiContext

__all__ = [
    "Tenant",
    "TenantGate",
    "callback_choice",
    "callback_store",
    "tenant_gate",
    "tenant_store",
]


@dataclass
class Tenant:
    """A tenant as the API applies it (built from ``[[tenants]]``)."""

    name: str
    senders: frozenset[str] = frozenset()
    default_sender: str = ""
    throughput: float | None = None
    daily_quota: int | None = None
    monthly_quota: int | None = None
    callback_url: str | None = None
    callback_hosts: frozenset[str] = frozenset()
    callback_events: frozenset[str] = DEFAULT_CALLBACK_EVENTS
    _limiter: GCRA | None = field(default=None, repr=False)
    #: The process's shares of the tenants' throughputs, which the SMPP server face
    #: takes from too (None: a limiter of this tenant's own, this process only).
    rates: TenantRates | None = field(default=None, repr=False)

    def take(self, units: int, now: float) -> float:
        """Take ``units`` messages of the throughput; the wait (0: taken) when over it."""
        if self.throughput is None:
            return 0.0
        if self.rates is not None:
            return self.rates.take(self.name, units, now)
        if self._limiter is None:
            # A second of burst: a client sending in batches is not refused for batching.
            self._limiter = GCRA(self.throughput, max(self.throughput, 1.0), now=now)
        wait = self._limiter.wait(units, now=now)
        if wait > 0:
            return wait
        self._limiter.take(units, now=now)
        return 0.0


@dataclass
class TenantGate:
    """The tenants and which key acts for which; ``operator_secret`` aside, no secrets."""

    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    key_tenants: Mapping[str, str] = field(default_factory=dict)

    def of(self, request: Request) -> Tenant | None:
        """The tenant the request's key acts for; None for an operator's key."""
        name = request.scope.get("state", {}).get("api_key_name")
        tenant = self.key_tenants.get(name) if isinstance(name, str) else None
        return None if tenant is None else self.tenants[tenant]


def check_sender(tenant: Tenant | None, sender: str | None, at: str) -> str:
    """The sender a message goes from: ``sender``, else the tenant's default; a 422 naming
    ``from`` when there is none, or when the tenant may not use it."""
    field_name = f"{at}from"
    if not sender:
        if tenant is not None and tenant.default_sender:
            return tenant.default_sender
        raise invalid(field_name, sender, "a sender id is required")
    if tenant is not None and tenant.senders and sender not in tenant.senders:
        allowed = ", ".join(sorted(tenant.senders))
        raise invalid(
            field_name, sender, f"not a sender id of tenant {tenant.name!r} (allowed: {allowed})"
        )
    return sender


def callback_choice(
    tenant: Tenant | None, url: str | None, events: Sequence[str] | None, at: str
) -> tuple[str | None, frozenset[str]]:
    """Where a message's state changes go and which: its own ``callback_url`` (a host the
    tenant allows), else the tenant's; its own events, else the tenant's (or the default)."""
    chosen = frozenset(events) if events is not None else None
    if chosen is not None:
        unknown = sorted(chosen - CALLBACK_EVENTS)
        if unknown:
            known = ", ".join(sorted(CALLBACK_EVENTS))
            raise invalid(
                f"{at}callback_events",
                list(events or ()),
                f"unknown: {', '.join(unknown)} (known: {known})",
            )
    default_events = DEFAULT_CALLBACK_EVENTS if tenant is None else tenant.callback_events
    if url is None:
        base = None if tenant is None else tenant.callback_url
        return base, (chosen if chosen is not None else default_events)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"{at}callback_url", url, "expected an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise invalid(f"{at}callback_url", url, "must not carry user:password")
    if tenant is not None and parts.hostname.lower() not in tenant.callback_hosts:
        allowed = ", ".join(sorted(tenant.callback_hosts)) or "none"
        raise invalid(
            f"{at}callback_url",
            url,
            f"host not allowed for tenant {tenant.name!r} (allowed: {allowed})",
        )
    return url, (chosen if chosen is not None else default_events)


def quota_error(tenant: Tenant, refusal: QuotaRefusal, now: float) -> ApiError:
    """The 429 of a send over a quota, with the wait until the period ends."""
    moment = datetime.fromtimestamp(now, UTC)
    if refusal.period == "daily":
        end = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        end = datetime(year, month, 1, tzinfo=UTC)
    wait = max(1, math.ceil(end.timestamp() - now))
    return ApiError(
        429,
        "quota exceeded",
        f"tenant {tenant.name!r} reached its {refusal.period} quota of {refusal.limit} "
        f"messages ({refusal.used} sent in {refusal.period_key}); nothing was accepted",
        headers={"Retry-After": str(wait)},
    )


def rate_error(tenant: Tenant, wait: float) -> ApiError:
    return ApiError(
        429,
        "rate limited",
        f"tenant {tenant.name!r} sends at most {tenant.throughput:g} messages per second; "
        "nothing was accepted",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def not_found(what: str, value: object) -> ApiError:
    return ApiError(404, "not found", f"no {what} has id {value}")


def tenant_store(context: ApiContext) -> TenantStore:
    """The store's tenant part (both backends implement it)."""
    return cast("TenantStore", context.store)


def callback_store(context: ApiContext) -> CallbackStore:
    """The store's callback outbox (both backends implement it)."""
    return cast("CallbackStore", context.store)


def tenant_gate(settings: Settings, rates: TenantRates | None = None) -> TenantGate:
    """The tenants of ``settings`` ([[tenants]]) and the keys acting for them; their
    throughput taken from ``rates`` when given (shared across processes and faces)."""
    tenants = {
        t.name: Tenant(
            name=t.name,
            senders=frozenset(t.senders),
            default_sender=t.default_sender,
            throughput=t.throughput,
            daily_quota=t.daily_quota,
            monthly_quota=t.monthly_quota,
            callback_url=t.callback_url or None,
            callback_hosts=t.allowed_hosts(),
            callback_events=frozenset(t.callback_events),
            rates=rates,
        )
        for t in settings.tenants
    }
    return TenantGate(tenants, settings.http.api_key_tenants())
