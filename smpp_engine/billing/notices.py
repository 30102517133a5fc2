"""Queueing notices, and reading a notice's or a reply's fate from the message that carries it.

A notice row names its gateway message (``message_id``); the message record
holds the SMPP message ids the SMSC gave its parts, its state and its receipts.
A disconnection warning's deadline counts from that message's delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from billing_core import LEGALLY_REQUIRED, DeliveryState, NoticeRecord, attempt_of
from throttling import Priority

from ..protocol import plan_text, sender_address
from ..routing import MessageFacts, MessageKind, RouteChoice, RoutingTable
from ..store import BillingStore, MessageState, NewMessage, Store, StoredNotice, delivery_state
from .service import ReplyQueue, route_text

__all__ = [
    "MessageFate",
    "load_notice",
    "message_fate",
    "notice_route",
    "queue_notices",
    "recent_notices",
    "reply_fate",
]

_DEFAULT_SENDER = "INFO"


@dataclass(frozen=True, slots=True)
class MessageFate:
    """A gateway message as its delivery tells it.

    ``smsc_message_ids`` are its parts' ids at the SMSC, in part order (only the
    parts the SMSC accepted); ``delivered_at`` is when its last part was
    delivered (the receipt's done date, else its arrival), once all were.
    """

    message_id: int
    state: MessageState
    smsc_message_ids: tuple[str, ...]
    delivered_at: datetime | None

    @property
    def delivery(self) -> DeliveryState:
        return delivery_state(self.state)


async def message_fate(store: Store, message_id: int) -> MessageFate | None:
    """The fate of one gateway message, or None when the store has no such message."""
    view = await store.get(message_id)
    if view is None:
        return None
    parts = sorted(view.part_views, key=lambda p: p.part)
    delivered_at = None
    if view.state is MessageState.DELIVERED:
        stamps = [p.done_at or p.receipt_at for p in parts]
        if stamps and all(s is not None for s in stamps):
            delivered_at = datetime.fromtimestamp(max(s for s in stamps if s is not None), UTC)
    return MessageFate(
        message_id,
        view.state,
        tuple(p.smsc_message_id for p in parts if p.smsc_message_id),
        delivered_at,
    )


async def load_notice(billing: BillingStore, store: Store, notice_id: int) -> NoticeRecord | None:
    """The notice with its SMPP message ids, delivery state and delivery time, or None."""
    stored = await billing.load_notice(notice_id)
    return None if stored is None else await _with_fate(store, stored)


async def recent_notices(
    billing: BillingStore, store: Store, account_number: str, *, limit: int = 20
) -> list[tuple[StoredNotice, NoticeRecord]]:
    """The account's last notices, newest first, each as stored and with its fate."""
    stored = await billing.recent_notices(account_number, limit=limit)
    return [(notice, await _with_fate(store, notice)) for notice in stored]


async def _with_fate(store: Store, stored: StoredNotice) -> NoticeRecord:
    if stored.message_id is None:
        return stored.notice
    fate = await message_fate(store, stored.message_id)
    if fate is None:
        return stored.notice
    return replace(
        stored.notice,
        message_ids=fate.smsc_message_ids,
        state=fate.delivery,
        delivered_at=fate.delivered_at,
    )


def notice_route(routing: RoutingTable, notice: NoticeRecord, source: str) -> RouteChoice:
    """Where ``routing`` sends ``notice``, read at the moment it is to go out.

    A disconnection warning sent again (attempt ``n`` of its key) starts ``n``
    routes further along its rule's plan: the route that carried the attempt
    with no receipt may be why none came. The weighted draw is the warning's
    own (its first key), so the attempts walk one plan.
    """
    kind = MessageKind.WARNING if notice.kind in LEGALLY_REQUIRED else MessageKind.NOTICE
    base, attempt = attempt_of(notice.key or f"notice:{notice.id}")
    at = (notice.send_at or notice.created_at).timestamp()
    choice = routing.choose(MessageFacts(notice.msisdn, source, kind, key=base), at)
    plan = choice.plan
    if attempt and len(plan) > 1:
        shift = attempt % len(plan)
        plan = (*plan[shift:], *plan[:shift])
    return RouteChoice(plan[0], choice.rule, plan)


async def reply_fate(billing: BillingStore, store: Store, mo_message_id: str) -> MessageFate | None:
    """The fate of the reply to an MO message; None when no reply was queued for it."""
    message_id = await billing.reply_message_id(mo_message_id)
    return None if message_id is None else await message_fate(store, message_id)


async def queue_notices(
    billing: BillingStore,
    queue: ReplyQueue,
    notices: Sequence[NoticeRecord],
    *,
    route: str,
    priority: Priority = Priority.TRANSACTIONAL,
    routing: RoutingTable | None = None,
) -> list[int]:
    """Queue saved ``notices`` (with ids) on ``route`` and link each to its message.

    With ``routing`` each notice goes where the routing table sends its kind
    (``warning`` for the notices the law requires, ``notice`` for the others);
    see :func:`notice_route`.

    Each message's idempotency key is the notice's key (a notices run's, see
    :func:`billing_core.notice_key`), else ``notice:{id}``: queueing a notice again
    (a retry after a crash) returns its message, sends nothing twice. Returns
    the message ids, in order. A notice with a ``send_at`` waits until then.
    """
    if not notices:
        return []
    settings = await billing.load_settings()
    ton, npi, source = sender_address(settings.sender_id or _DEFAULT_SENDER)
    messages = []
    for notice in notices:
        if notice.id is None:
            raise ValueError(f"notices: a notice must be saved first, got {notice!r}")
        choice = None if routing is None else notice_route(routing, notice, source)
        smsc = route if choice is None else choice.route
        profile, method = route_text(queue, smsc)
        messages.append(
            NewMessage(
                smsc=smsc,
                source=source,
                source_ton=ton,
                source_npi=npi,
                destination=notice.msisdn,
                text=notice.text,
                parts=plan_text(notice.text, profile, method).parts,
                priority=priority,
                not_before=0.0 if notice.send_at is None else notice.send_at.timestamp(),
                idempotency_key=notice.key or f"notice:{notice.id}",
                route_rule=None if choice is None else choice.rule,
                route_plan=() if choice is None else choice.plan,
            )
        )
    accepted = await queue.accept(messages)
    ids = [a.message_id for a in accepted]
    await billing.link_notices(
        [(n.id, m) for n, m in zip(notices, ids, strict=True) if n.id is not None]
    )
    return ids
