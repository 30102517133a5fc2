"""The SMPP server face: downstream ESMEs bind to the gateway as to an SMSC.

:class:`SmppServer` listens (TCP, or TLS with a certificate), runs one
:class:`~.link.Link` per connection, stores submits through the pipeline's
accept (group commit: many binds share a transaction) and sends receipts back
as deliver_sm from the callback outbox: each message taken over SMPP with a
receipt asked for names ``smpp:SYSTEM_ID`` as its callback, so its final state
is written to the outbox in the transaction that records it. The server claims
the events of the system_ids it holds receiver binds of, sends each over one
of them, and deletes it only after a deliver_sm_resp ESME_ROK: a client not
bound gets its receipts when it binds again, none is lost, and none is sent
again once answered (an unanswered one may be: at least once).

Per tenant: over its throughput (or the credential's) a submit is answered
ESME_RTHROTTLED; over its daily or monthly quota ESME_RMSGQFUL: the tenant's
allowance is full until the period ends, which a retry in a second does not
change, and a client can tell it from a rate it exceeded.
"""

from __future__ import annotations

import itertools
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import structlog
import trio

from ..protocol import CommandStatus, UnsuccessSme, sender_address
from ..protocol.failed_binds import FailedBinds
from ..settings import Settings, SmppServerSettings
from ..store import Accepted, NewMessage, Store, StoreError
from ..store.callbacks import (
    MO_EVENT,
    SMPP_URL_PREFIX,
    Backoff,
    CallbackStore,
    OutboxEvent,
    OutboxStatus,
)
from ..store.tenants import TenantStore
from ..tenant_rates import TenantRates
from .accounts import Account, Accounts, BindKind
from .link import Link, Pending, submit_answer
from .mo import mo_pdus
from .receipts import MessageFacts, receipt_pdu
from .telemetry import Telemetry

__all__ = ["SmppServer"]

_log = structlog.get_logger("smpp_engine.smpp_server")

#: How long a claimed receipt is held before another process may send it.
_LEASE = 120.0
#: Receipt facts remembered from accept (beyond: read from the store when needed).
_MAX_FACTS = 1_000_000
#: Claims are coalesced this long after a deliver_sm_resp frees room.
_COALESCE = 0.002

Accept = Callable[[Sequence[NewMessage]], Awaitable[list[Accepted]]]


