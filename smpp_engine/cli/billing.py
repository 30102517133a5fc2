"""``smpp-engine billing ...``: load billing data, run one consumer SMS through the service,
post a payment, close a billing month.

``billing sms`` does what the gateway does with an MO message, against the
configured store: the reply is queued (with interactive priority) for a running
gateway to send, and printed with its encoding and part count.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from .errors import EXIT_FAILED, fail
from .moments import moment_option
from .store import ConfigOpt, StoreOpt, opened_store, store_url

if TYPE_CHECKING:
    # The engine loads inside each command: the group's --help needs none of it.
    from billing_core import Period, PeriodCloseSummary

billing_app = typer.Typer(
    help="Utility billing by SMS: load data, try a consumer's SMS.", no_args_is_help=True
)
Opt = typer.Option
Arg = typer.Argument


@billing_app.command("import")
def billing_import(
    file: Annotated[Path, Arg(help="A billing JSON document (see config/billing-example.json).")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Load utilities, accounts, bindings, meters, tariffs, readings and payments.

    Refused rows are listed by section, row, item and field; the rest is loaded.
    Ends with one JSON line; exit status 1 when any row was refused.
    """
    import trio  # noqa: PLC0415 - see the imports

    from .. import logs  # noqa: PLC0415
    from ..store import (  # noqa: PLC0415
        BillingStore,
        StoreError,
        import_billing_data,
        load_billing_json,
    )

    logs.configure("warning")
    try:
        data = load_billing_json(str(file))
    except OSError as exc:
        raise fail(f"{file}: cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise fail(f"{file}: {exc}") from None
    url = store_url(store, config)

    async def work() -> Any:
        async with opened_store(url) as opened:
            return await import_billing_data(cast(BillingStore, opened), data)

    try:
        report = trio.run(work)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    for problem in report.problems:
        typer.echo(
            f"{problem.section}[{problem.index}] {problem.item}: {problem.field}: "
            f"{problem.message}",
            err=True,
        )
    refused = [
        {"section": p.section, "row": p.index, "item": p.item, "field": p.field, "why": p.message}
        for p in report.problems
    ]
    typer.echo(json.dumps({"written": dict(report.written), "refused": refused}))
    if report.problems:
        raise typer.Exit(1)


class _Queue:
    """Replies go straight into the store, for the gateway to send."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def accept(self, messages: Any) -> Any:
        return await self.store.accept(messages, now=time.time())


class _NoAck:
    """The CLI has no SMSC to answer."""

    def ack(self, ok: bool = True) -> None:
        return None


@billing_app.command("sms")
def billing_sms(  # noqa: PLR0917 - one parameter per command-line option
    sender: Annotated[str, Opt("--from", help="The consumer's number (MSISDN).")],
    text: Annotated[str, Opt(help="What the consumer wrote.")],
    to: Annotated[str, Opt(help="The utility's short code it was sent to.")] = "5566",
    route: Annotated[str, Opt(help="The gateway route the reply is queued on.")] = "default",
    now: Annotated[str | None, Opt(help="Process as of this ISO time (tests, demos).")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Process one SMS as the gateway would; print the reply; end with one JSON line.

    The store needs billing data first (billing import).
    """
    import trio  # noqa: PLC0415 - see the imports

    from .. import logs  # noqa: PLC0415
    from ..billing import SmsSelfService  # noqa: PLC0415
    from ..campaigns import CampaignError, normalise_msisdn  # noqa: PLC0415
    from ..pipeline import MoMessage  # noqa: PLC0415
    from ..store import BillingStore, NoBillingUtilityError, StoreError  # noqa: PLC0415

    logs.configure("warning")
    try:
        # The reply goes back to this number: it must be one, not a word.
        consumer = normalise_msisdn(sender)
    except CampaignError as exc:
        raise fail(f"--from {sender!r}: not a phone number ({exc.reason})") from None
    at = moment_option(now)
    url = store_url(store, config)

    async def work() -> dict[str, Any]:
        async with opened_store(url) as opened:
            billing = cast(BillingStore, opened)
            queue = _Queue(opened)
            service = SmsSelfService(
                billing, await billing.load_settings(), queue, route=route, clock=at.timestamp
            )
            message = MoMessage(
                smsc=route,
                source=consumer,
                destination=to,
                text=text,
                data_coding=0,
                parts=1,
                received_at=time.time(),
                mo_id=f"cli-{uuid.uuid4().hex}",
                last=cast(Any, _NoAck()),
            )
            outcome = await service.handle(message)
            reply = outcome.reply
            return {
                "status": outcome.status.name.lower(),
                "account": outcome.account_number,
                "reply": reply.text if reply else None,
                "parts": reply.parts if reply else 0,
                "encoding": reply.alphabet.name if reply else None,
                "data_coding": reply.data_coding if reply else None,
                "balance_after": str(outcome.balance_after)
                if outcome.balance_after is not None
                else None,
                # The outcome's id: a balance request is stored under its window's id.
                "queued": int(await billing.reply_message_id(outcome.mo_message_id) is not None),
            }

    try:
        result = trio.run(work)
    except NoBillingUtilityError:
        raise fail(
            "the store holds no billing data: run smpp-engine billing import FILE first "
            "(e.g. config/billing-example.json)"
        ) from None
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if result["reply"]:
        typer.echo(result["reply"])
        typer.echo(f"({result['encoding']}, {result['parts']} part(s))")
    typer.echo(json.dumps(result, ensure_ascii=False))


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise fail(f"AMOUNT {text!r}: not a number") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise fail(f"AMOUNT {text!r}: a positive sum with at most 2 decimals")
    return amount


def _period(text: str | None) -> Period | None:
    from billing_core import Period  # noqa: PLC0415 - see the imports

    if text is None:
        return None
    year, _, month = text.partition("-")
    try:
        return Period.checked(int(year), int(month))
    except ValueError:
        raise fail(f"--period {text!r}: expected YYYY-MM") from None


@billing_app.command("payment")
def billing_payment(  # noqa: PLR0917 - one parameter per command-line option
    account: Annotated[str, Arg(help="The account number.")],
    amount: Annotated[str, Arg(help="The sum paid, e.g. 1027.20.")],
    reference: Annotated[
        str | None, Opt(help="The payment system's id (posting it twice changes nothing).")
    ] = None,
    period: Annotated[str | None, Opt(help="The month the payer named, YYYY-MM.")] = None,
    route: Annotated[str, Opt(help="The gateway route confirmations are queued on.")] = "default",
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Post a payment (named period, else oldest debt, principal before penalties).

    The confirmation with the new balance is queued for every phone of the
    account, with transactional priority. Ends with one JSON line.
    """
    import trio  # noqa: PLC0415 - see the imports

    from billing_core import Payment  # noqa: PLC0415

    from .. import logs  # noqa: PLC0415
    from ..billing import post_and_confirm  # noqa: PLC0415
    from ..store import BillingStore, StoreError  # noqa: PLC0415

    logs.configure("warning")
    paid = _amount(amount)
    named = _period(period)
    now = datetime.now(UTC)
    payment = Payment(
        account_number=account,
        amount=paid,
        paid_on=now.date(),
        reference=reference or f"cli-{uuid.uuid4().hex}",
        period=named,
    )

    url = store_url(store, config)

    async def work() -> dict[str, Any]:
        async with opened_store(url) as opened:
            posted = await post_and_confirm(
                cast(BillingStore, opened), _Queue(opened), payment, route=route, now=now
            )
        if posted.duplicate:
            return {"account": account, "reference": payment.reference, "duplicate": True}
        return {
            "account": account,
            "reference": payment.reference,
            "paid": str(paid),
            "balance_after": str(posted.balance_after),
            "confirmations": list(posted.confirmations),
            "message_ids": list(posted.message_ids),
            "duplicate": False,
        }

    try:
        result = trio.run(work)
    except LookupError as exc:  # UnknownAccountError
        raise fail(f"account {account!r}: {exc}") from None
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    for text in result.get("confirmations", []):
        typer.echo(text)
    typer.echo(json.dumps(result, ensure_ascii=False))


def _closed_period(text: str) -> Period:
    from billing_core import Period  # noqa: PLC0415 - see the imports

    year, dash, month = text.partition("-")
    if not (dash and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
        raise fail(f"PERIOD {text!r}: expected YYYY-MM, e.g. 2024-03")
    try:
        return Period.checked(int(year), int(month))
    except ValueError:
        raise fail(f"PERIOD {text!r}: not a month") from None


class _NotOverError(Exception):
    """The month to close has not ended in the utility's time zone."""

    def __init__(self, time_zone: str) -> None:
        super().__init__(time_zone)
        self.time_zone = time_zone


def _summary_json(summary: PeriodCloseSummary) -> dict[str, Any]:
    return {
        "period": str(summary.period),
        "accounts": summary.accounts,
        "estimated_accounts": summary.estimated_accounts,
        "estimated_meters": summary.estimated_meters,
        "fixed_charges": summary.fixed_charges,
        "penalties": summary.penalties,
        "penalty_amount": str(summary.penalty_amount),
        "charged": str(summary.charged),
        "no_basis": list(summary.no_basis),
        "failed": [{"account": number, "why": why} for number, why in summary.failed],
    }


@billing_app.command("close-period")
def billing_close_period(  # noqa: PLR0917 - one parameter per command-line option
    period: Annotated[str, Arg(help="The month to close, YYYY-MM (e.g. 2024-03).")],
    utility: Annotated[
        str | None, Opt(help="The utility whose accounts are closed (default: the default one).")
    ] = None,
    now: Annotated[str | None, Opt(help="Close as of this ISO time (tests, demos).")] = None,
    as_json: Annotated[bool, Opt("--json", help="End with one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Close a billing month for every open account of the utility.

    A meter with no accepted reading in the month is billed an estimate (its
    average daily use times the month's days, else the utility's expected daily
    use); every service not yet billed the month's fixed charge gets it; overdue
    debts accrue their penalties up to the month's last day. Running it again
    bills nothing more. Exit status 1 when an account could not be priced.
    """
    import trio  # noqa: PLC0415 - see the imports

    from billing_core import period_over  # noqa: PLC0415

    from .. import logs  # noqa: PLC0415
    from ..store import BillingStore, NoBillingUtilityError, StoreError  # noqa: PLC0415

    logs.configure("warning")
    month = _closed_period(period)
    at = moment_option(now)
    url = store_url(store, config)

    async def work() -> PeriodCloseSummary:
        async with opened_store(url) as opened:
            billing = cast(BillingStore, opened)
            settings = await billing.load_settings(utility)
            if not period_over(month, at, settings):
                # Its meters may still be read: an estimate now would bill a guess for them.
                raise _NotOverError(settings.time_zone)
            return await billing.close_period(month, now=at, utility_id=utility)

    try:
        summary = trio.run(work)
    except _NotOverError as exc:
        raise fail(
            f"PERIOD {period}: the month has not ended yet in the utility's time zone "
            f"({exc.time_zone}: it ends {month.end} 00:00)"
        ) from None
    except NoBillingUtilityError as exc:
        raise fail(f"--utility {utility!r}: {exc}" if utility else str(exc)) from None
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    typer.echo(
        f"{summary.period} closed: {summary.accounts} account(s); "
        f"{summary.estimated_accounts} estimated ({summary.estimated_meters} meter(s)); "
        f"{summary.fixed_charges} fixed charge(s); {summary.penalties} penalty(ies) "
        f"of {summary.penalty_amount}; {len(summary.no_basis)} with no basis for an estimate"
    )
    for number in summary.no_basis:
        typer.echo(f"  {number}: no basis for an estimate (no history, no expected daily use)")
    for number, why in summary.failed:
        typer.echo(f"  {number}: not closed: {why}", err=True)
    if as_json:
        typer.echo(json.dumps(_summary_json(summary), ensure_ascii=False))
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)
