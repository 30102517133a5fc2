"""Kept MO messages: the store interface both backends implement."""

from __future__ import annotations

from typing import Protocol

from .model import KeptMo, MoRoute, NewMo

__all__ = ["MoStore"]


class MoStore(Protocol):
    async def keep_mo(self, mo: NewMo, *, callback_url: str | None = None) -> tuple[int, bool]:
        """Keep ``mo`` durably (one transaction) with, given ``callback_url``, its outbox
        event; returns its id and whether it was kept before (an SMSC redelivery: nothing
        is written again)."""
        ...

    async def list_mo(
        self, *, route: MoRoute | None = None, tenant: str | None = None, limit: int = 100
    ) -> list[KeptMo]:
        """Kept MO messages, newest first; one route's or one tenant's when given."""
        ...
