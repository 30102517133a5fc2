"""The MO inbox: every whole MO message goes where its route says, and is acknowledged to
the SMSC only once it is durable there.

- BILLING: handed to the SMS self-service, which acknowledges it once its answer is
  saved (as before).
- TENANT: kept in the store with its callback event in the outbox (one
  transaction), then acknowledged; the callback sender posts it, signed, to the
  tenant's ``callback_url``.
- TENANT over SMPP (``target = "smpp"``): kept likewise, the outbox event naming
  ``smpp:SYSTEM_ID``; the SMPP face sends it as a plain deliver_sm to that
  system_id's receiver binds, and deletes it once answered.
- no route: kept as ``unrouted`` (``smpp-engine mo list``, ``GET /v1/mo``), then
  acknowledged: the SMSC stops offering it, and nothing is lost.

A message the store cannot keep now is refused for now (the SMSC offers it again);
a full queue too. Long messages arrive joined (the pipeline's assembler).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
import trio

from ..pipeline import MoMessage
from ..store import StoreError
from ..store.callbacks import SMPP_URL_PREFIX
from ..store.mo import MoRoute, MoStore, NewMo
from .rules import MoRule, choose

__all__ = ["MoInbox"]

_log = structlog.get_logger("smpp_engine.mo")


class MoInbox:
    """Routes MO messages (``rules`` in order; ``billing`` takes BILLING ones, None when
    billing is off); ``tenant_urls`` are the tenants' callback URLs."""

    def __init__(
        self,
        store: MoStore,
        rules: Sequence[MoRule],
        *,
        billing: Callable[[MoMessage], None] | None,
        tenant_urls: Mapping[str, str],
        workers: int = 4,
        backlog: int = 10_000,
    ) -> None:
        self.store = store
        self.rules = tuple(rules)
        self.billing = billing
        self.tenant_urls = dict(tenant_urls)
        self.workers = workers
        self._send, self._receive = trio.open_memory_channel[tuple[MoMessage, MoRule | None]](
            backlog if backlog > 0 else math.inf
        )

    def route_of(self, message: MoMessage) -> MoRule | None:
        if not self.rules:
            # No rules: as before rules existed, the self-service takes them all.
            return MoRule(MoRoute.BILLING) if self.billing is not None else None
        return choose(self.rules, message.source, message.destination, message.text)

    def take(self, message: MoMessage) -> None:
        """Route ``message``; the SMSC is answered once it is durable where it went."""
        rule = self.route_of(message)
        if rule is not None and rule.target is MoRoute.BILLING and self.billing is not None:
            self.billing(message)
            return
        try:
            self._send.send_nowait((message, rule))
        except trio.WouldBlock:
            _log.warning("MO inbox full: refused for now", source=message.source)
            message.ack(ok=False)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(self.workers):
                nursery.start_soon(self._work)
            task_status.started()

    async def _work(self) -> None:
        async for message, rule in self._receive.clone():
            await self.keep(message, rule)

    async def keep(self, message: MoMessage, rule: MoRule | None) -> None:
        route, tenant, url = MoRoute.UNROUTED, None, None
        if rule is not None and rule.target is MoRoute.TENANT and rule.tenant is not None:
            route, tenant = MoRoute.TENANT, rule.tenant
            if rule.smpp is not None:
                # Delivered as deliver_sm to the tenant's receiver binds (the SMPP face
                # claims the events of the system_ids it holds such binds of).
                url = SMPP_URL_PREFIX + rule.smpp
            else:
                url = self.tenant_urls.get(rule.tenant)
        elif rule is not None and rule.target is MoRoute.BILLING:
            # A billing route while billing is off: kept, so nothing is lost.
            _log.warning("MO routed to billing, which is not enabled: kept unrouted")
        kept = NewMo(
            mo_id=message.mo_id,
            smsc=message.smsc,
            source=message.source,
            destination=message.destination,
            text=message.text,
            data_coding=message.data_coding,
            parts=message.parts,
            received_at=message.received_at,
            route=route,
            tenant=tenant,
        )
        try:
            kept_id, again = await self.store.keep_mo(kept, callback_url=url)
        except StoreError as exc:
            _log.warning("MO not kept: store unavailable; refused for now", error=str(exc))
            message.ack(ok=False)
            return
        except Exception:
            _log.exception("MO not kept: unexpected error; refused for now", mo_id=message.mo_id)
            message.ack(ok=False)
            return
        message.ack()
        _log.info(
            "MO kept",
            id=kept_id,
            route=route.value,
            tenant=tenant,
            redelivered=again,
            source=message.source,
            destination=message.destination,
        )
