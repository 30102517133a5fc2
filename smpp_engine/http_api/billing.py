"""A utility account over HTTP: its summary, and posting a payment.

A payment goes through :func:`~smpp_engine.billing.post_and_confirm`, as
``smpp-engine billing payment`` does: posted once per reference, its
confirmation queued for every phone of the account. Money travels as decimal
strings; a JSON number is refused, so no sum is ever a float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from billing_core import AccountSnapshot, BillingError, Payment, Period

from ..billing import account_warnings, post_and_confirm, recent_notices
from ..protocol import plan_text
from ..store import Accepted, BillingStore, NewMessage, UnknownAccountError
from ..views import billing_account_json
from .answers import Account, PaymentKnown, PaymentPosted, respond
from .bodies import parse_body, path_text, read_json
from .context import ApiContext
from .errors import ApiError, invalid

__all__ = ["PipelineQueue", "get_account", "post_payment"]

_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_PERIOD = re.compile(r"^([0-9]{4})-([0-9]{2})$")


class PaymentBody(BaseModel):
    """The body of ``POST /v1/billing/accounts/{account}/payments``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="A decimal string above 0 with at most 2 decimals, never a JSON number.",
            json_schema_extra={"pattern": _AMOUNT.pattern},
        ),
    ]
    reference: Annotated[str, Field(min_length=1, max_length=128)]
    period: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=16,
                description="The billing month paid for (YYYY-MM).",
                json_schema_extra={"pattern": _PERIOD.pattern},
            ),
        ]
        | None
    ) = None


class PipelineQueue:
    """The pipeline's accept, as the billing service's reply queue."""

    def __init__(self, context: ApiContext) -> None:
        self._context = context

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        return await self._context.accept(messages)


def _billing(context: ApiContext) -> BillingStore:
    # Both stores are billing repositories; the context is typed by the message interface.
    return cast(BillingStore, context.store)


def _amount(text: str) -> Decimal:
    if not _AMOUNT.match(text):
        raise invalid("amount", text, "a decimal string above 0 with at most 2 decimals")
    amount = Decimal(text)
    if amount <= 0:
        raise invalid("amount", text, "a decimal string above 0 with at most 2 decimals")
    return amount


def _period(text: str | None) -> Period | None:
    if text is None:
        return None
    match = _PERIOD.match(text)
    if match is None:
        raise invalid("period", text, "expected YYYY-MM")
    try:
        return Period.checked(int(match[1]), int(match[2]))
    except BillingError:
        raise invalid("period", text, "not a billing month") from None


def _account(request: Request) -> str:
    return path_text(request, "account", "account", max_length=64)


async def get_account(context: ApiContext, request: Request) -> Response:
    """Balance, debts by period, phones, the meters with their last readings, the last
    notices with their delivery, and the disconnection warnings with their proof."""
    account = _account(request)
    billing = _billing(context)
    now = datetime.fromtimestamp(context.clock(), UTC)
    try:
        ledger = await billing.load_ledger(account)
        notices = await billing.load_notice_context(account, now=now)
    except UnknownAccountError:
        raise ApiError(404, "not found", f"no account {account!r}") from None
    snapshot: AccountSnapshot | None = None
    if notices.bindings:
        # The store loads meters and readings for a bound phone; any of the
        # account's phones names the same account. The MO id is only looked up.
        loaded = await billing.load_context(
            msisdn=notices.bindings[0].msisdn,
            account_number=account,
            mo_message_id="",
            now=now,
        )
        snapshot = loaded.account
    sent = await recent_notices(billing, context.store, account)
    warnings = await account_warnings(
        billing,
        context.store,
        account,
        now=now,
        wait=context.warning_wait,
        retries=context.warning_retries,
    )
    return respond(
        Account.model_validate(billing_account_json(ledger, notices, snapshot, sent, warnings))
    )


async def post_payment(context: ApiContext, request: Request) -> Response:
    account = _account(request)
    body = parse_body(PaymentBody, await read_json(request))
    now = datetime.fromtimestamp(context.clock(), UTC)
    payment = Payment(
        account_number=account,
        amount=_amount(body.amount),
        paid_on=now.date(),
        reference=body.reference,
        period=_period(body.period),
    )
    # Confirmations go on the billing route, as the notices do, sized as it sends text.
    route = context.billing_route or context.routes[0]
    text = context.route_text(route)
    try:
        posted = await post_and_confirm(
            _billing(context),
            PipelineQueue(context),
            payment,
            route=route,
            now=now,
            routing=context.routing,
            sizer=partial(plan_text, profile=text.profile, method=text.method),
        )
    except UnknownAccountError:
        raise ApiError(404, "not found", f"no account {account!r}") from None
    except BillingError as exc:
        raise invalid(exc.field or "payment", exc.value, exc.reason) from None
    if posted.duplicate:
        # It names the confirmations an earlier attempt left unqueued.
        known = PaymentKnown(
            account=account,
            reference=payment.reference,
            duplicate=True,
            confirmations=list(posted.confirmations),
            message_ids=list(posted.message_ids),
        )
        return respond(known, 200)
    answer = PaymentPosted(
        account=account,
        reference=payment.reference,
        duplicate=False,
        confirmations=list(posted.confirmations),
        message_ids=list(posted.message_ids),
        paid=str(posted.paid),
        balance_after=str(posted.balance_after),
    )
    return respond(answer, 201)
