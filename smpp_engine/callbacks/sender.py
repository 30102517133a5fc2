"""Posting the callback outbox: claim due events, POST each signed, settle it in the store.

One sender per gateway process (several processes share the outbox: claims are
leased). An event is posted over a kept-alive connection to its receiver (pooled per
origin, a deadline on each attempt, redirects never followed) and settled:
delivered (2xx: it leaves the outbox), failed (anything else, or no answer in
time: retried after an exponential back-off with jitter), or parked dead once it
has failed for ``retry_for`` seconds since it was written.

A slow or dead receiver costs only its own share: at most ``per_host`` requests
to one host and ``per_tenant`` for one tenant are in flight; an event whose host
or tenant is at its limit is deferred (given back, due again a moment later)
without an attempt, and the others go on. Only the oldest pending event of a
message is ever claimed, so one message's events reach its receiver in order.

Why not httpx: it runs on trio, but costs about 1.5 ms of CPU per request here
(its pool scans every connection for each request), which capped a process near
600 callbacks/s; :mod:`.http` is h11 over trio streams with a list of idle
connections per origin. Either way no redirect is followed: a 3xx is a failed
attempt, so a receiver cannot send the gateway's signed request to another host.
"""

from __future__ import annotations

import math
import random
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import structlog
import trio

from metrics import CALLBACK_DURATION, CALLBACK_OUTBOX, CALLBACK_OUTBOX_AGE, CALLBACKS, child

from ..store import StoreError
from ..store.callbacks import (
    Backoff,
    CallbackStore,
    OutboxEvent,
    OutboxSettlement,
    OutboxStatus,
)
from .body import event_body
from .http import CallbackHttp, HttpError
from .signing import signed_headers

__all__ = ["CallbackPolicy", "CallbackSender"]

_log = structlog.get_logger("smpp_engine.callbacks")

#: The label of the operator's own events (messages of no tenant).
OPERATOR = "-"


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """How events are posted (settings ``[callbacks]``)."""

    timeout: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    concurrency: int = 64
    per_host: int = 8
    per_tenant: int = 16
    lease: float = 120.0
    poll: float = 1.0
    #: A deferred event (its host or tenant busy) is due again after this long.
    defer: float = 0.25
    #: How often the outbox gauges are sampled.
    sample_every: float = 5.0