class SmppServer:
    """The listener, its links, and the receipts going out through them."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        accept: Accept,
        *,
        owner: str,
        clock: Callable[[], float] = time.time,
        rates: TenantRates | None = None,
    ) -> None:
        assert settings.smpp_server is not None
        self.config: SmppServerSettings = settings.smpp_server
        self.store = store
        self.outbox = cast(CallbackStore, store)
        self.quotas = cast(TenantStore, store)
        self._accept = accept
        self.owner = owner
        self.clock = clock
        self.accounts = Accounts.of(settings, rates)
        #: The routing rules in force (a reload replaces them); None: the accounts' routes.
        self.routing = settings.routing_table()
        self.telemetry = Telemetry(frozenset(self.accounts.by_system_id))
        self.system_id = "gateway"
        callbacks = settings.callbacks
        self.backoff = Backoff(
            first=callbacks.first_delay,
            factor=callbacks.factor,
            longest=callbacks.max_delay,
            give_up_after=callbacks.retry_for,
        )
        self.failed_binds = FailedBinds()
        self.failed_bind_delay = self.config.failed_bind_delay
        self.port = 0
        self.links: set[Link] = set()
        self.bind_timeouts = 0
        self.throttled = 0
        self._numbers = itertools.count(1)
        self._receivers: dict[str, list[Link]] = {}
        self._turn = 0
        self._facts: OrderedDict[int, MessageFacts] = OrderedDict()
        self._in_flight: dict[int, OutboxEvent] = {}
        self._settled: list[int] = []
        self._failed: list[OutboxEvent] = []
        self._released: list[OutboxEvent] = []
        self._wake = trio.Event()

    # --- running -------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        config = self.config
        listeners: list[Any] = await trio.open_tcp_listeners(config.port, host=config.host)
        self.port = listeners[0].socket.getsockname()[1]
        if config.tls_cert_file is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
            listeners = [trio.SSLListener(listener, context) for listener in listeners]
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._receipts)
                await nursery.start(trio.serve_listeners, self._serve, listeners)
                _log.info(
                    "SMPP server listening",
                    host=config.host,
                    port=self.port,
                    tls=config.tls_cert_file is not None,
                )
                task_status.started(self.port)
        finally:
            # Receipts sent and not answered are offered again at once, not after the
            # lease; those answered are settled (as far as the store lets in a moment).
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                self._released.extend(self._in_flight.values())
                self._in_flight.clear()
                try:
                    await self._settle()
                except StoreError as exc:
                    _log.warning("receipts left to their lease: the store failed", error=str(exc))

    async def _serve(self, stream: trio.abc.Stream) -> None:
        link = Link(self, stream, next(self._numbers), _peer(stream))
        self.links.add(link)
        try:
            await link.run()
        except (trio.BrokenResourceError, ssl.SSLError) as exc:  # a TLS handshake gone wrong
            _log.info("connection failed", connection=link.number, error=str(exc))
        except Exception:
            # One client's fault ends its connection only; the others go on.
            _log.exception("connection failed", connection=link.number, peer=link.peer)

    # --- binds ---------------------------------------------------------------------

    async def check_bind(self, system_id: str, password: str, kind: BindKind) -> Account | int:
        # The digest is slow on purpose: computed off the event loop.
        account = self.accounts.by_system_id.get(system_id)
        if account is None:
            return CommandStatus.ESME_RINVSYSID
        found = await trio.to_thread.run_sync(self.accounts.check_bind, system_id, password, kind)
        if isinstance(found, Account) and found.binds >= found.credential.max_binds:
            return CommandStatus.ESME_RBINDFAIL  # another bind got the last slot meanwhile
        return found

    def link_bound(self, link: Link) -> None:
        assert link.account is not None and link.kind is not None
        self.telemetry.binds.inc()
        if link.kind.receives:
            self._receivers.setdefault(link.account.system_id, []).append(link)
            self._wake.set()

    def link_unbound(self, link: Link) -> None:
        if link.account is not None:
            receivers = self._receivers.get(link.account.system_id, [])
            if link in receivers:
                receivers.remove(link)

    def link_closed(self, link: Link) -> None:
        self.links.discard(link)
        self.link_unbound(link)
        if link.account is not None:
            link.account.binds -= 1
            link.account = None
            self.telemetry.binds.dec()

    # --- submits -------------------------------------------------------------------

    async def accept(
        self, account: Account, batch: Sequence[Pending]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Each submit's status and response fields, its messages stored before any id
        is given; a store failure answers the whole batch ESME_RSYSERR."""
        messages = [m for item in batch for m in item.messages]
        now = self.clock()
        tenant = account.tenant
        counted = tenant.daily_quota is not None or tenant.monthly_quota is not None
        try:
            if counted:
                refusal = await self.quotas.reserve_quota(
                    tenant.name,
                    messages=len(messages),
                    parts=len(messages),
                    now=now,
                    daily=tenant.daily_quota,
                    monthly=tenant.monthly_quota,
                )
                if refusal is not None:
                    if len(batch) > 1:
                        # Some of them may still fit: each on its own.
                        return [a for item in batch for a in await self.accept(account, [item])]
                    self.telemetry.limited(account.system_id, CommandStatus.ESME_RMSGQFUL)
                    return [(CommandStatus.ESME_RMSGQFUL, {})]
            accepted = await self._accept(messages)
        except StoreError as exc:
            _log.error("store failed: submits refused", system_id=account.system_id, error=str(exc))
            if counted:
                await self._release(tenant.name, len(messages), now)
            self.telemetry.rejected.inc(len(batch))
            return [(CommandStatus.ESME_RSYSERR, {})] * len(batch)
        except Exception:
            # A message the store refuses: nothing was kept, and the client is told so.
            _log.exception("submits refused", system_id=account.system_id)
            if counted:
                await self._release(tenant.name, len(messages), now)
            self.telemetry.rejected.inc(len(batch))
            return [(CommandStatus.ESME_RSYSERR, {})] * len(batch)
        self.telemetry.accepted.inc(len(batch))
        answers = []
        first = 0
        for item in batch:
            ids = accepted[first : first + len(item.messages)]
            # One submit_multi_resp names the first destination's id: the receipts of
            # every destination name it (written down before the client is told it).
            named = ids[0].message_id if len(ids) > 1 else None
            for message, stored in zip(item.messages, ids, strict=True):
                if message.callback_url is not None:
                    own = stored.message_id == named or named is None
                    self._remember(stored.message_id, message, now, None if own else named)
            if named is not None and item.messages[0].callback_url is not None:
                await self._name_receipts(named, [a.message_id for a in ids[1:]])
            first += len(item.messages)
            texts = [account.format_id(a.message_id) for a in ids]
            answers.append((0, submit_answer(item.pdu, texts, _unsent(item))))
        return answers

    async def _release(self, tenant: str, count: int, now: float) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.quotas.release_quota(tenant, messages=count, parts=count, at=now)
            except StoreError:
                _log.warning("quota not given back: the store failed", tenant=tenant)

    async def _name_receipts(self, named: int, others: list[int]) -> None:
        try:
            await self.store.name_receipts(named, others)
        except StoreError as exc:
            # The messages are kept: refusing now would have the client send them
            # again. This process names them from memory; only a restart before their
            # receipts would name them by their own ids.
            _log.warning("submit_multi receipt ids kept in memory only", error=str(exc))

    def _remember(
        self, message_id: int, message: NewMessage, now: float, receipt_id: int | None = None
    ) -> None:
        facts = self._facts
        facts[message_id] = MessageFacts(
            message.source,
            message.source_ton,
            message.source_npi,
            message.destination,
            message.dest_ton,
            message.dest_npi,
            now,
            message.text,
            receipt_id,
        )
        if len(facts) > _MAX_FACTS:
            facts.popitem(last=False)

    # --- receipts ------------------------------------------------------------------

    def deliver_answered(self, context: Any, status: int) -> None:
        if isinstance(context, _Parts):
            # An MO in parts is delivered when every part is answered ESME_ROK.
            context.left -= 1
            context.failed = context.failed or status != 0
            if context.left > 0 or context.done:
                return
            context.done = True
            status, context = (1 if context.failed else 0), context.event
        if not isinstance(context, OutboxEvent):
            return
        self._in_flight.pop(context.event_id, None)
        if status == 0:
            self._settled.append(context.event_id)
            self.telemetry.receipt_sent(context.event)
        else:
            self._failed.append(context)
        self._wake.set()

    def deliver_unanswered(self, context: Any) -> None:
        """Timed out or abandoned: it may have arrived; it is offered again (at least once)."""
        if isinstance(context, _Parts):
            if context.done:
                return
            context.done = True
            context = context.event
        if isinstance(context, OutboxEvent):
            self._in_flight.pop(context.event_id, None)
            self._released.append(context)
            self._wake.set()

    async def _receipts(self) -> None:
        poll = self.config.receipt_poll
        while True:
            claimed = 0
            try:
                await self._settle()
                claimed = await self._claim()
            except StoreError as exc:
                _log.warning("receipts wait: the store failed", error=str(exc))
                await trio.sleep(poll)
                continue
            except Exception:
                _log.exception("receipts: unexpected failure; trying again")
                await trio.sleep(poll)
                continue
            if claimed:
                continue
            self._wake = trio.Event()
            with trio.move_on_after(poll):
                await self._wake.wait()
            await trio.sleep(_COALESCE)

    async def _settle(self) -> None:
        settled, self._settled = self._settled, []
        if settled:
            try:
                await self.outbox.callbacks_delivered(settled, owner=self.owner)
            except StoreError:
                self._settled[:0] = settled
                raise
        now = self.clock()
        released, self._released = self._released, []
        for event in released:
            await self.outbox.defer_callback(event.event_id, owner=self.owner, until=now)
        failed, self._failed = self._failed, []
        for event in failed:
            dead = self.backoff.dead(event.created_at, now)
            await self.outbox.callback_failed(
                event.event_id,
                owner=self.owner,
                status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
                next_at=now + self.backoff.delay(event.attempts + 1),
                error="deliver_sm refused by the client",
            )

    async def _claim(self) -> int:
        rooms = {
            system_id: sum(link.deliver_room for link in links)
            for system_id, links in self._receivers.items()
        }
        urls = [SMPP_URL_PREFIX + s for s, room in rooms.items() if room > 0]
        room = sum(rooms.values())
        if not urls:
            return 0
        events = await self.outbox.claim_callbacks_for(
            urls, owner=self.owner, now=self.clock(), lease=_LEASE, limit=min(room, 2000)
        )
        for event in events:
            try:
                await self._send(event)
            except StoreError:
                raise
            except Exception as exc:
                # One receipt that cannot be built is parked for people, not retried.
                _log.exception("receipt not sent", event_id=event.event_id)
                await self.outbox.callback_failed(
                    event.event_id,
                    owner=self.owner,
                    status=OutboxStatus.DEAD,
                    next_at=self.clock(),
                    error=f"receipt cannot be built: {exc}"[:300],
                )
        return len(events)

    async def _send(self, event: OutboxEvent) -> None:
        system_id = event.url.removeprefix(SMPP_URL_PREFIX)
        account = self.accounts.by_system_id.get(system_id)
        if event.event == MO_EVENT and account is not None:
            self._send_mo(system_id, event)
            return
        facts = await self._facts_of(event.message_id)
        if account is None or facts is None or event.message_id is None:
            # A credential removed from the settings, or a message gone: parked for people.
            await self.outbox.callback_failed(
                event.event_id,
                owner=self.owner,
                status=OutboxStatus.DEAD,
                next_at=self.clock(),
                error="no such SMPP account or message",
            )
            return
        named = event.message_id if facts.receipt_id is None else facts.receipt_id
        pdu = receipt_pdu(account.format_id(named), event.event, facts, event.occurred_at)
        links = self._receivers.get(system_id, [])
        for _ in range(len(links)):
            self._turn = (self._turn + 1) % len(links)
            if links[self._turn].send_deliver(pdu, event):
                self._in_flight[event.event_id] = event
                self._facts.pop(event.message_id, None)
                return
        self._released.append(event)

    def _send_mo(self, system_id: str, event: OutboxEvent) -> None:
        """An MO for the client: over one link, all its parts (if a 3.3 bind needs them)."""
        links = self._receivers.get(system_id, [])
        for _ in range(len(links)):
            self._turn = (self._turn + 1) % len(links)
            link = links[self._turn]
            pdus = mo_pdus(event.payload, link.interface_version)
            if link.deliver_room < len(pdus):
                continue
            context: OutboxEvent | _Parts = event if len(pdus) == 1 else _Parts(event, len(pdus))
            sent = 0
            for pdu in pdus:
                if not link.send_deliver(pdu, context):
                    break
                sent += 1
            if sent == len(pdus):
                self._in_flight[event.event_id] = event
                return
            if sent:
                # Some parts went and the rest cannot: they come back with the event.
                assert isinstance(context, _Parts)
                context.left = sent
                context.failed = True
                self._in_flight[event.event_id] = event
                return
        self._released.append(event)

    async def _facts_of(self, message_id: int | None) -> MessageFacts | None:
        if message_id is None:
            return None
        facts = self._facts.get(message_id)
        if facts is not None:
            return facts
        view = await self.store.get(message_id)
        if view is None:
            return None
        try:
            ton, npi, _ = sender_address(view.source)
        except ValueError:
            ton, npi = 5, 0
        named = (await self.store.receipt_ids([message_id])).get(message_id)
        return MessageFacts(
            view.source, ton, npi, view.destination, 1, 1, view.created_at, view.text, named
        )


class _Parts:
    """The deliver_sm parts of one MO event still to be answered."""

    __slots__ = ("done", "event", "failed", "left")

    def __init__(self, event: OutboxEvent, parts: int) -> None:
        self.event = event
        self.left = parts
        self.failed = False
        self.done = False


def _unsent(item: Pending) -> list[UnsuccessSme]:
    """submit_multi's destinations the gateway did not take (distribution lists)."""
    from ..protocol import SmeAddress, SubmitMulti  # noqa: PLC0415

    pdu = item.pdu
    if not isinstance(pdu, SubmitMulti):
        return []
    return [
        UnsuccessSme(0, 0, "", CommandStatus.ESME_RINVDLNAME)
        for a in pdu.dest_addresses
        if not isinstance(a, SmeAddress)
    ]


def _peer(stream: trio.abc.Stream) -> str:
    inner: Any = getattr(stream, "transport_stream", stream)
    try:
        host, port = inner.socket.getpeername()[:2]
    except (AttributeError, OSError, ValueError):
        return "?"
    return f"{host}:{port}"
