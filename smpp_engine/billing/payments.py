"""Posting a payment and queueing its confirmations, for the CLI and the HTTP API alike.

The payment and one confirmation notice per phone of the account are saved in
one transaction; then the notices not queued yet are queued with transactional
priority (idempotency key ``notice:{id}``) and linked to their messages. A
crash between the two steps loses nothing: posting the same reference again is
a duplicate, but it still queues the confirmations that are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_core import (
    NoticeRecord,
    Payment,
    PaymentPosting,
    TextSizer,
    payment_confirmations,
    post_payment,
)

from ..routing import RoutingTable
from ..store import BillingStore
from .notices import queue_notices
from .service import ReplyQueue, route_sizer

__all__ = ["PaymentResult", "post_and_confirm"]


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What posting one payment did; ``duplicate`` when its reference was already posted.

    A duplicate still names the confirmations it queued because an earlier
    attempt stopped before queueing them.
    """

    account: str
    reference: str
    duplicate: bool
    paid: Decimal | None = None
    balance_after: Decimal | None = None
    confirmations: tuple[str, ...] = ()
    message_ids: tuple[int, ...] = ()


async def post_and_confirm(
    billing: BillingStore,
    queue: ReplyQueue,
    payment: Payment,
    *,
    route: str,
    now: datetime,
    routing: RoutingTable | None = None,
    sizer: TextSizer | None = None,
) -> PaymentResult:
    """Post ``payment`` to its account and queue the confirmations on ``route``.

    ``sizer`` sizes the confirmation as ``route`` sends it (its SMSC's text profile
    and concatenation); without it, the pipeline ``queue`` says, else the defaults.
    Raises the store's ``UnknownAccountError`` (a ``LookupError``) for an
    account it does not know, and ``StoreError`` when the store fails.
    """
    if sizer is None:
        sizer = route_sizer(queue, route)
    context = await billing.load_notice_context(payment.account_number, now=now)
    posting = post_payment(await billing.load_ledger(payment.account_number), payment)
    kept: list[PaymentPosting] = []

    def confirmations(stored: PaymentPosting) -> list[NoticeRecord]:
        kept.append(stored)
        return list(payment_confirmations(context, stored, now, sizer=sizer))

    saved = await billing.save_payment_with_notices(posting, confirmations)
    pending = await billing.unqueued_notices(payment.reference)
    message_ids = await queue_notices(billing, queue, pending, route=route, routing=routing)
    if not saved:
        return PaymentResult(
            payment.account_number,
            payment.reference,
            duplicate=True,
            confirmations=tuple(n.text for n in pending),
            message_ids=tuple(message_ids),
        )
    stored = kept[-1] if kept else posting
    return PaymentResult(
        account=payment.account_number,
        reference=payment.reference,
        duplicate=False,
        paid=payment.amount,
        balance_after=stored.balance_after,
        confirmations=tuple(n.text for n in pending),
        message_ids=tuple(message_ids),
    )