class CallbackSender:
    """Posts the outbox's due events until cancelled; ``secrets`` by tenant (None: the
    operator's). A tenant with no secret gets no unsigned callback: its events fail
    ("no callback secret") and end as dead letters, to be replayed once one is set."""

    def __init__(
        self,
        store: CallbackStore,
        secrets: Mapping[str | None, str],
        policy: CallbackPolicy,
        *,
        owner: str,
        clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
        rand: random.Random | None = None,
    ) -> None:
        self.store = store
        self.secrets = dict(secrets)
        self.policy = policy
        self.owner = owner
        self.clock = clock
        self._rand = rand or random.Random()
        self._in_flight = 0
        self._hosts: Counter[str] = Counter()
        self._tenants: Counter[str] = Counter()
        self._freed = trio.Event()
        self._settlements: list[OutboxSettlement] = []
        self._settle_wanted = trio.Event()
        self._http = CallbackHttp(per_origin=policy.per_host, ssl_context=ssl_context)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._sample)
                nursery.start_soon(self._flush)
                task_status.started()
                while True:
                    await self._round(nursery)
        finally:
            await self._http.aclose()

    async def _round(self, nursery: trio.Nursery) -> None:
        free = self.policy.concurrency - self._in_flight
        # Claim in batches: a claim per freed slot would cost the store a transaction per
        # event. With requests in flight, wait until a quarter of the slots are free.
        if free < max(1, self.policy.concurrency // 4) and self._in_flight:
            await self._wait_freed(math.inf)
            return
        now = self.clock()
        try:
            events = await self.store.claim_callbacks(
                owner=self.owner, now=now, lease=self.policy.lease, limit=free
            )
        except StoreError as exc:
            _log.warning("callback outbox unavailable", error=str(exc))
            await trio.sleep(self.policy.poll)
            return
        started = 0
        for event in events:
            host = (urlsplit(event.url).hostname or "").lower()
            tenant = event.tenant or OPERATOR
            if (
                self._hosts[host] >= self.policy.per_host
                or self._tenants[tenant] >= self.policy.per_tenant
            ):
                self._defer(event, tenant)
                continue
            self._in_flight += 1
            self._hosts[host] += 1
            self._tenants[tenant] += 1
            started += 1
            nursery.start_soon(self._post, event, host, tenant)
        if started == 0:
            # Nothing due (or all deferred): wait for a slot to free or the next look.
            await self._wait_freed(self.policy.poll if not events else self.policy.defer)

    async def _wait_freed(self, at_most: float) -> None:
        with trio.move_on_after(at_most):
            await self._freed.wait()
        self._freed = trio.Event()

    def _defer(self, event: OutboxEvent, tenant: str) -> None:
        child(CALLBACKS, tenant, "deferred").inc()
        until = self.clock() + self.policy.defer
        self._settle(OutboxSettlement(event.event_id, deferred=True, next_at=until))

    def _settle(self, settlement: OutboxSettlement) -> None:
        self._settlements.append(settlement)
        self._settle_wanted.set()

    async def _flush(self) -> None:
        """Write settlements in batches: each flush takes all that came since the last,
        so a busy sender costs the store one transaction per flush, not per event."""
        while True:
            await self._settle_wanted.wait()
            self._settle_wanted = trio.Event()
            batch, self._settlements = self._settlements, []
            try:
                await self.store.settle_callbacks(batch, owner=self.owner)
            except StoreError as exc:
                # Not settled: their leases run out and they are posted again (at least
                # once); a deferral lost is only a wait lost.
                _log.warning("callbacks not settled", events=len(batch), error=str(exc))

    async def _post(self, event: OutboxEvent, host: str, tenant: str) -> None:
        try:
            error = await self._attempt(event)
        finally:
            # The slot is free once the receiver answered; the event stays leased until
            # its settlement is written, so nobody takes it again meanwhile.
            self._in_flight -= 1
            self._hosts[host] -= 1
            self._tenants[tenant] -= 1
            self._freed.set()
        self._settle(self._settlement(event, tenant, error))

    async def _attempt(self, event: OutboxEvent) -> str | None:
        """Post ``event`` once; None when its receiver took it, else what went wrong."""
        secret = self.secrets.get(event.tenant)
        if not secret:
            return "no callback secret configured for " + (
                f"tenant {event.tenant!r}" if event.tenant else "the operator ([callbacks] secret)"
            )
        body = event_body(event)
        headers = signed_headers(secret, str(event.event_id), int(self.clock()), body)
        started = time.perf_counter()
        try:
            # One deadline for the whole attempt: connect, send, answer.
            with trio.fail_after(self.policy.timeout):
                status = await self._http.post(event.url, body, headers)
        except trio.TooSlowError:
            return f"no answer within {self.policy.timeout:g} s"
        except HttpError as exc:
            return str(exc)[:300]
        finally:
            CALLBACK_DURATION.observe(time.perf_counter() - started)
        if 200 <= status < 300:
            return None
        if 300 <= status < 400:
            return f"HTTP {status}: redirects are not followed"
        return f"HTTP {status}"

    def _settlement(self, event: OutboxEvent, tenant: str, error: str | None) -> OutboxSettlement:
        if error is None:
            child(CALLBACKS, tenant, "delivered").inc()
            return OutboxSettlement(event.event_id, delivered=True)
        now = self.clock()
        backoff = self.policy.backoff
        attempts = event.attempts + 1
        status = OutboxStatus.PENDING
        if backoff.dead(event.created_at, now):
            status = OutboxStatus.DEAD
            _log.warning(
                "callback parked as a dead letter",
                event_id=event.event_id,
                tenant=event.tenant,
                attempts=attempts,
                error=error,
            )
        child(CALLBACKS, tenant, "dead" if status is OutboxStatus.DEAD else "failed").inc()
        next_at = now + backoff.delay(attempts, self._rand)
        return OutboxSettlement(event.event_id, status=status, next_at=next_at, error=error)

    async def _sample(self) -> None:
        while True:
            try:
                stats = await self.store.callback_stats()
            except StoreError as exc:
                _log.warning("callback outbox not sampled", error=str(exc))
            else:
                child(CALLBACK_OUTBOX, "pending").set(stats.pending)
                child(CALLBACK_OUTBOX, "retrying").set(stats.retrying)
                child(CALLBACK_OUTBOX, "dead").set(stats.dead)
                oldest = stats.oldest_pending_at
                CALLBACK_OUTBOX_AGE.set(0 if oldest is None else max(0.0, self.clock() - oldest))
            await trio.sleep(self.policy.sample_every)
