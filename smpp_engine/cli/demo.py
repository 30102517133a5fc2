"""``smpp-engine demo``: the product end to end in one process, with a live view and a report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import trio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import logs
from ..app import Started
from ..demo import DemoOptions, DemoReport, run_demo
from ..demo.run import DemoProgress
from ..redaction import remember_url
from ..store import StoreError
from .errors import EXIT_FAILED, fail
from .ports import Listener, listen_failure
from .store import store_failure

Opt = typer.Option


def demo(  # noqa: PLR0917 - one parameter per command-line option
    consumers: Annotated[int, Opt(min=1, help="Consumers of the demo utility.")] = 3000,
    readings: Annotated[int, Opt(min=0, help="Consumers who text a meter reading.")] = 300,
    balances: Annotated[int, Opt(min=0, help="Debtors who text BAL for their balance.")] = 100,
    mo_rate: Annotated[float, Opt(min=0.1, help="Consumer SMS per second.")] = 100.0,
    notice_rate: Annotated[float, Opt(min=0.1, help="Debt notices per second.")] = 1000.0,
    store: Annotated[
        str | None, Opt(help="Store URL; default: a SQLite file in a temporary folder.")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="No live view; print the report as JSON.")] = False,
    keep_running: Annotated[
        bool,
        Opt(
            "--keep-running",
            help="After the report, keep the gateway, its HTTP API and /metrics up until Ctrl-C.",
        ),
    ] = False,
) -> None:
    """Run the whole gateway on SQLite with the built-in SMSC simulator.

    A demo utility (accounts, two-zone meters, a tariff, debts) is loaded; a
    debt-notice campaign goes to every consumer in debt; meanwhile consumers
    text meter readings and balance requests and get their replies. A live
    view shows the progress; the report gives the notices' submit rate against
    the campaign's rate, receipts by state (the demo SMSC fails a few on
    purpose), example replies and the SMS round trip: from the simulator
    sending a consumer's SMS (deliver_sm) to it receiving the reply
    (submit_sm). Then the gateway stops, unless --keep-running. The report's
    JSON line is printed last (with --keep-running, before waiting for Ctrl-C).
    """
    logs.configure("warning")
    remember_url(store)
    try:
        options = DemoOptions(
            consumers=consumers,
            readings=readings,
            balances=balances,
            mo_rate=mo_rate,
            notice_rate=notice_rate,
            store_url=store,
            keep_running=keep_running,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    console = Console(stderr=as_json, quiet=as_json)
    running: list[Started] = []

    def reported(report: DemoReport) -> None:
        if not as_json:
            _print_report(console, report)
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        if report.http_url is not None:
            # Said on stderr with --json, so stdout stays the one JSON line.
            typer.echo(
                f"The gateway keeps running: HTTP API on {report.http_url}, "
                f"metrics on {report.http_url}/metrics. Ctrl-C stops it.",
                err=as_json,
            )
        elif not as_json:
            console.print(
                "The gateway has stopped. smpp-engine demo --keep-running keeps it, "
                "its HTTP API and /metrics up after the report until Ctrl-C."
            )

    try:
        report = _run_with_view(options, console, running, reported)
    except StoreError as exc:
        if running or store is None:
            raise fail(str(exc), EXIT_FAILED) from None
        raise fail(store_failure(store, exc)) from None
    except OSError as exc:
        # Every port of the demo is picked free (0); none can be in use but by a race.
        where = [
            Listener("the simulator's SMPP port", "a free port", "127.0.0.1", 0, http=False),
            Listener("the HTTP API", "a free port", "127.0.0.1", 0, http=True),
        ]
        message = listen_failure(exc, where)
        if message is None:
            raise
        raise fail(message) from None
    if report.lost:
        raise typer.Exit(1)


def _run_with_view(
    options: DemoOptions,
    console: Console,
    running: list[Started],
    on_report: Callable[[DemoReport], None],
) -> DemoReport:
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    notices = progress.add_task("debt notices with receipt", total=None)
    texted = progress.add_task("consumer SMS sent", total=None)
    answered = progress.add_task("replies received", total=None)

    def started(now: Started) -> None:
        running.append(now)
        where = f"gateway running on {now.store}, simulator on port {now.simulator_port}"
        if now.http_port is not None and options.keep_running:
            # Only then does the address outlive the report.
            where += f"; HTTP API and /metrics on http://127.0.0.1:{now.http_port}"
        console.print(where)

    def update(now: DemoProgress) -> None:
        progress.update(notices, completed=now.notices_final, total=now.notices)
        progress.update(texted, completed=now.mo_sent, total=now.mo_total)
        progress.update(answered, completed=now.replies, total=now.mo_total)

    def report(measured: DemoReport) -> None:
        progress.stop()  # the report is printed below the live view, not inside it
        on_report(measured)

    with progress:
        return trio.run(
            lambda: run_demo(options, on_progress=update, on_started=started, on_report=report)
        )


def _print_report(console: Console, report: DemoReport) -> None:
    summary = Table(title="Demo report", show_header=False)
    summary.add_row("consumers", f"{report.consumers:,}")
    summary.add_row(
        "debt notices",
        f"{report.notices:,}, the last receipt {report.notice_seconds:.1f} s after the start",
    )
    summary.add_row("  submitted", _submit_rate(report))
    summary.add_row("", "receipts follow after the demo SMSC's own delay (its scenario)")
    for state, count in sorted(report.notices_by_state.items()):
        summary.add_row(f"  receipts: {state}", f"{count:,}")
    if set(report.notices_by_state) - {"delivered"}:
        summary.add_row("", "the failed ones are simulated: the demo SMSC scenario fails a few")
    summary.add_row("consumer SMS", f"{report.mo_sent:,} sent, {report.replies:,} answered")
    trips = report.round_trip_ms
    if trips:
        summary.add_row(
            "SMS round trip",
            f"p50 {trips['p50']} ms, p99 {trips['p99']} ms, max {trips['max']} ms",
        )
        summary.add_row(
            "", "simulator sends the SMS (deliver_sm) -> receives the reply (submit_sm)"
        )
    summary.add_row("elapsed", f"{report.elapsed_seconds:.1f} s")
    console.print(summary)
    examples = Table("consumer wrote", "gateway replied", title="Example replies")
    for sms, reply in report.examples:
        examples.add_row(sms, reply)
    console.print(examples)


def _submit_rate(report: DemoReport) -> str:
    """The notices' submit rate, measured at the simulator, next to the campaign's setting."""
    setting = f"the campaign's rate setting {report.notice_rate_setting:,.0f}/s"
    rate = report.notice_submit_rate
    if rate is None:
        return f"{report.notices_submitted:,} ({setting})"
    return f"{rate:,.0f}/s over {report.notice_submit_seconds:.1f} s ({setting})"
