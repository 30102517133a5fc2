"""The ``smpp-engine`` command line: the root group and the commands it gathers.

Each command lives in a module of its own (``pdu``, ``sim``, ``send``, ``run``,
``demo``, ``bench``, ``gateway``, ``routes``, ``jobs``, ``campaign``, ``billing``,
``notices``, ``config``), imported only when its command runs (:mod:`.lazy`), so
``smpp-engine --help`` and one ``billing sms`` do not pay for the whole engine.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .errors import ReportingGroup
from .help_text import plain_help
from .lazy import LazyCommand, LazyGroup

__all__ = ["RootGroup", "app", "main"]


def _here(name: str, module: str, attribute: str, summary: str) -> LazyCommand:
    return LazyCommand(name, f"{__name__}.{module}", attribute, summary)


class RootGroup(ReportingGroup, LazyGroup):
    """The root: every failure is one line (:class:`ReportingGroup`), every help reads as
    written (:func:`plain_help`), for the whole tree typer builds under it; each command's
    module is imported when that command runs (:class:`LazyGroup`)."""

    lazy_commands = (
        _here("sim", "sim", "sim", "Run the SMSC simulator until interrupted."),
        _here(
            "send",
            "send",
            "send",
            "Bind, send, optionally wait for receipts, unbind; end with one JSON line.",
        ),
        _here(
            "run",
            "run",
            "run",
            "Run the gateway until Ctrl-C or SIGTERM, then shut down gracefully.",
        ),
        _here(
            "demo",
            "demo",
            "demo",
            "Run the whole gateway on SQLite with the built-in SMSC simulator.",
        ),
        _here(
            "status",
            "run",
            "status",
            "Show one message's fate: state, parts with SMSC ids, receipts and history.",
        ),
        _here(
            "bench",
            "bench",
            "bench",
            "Run benchmarks (each in its own process) and print a table of their figures.",
        ),
        _here(
            "gateway",
            "gateway",
            "gateway",
            "Send what is queued for ROUTE over BINDS binds until Ctrl-C; record every fate.",
        ),
        _here(
            "routes",
            "routes",
            "routes_app",
            "What each route of a running gateway is doing; pause, resume or rebind one.",
        ),
        _here(
            "jobs",
            "jobs",
            "jobs",
            "The scheduled jobs: when each is next due, its last run, who holds it.",
        ),
        _here(
            "usage",
            "usage",
            "usage",
            "Messages and SMS parts per tenant, UTC day and state, for invoicing.",
        ),
        _here(
            "callbacks",
            "callbacks",
            "callbacks_app",
            "Callback events: the outbox's pending and dead letters; replay dead ones.",
        ),
        _here(
            "mo",
            "mo",
            "mo_app",
            "MO messages the gateway kept: routed to a tenant, or taken by no route.",
        ),
        _here("pdu", "pdu", "pdu_app", "Decode and encode single PDUs (for operators and QA)."),
        _here(
            "campaign",
            "campaign",
            "campaign_app",
            "Bulk campaigns: create from a CSV file, follow, pause, resume, cancel.",
        ),
        _here(
            "billing",
            "billing",
            "billing_app",
            "Utility billing by SMS: load data, try a consumer's SMS.",
        ),
        _here(
            "notices",
            "notices",
            "notices_app",
            "Debt notices, disconnection warnings and reminders for every account.",
        ),
        _here(
            "config",
            "config",
            "config_app",
            "Settings: check a file, show the effective settings, make or hash an API key.",
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_help(self)


app = typer.Typer(
    help="SMPP gateway engine: send, receive and track SMS over SMPP.",
    no_args_is_help=True,
    add_completion=False,
    # Every failure is reported by the group: one line, secrets masked.
    cls=RootGroup,
    pretty_exceptions_show_locals=False,
)


def _installed_version() -> str:
    # Imported here: importlib.metadata costs as much as the rest of the root's help.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("smpp-engine")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"smpp-engine {_installed_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    # No docstring: the group's help is the Typer's own.
    return None


def main() -> None:
    app()
