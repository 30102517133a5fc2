"""``smpp-engine notices plan|run``: the utility's debt notices, disconnection warnings,
reading and payment reminders and meter verification invitations, for every account,
once per period.

``plan`` previews (nothing is stored): each account's notices in or out, and why.
``run`` stores the notices that go and queues them in the store for a running
gateway to send; a second run of the period queues nothing, and a run after an
interrupted one completes it. Quiet hours and caps are the settings' ``[notices]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, cast

import trio
import typer

from billing_core import NoticeVerdict, ProofStatus

from .. import logs
from ..billing import (
    RUN_YEARS,
    NoticeRunSummary,
    WarningFollowUp,
    follow_up_warnings,
    run_notices,
)
from ..protocol import Concatenation, plan_text
from ..settings import Settings
from ..store import BillingStore, NoBillingUtilityError, StoreError
from .errors import EXIT_FAILED, fail
from .jobs import jobs
from .moments import moment_option
from .store import ConfigOpt, StoreOpt, StoreQueue, opened_store, settings_or_exit, store_url

notices_app = typer.Typer(
    help="Debt notices, disconnection warnings and reminders for every account.",
    no_args_is_help=True,
)
Opt = typer.Option

# The notices run is one of the gateway's scheduled jobs: the listing is
# `smpp-engine jobs` itself under the name the notices' operators look for.
notices_app.command(
    "jobs",
    help="The scheduled jobs, the day's notices among them: the same listing as "
    "`smpp-engine jobs` (when each is next due, its last run, who holds it; times UTC).",
)(jobs)

NowOpt = Annotated[str | None, Opt(help="Decide as of this ISO time with its zone (default: now).")]
UtilityOpt = Annotated[
    str | None, Opt(help="The utility whose accounts are run (default: the default one).")
]
RouteOpt = Annotated[
    str | None, Opt(help="The gateway route notices are queued on (default: [billing] route).")
]


def _now(text: str | None) -> datetime:
    at = moment_option(text)
    if at.year not in RUN_YEARS:
        raise fail(f"--now {text!r}: a year from {RUN_YEARS.start} to {RUN_YEARS.stop - 1}")
    return at


def _verdict_line(verdict: NoticeVerdict) -> str:
    goes = "in" if verdict.goes else "out"
    service = f" ({verdict.service.value})" if verdict.service is not None else ""
    until = f" until {verdict.until.isoformat()}" if verdict.until is not None else ""
    return (
        f"{verdict.account_number} {verdict.kind.value}{service} {verdict.msisdn or '-'} "
        f"{goes} {verdict.reason.value}{until}"
    )


def _summary_lines(summary: NoticeRunSummary) -> list[str]:
    lines = [f"{summary.accounts} account(s) at {summary.now.isoformat()}"]
    for kind, n in summary.going().items():
        held = summary.held().get(kind, 0)
        lines.append(f"  {kind}: {n} to send ({held} after quiet hours)")
    for kind, reasons in summary.skipped().items():
        why = ", ".join(f"{reason} {n}" for reason, n in reasons.items())
        lines.append(f"  {kind}: not sent: {why}")
    return lines


def _run(
    settings: Settings,
    url: str,
    *,
    now: datetime,
    queue: bool,
    dry_run: bool,
    utility: str | None,
    route: str | None,
    on_verdicts: Any = None,
) -> NoticeRunSummary:
    chosen = route or settings.billing.route
    smsc = next((s for s in settings.smsc if s.name == chosen), None)
    # Sized as the route's SMSC takes text (a route not in the settings: the defaults).
    sizer = (
        None
        if smsc is None
        else partial(
            plan_text, profile=smsc.text_profile(), method=Concatenation(smsc.concatenation)
        )
    )

    async def work() -> NoticeRunSummary:
        async with opened_store(url) as opened:
            return await run_notices(
                cast(BillingStore, opened),
                StoreQueue(opened) if queue else None,
                now=now,
                route=chosen,
                dry_run=dry_run,
                utility_id=utility,
                adjust=settings.notices.apply_to,
                on_verdicts=on_verdicts,
                sizer=sizer,
                # A route named on the command line is the route: no rule moves it.
                routing=None if route else settings.routing_table(),
            )

    try:
        return trio.run(work)
    except NoBillingUtilityError as exc:
        if utility:
            raise fail(f"--utility {utility!r}: {exc}") from None
        raise fail(
            "the store holds no billing data: run smpp-engine billing import FILE first "
            "(e.g. config/billing-example.json)"
        ) from None
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None


@notices_app.command("plan")
def notices_plan(
    now: NowOpt = None,
    utility: UtilityOpt = None,
    as_json: Annotated[bool, Opt("--json", help="End with one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Preview a notices run: per account and kind, in or out and why; nothing is stored.

    Each line: ACCOUNT KIND PHONE in|out REASON [until TIME]; then the counts by
    kind and by reason.
    """
    logs.configure("warning")
    at = _now(now)
    settings = settings_or_exit(config)
    url = store_url(store, config)

    def show(verdicts: Sequence[NoticeVerdict]) -> None:
        for verdict in verdicts:
            typer.echo(_verdict_line(verdict))

    summary = _run(
        settings, url, now=at, queue=False, dry_run=True, utility=utility, route=None,
        on_verdicts=show,
    )  # fmt: skip
    for line in _summary_lines(summary):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(summary.to_json()))


