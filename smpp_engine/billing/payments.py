"""Posting a payment and queueing its confirmations, for the CLI and the HTTP API alike.

The payment is saved first (idempotent on its reference), then one confirmation
notice per phone of the account is saved and queued with transactional
priority. Each queued message carries the idempotency key ``notice:{id}``, so
posting the same payment again queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_core import Payment, payment_confirmations, post_payment
from throttling import Priority

from ..protocol import plan_text, sender_address
from ..store import BillingStore, NewMessage
from .service import ReplyQueue

__all__ = ["PaymentResult", "post_and_confirm"]

_DEFAULT_SENDER = "INFO"


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What posting one payment did; ``duplicate`` when its reference was already posted."""

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
) -> PaymentResult:
    """Post ``payment`` to its account and queue the confirmations on ``route``.

    Raises the store's ``UnknownAccountError`` (a ``LookupError``) for an
    account it does not know, and ``StoreError`` when the store fails.
    """
    posting = post_payment(await billing.load_ledger(payment.account_number), payment)
    if not await billing.save_payment(posting):
        return PaymentResult(payment.account_number, payment.reference, duplicate=True)
    settings = await billing.load_settings()
    context = await billing.load_notice_context(payment.account_number, now=now)
    notices = payment_confirmations(context, posting, now)
    notice_ids = await billing.save_notices(notices)
    ton, npi, source = sender_address(settings.sender_id or _DEFAULT_SENDER)
    messages: Sequence[NewMessage] = [
        NewMessage(
            smsc=route,
            source=source,
            source_ton=ton,
            source_npi=npi,
            destination=notice.msisdn,
            text=notice.text,
            parts=plan_text(notice.text).parts,
            priority=int(Priority.TRANSACTIONAL),
            idempotency_key=f"notice:{notice_id}",
        )
        for notice, notice_id in zip(notices, notice_ids, strict=True)
    ]
    accepted = await queue.accept(messages) if messages else []
    return PaymentResult(
        account=payment.account_number,
        reference=payment.reference,
        duplicate=False,
        paid=payment.amount,
        balance_after=posting.balance_after,
        confirmations=tuple(notice.text for notice in notices),
        message_ids=tuple(a.message_id for a in accepted),
    )
