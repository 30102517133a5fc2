"""``smpp-engine demo``: the product end to end in one process, with a live view and a report."""

from __future__ import annotations

import json
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
) -> None:
    """Run the whole gateway on SQLite with the built-in SMSC simulator.

    A demo utility (accounts, two-zone meters, a tariff, debts) is loaded; a
    debt-notice campaign goes to every consumer in debt; meanwhile consumers
    text meter readings and balance requests and get their replies. A live
    view shows the progress; the report gives throughput, receipts by state,
    example replies and the SMS round-trip latency. Ends with one JSON line.
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
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    console = Console(stderr=as_json, quiet=as_json)
    running: list[Started] = []
    try:
        report = _run_with_view(options, console, running)
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
    if not as_json:
        _print_report(console, report)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    if report.lost:
        raise typer.Exit(1)


def _run_with_view(options: DemoOptions, console: Console, running: list[Started]) -> DemoReport:
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
        if now.http_port is not None:
            where += f"; HTTP API and /metrics on http://127.0.0.1:{now.http_port}"
        console.print(where)

    def update(now: DemoProgress) -> None:
        progress.update(notices, completed=now.notices_final, total=now.notices)
        progress.update(texted, completed=now.mo_sent, total=now.mo_total)
        progress.update(answered, completed=now.replies, total=now.mo_total)

    with progress:
        return trio.run(lambda: run_demo(options, on_progress=update, on_started=started))


def _print_report(console: Console, report: DemoReport) -> None:
    summary = Table(title="Demo report", show_header=False)
    summary.add_row("consumers", str(report.consumers))
    rate = report.notices / report.notice_seconds if report.notice_seconds else 0.0
    summary.add_row(
        "debt notices",
        f"{report.notices} in {report.notice_seconds:.1f} s ({rate:.0f}/s, receipts included)",
    )
    for state, count in sorted(report.notices_by_state.items()):
        summary.add_row(f"  receipts: {state}", str(count))
    summary.add_row("consumer SMS", f"{report.mo_sent} sent, {report.replies} answered")
    trips = report.round_trip_ms
    if trips:
        summary.add_row(
            "SMS round trip",
            f"p50 {trips['p50']} ms, p99 {trips['p99']} ms, max {trips['max']} ms",
        )
    summary.add_row("elapsed", f"{report.elapsed_seconds:.1f} s")
    console.print(summary)
    examples = Table("consumer wrote", "gateway replied", title="Example replies")
    for sms, reply in report.examples:
        examples.add_row(sms, reply)
    console.print(examples)
