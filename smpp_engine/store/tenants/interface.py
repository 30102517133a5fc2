"""Tenants in the store: the interface both backends implement."""

from __future__ import annotations

from typing import Protocol

from .model import QuotaRefusal, UsageRow

__all__ = ["TenantStore"]


class TenantStore(Protocol):
    async def reserve_quota(
        self,
        tenant: str,
        *,
        messages: int,
        parts: int,
        now: float,
        daily: int | None,
        monthly: int | None,
    ) -> QuotaRefusal | None:
        """Count ``messages`` (and their ``parts``) in the tenant's day and month of
        ``now``; when a count would go over its limit nothing is counted and the
        refusal says which. Atomic between processes sharing the store."""
        ...

    async def release_quota(self, tenant: str, *, messages: int, parts: int, at: float) -> None:
        """Take back what a reservation made at ``at`` counted (a send not stored)."""
        ...

    async def quota_use(self, tenant: str, *, now: float) -> tuple[int, int]:
        """Messages counted in the tenant's day and month of ``now``."""
        ...

    async def tenant_usage(
        self, *, since: float, until: float, tenant: str | None = None
    ) -> list[UsageRow]:
        """Messages accepted from ``since`` to before ``until``, per UTC day, tenant
        (None: the operator's) and state now, with their parts; one tenant's when given."""
        ...