@notices_app.command("run")
def notices_run(  # noqa: PLR0917 - one parameter per command-line option
    now: NowOpt = None,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Decide and count, store and queue nothing.")
    ] = False,
    utility: UtilityOpt = None,
    route: RouteOpt = None,
    as_json: Annotated[bool, Opt("--json", help="Print only the JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Queue the notices due for every account, once per period; end with one JSON line.

    Debt notices, reminders and verification invitations go with bulk priority, disconnection
    warnings with transactional priority; a notice in the consumer's quiet hours
    waits for their end. Running it again for the period queues nothing.
    """
    logs.configure("warning")
    at = _now(now)
    settings = settings_or_exit(config)
    url = store_url(store, config)
    summary = _run(settings, url, now=at, queue=True, dry_run=dry_run, utility=utility, route=route)
    if not as_json:
        for line in _summary_lines(summary):
            typer.echo(line)
        queued = sum(summary.queued.values())
        typer.echo(f"queued {queued} notice(s), {summary.resumed} left by an earlier run")
    typer.echo(json.dumps(summary.to_json()))


@notices_app.command("warnings")
def notices_warnings(
    now: NowOpt = None,
    utility: UtilityOpt = None,
    as_json: Annotated[bool, Opt("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Disconnection warnings and their proof: delivered, awaited, due again, or unreached.

    Each line: ACCOUNT PHONE STATUS, the attempts and the delivery time; the
    unreached ones are to be sent on paper. The gateway sends the warnings due
    again itself (with the day's notices); this lists, it sends nothing.
    """
    at = _now(now)
    settings = settings_or_exit(config)
    url = store_url(store, config)
    notices = settings.notices

    async def work() -> WarningFollowUp:
        async with opened_store(url) as opened:
            return await follow_up_warnings(
                cast(BillingStore, opened),
                opened,
                None,
                now=at,
                route=settings.billing.route,
                wait=timedelta(hours=notices.warning_wait_hours),
                retries=notices.warning_retries,
                utility_id=utility,
            )

    try:
        followed = trio.run(work)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if as_json:
        typer.echo(json.dumps(followed.to_json()))
        return
    for proof in followed.proofs:
        delivered = "" if proof.delivered_at is None else f" delivered {proof.delivered_at}"
        typer.echo(
            f"{proof.account_number} {proof.msisdn} {proof.status.value} "
            f"attempts {proof.attempts}, first {proof.first_sent_at}{delivered}"
        )
    counts = ", ".join(f"{status.value} {followed.count(status)}" for status in ProofStatus)
    typer.echo(f"{len(followed.proofs)} warning(s): {counts}")
