"""Tenants in the store: quota use counted per day and month, usage for invoicing.

A tenant is a client of the gateway (settings ``[[tenants]]``); its messages
carry its name. Quota use is counted when a message is accepted, in the store,
so that every gateway process sharing it sees one count.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QuotaRefusal", "UsageRow"]


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """Why a send was refused: ``period`` ("daily" or "monthly") would go over ``limit``
    (``used`` messages counted already in it, ``period_key`` its day or month)."""

    period: str
    period_key: str
    limit: int
    used: int


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One tenant's messages accepted on one UTC ``day`` (YYYY-MM-DD) now in ``state``:
    how many, and their SMS parts. ``tenant`` None: the operator's own messages."""

    day: str
    tenant: str | None
    state: str
    messages: int
    parts: int
