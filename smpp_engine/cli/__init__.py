"""The ``smpp-engine`` command line: the root group and the commands it gathers.

Each command lives in a module of its own (``pdu``, ``sim``, ``send``, ``run``,
``demo``, ``bench``, ``gateway``, ``campaign``, ``billing``, ``config``); the
web stack and the PostgreSQL driver load only inside the commands that use them,
so ``smpp-engine --help`` stays quick.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

from . import bench, billing, campaign, config, demo, gateway, notices, pdu, run, send, sim
from .errors import ReportingGroup
from .help_text import plain_help

__all__ = ["app", "main"]


class RootGroup(ReportingGroup):
    """The root: every failure is one line (:class:`ReportingGroup`), every help reads as
    written (:func:`plain_help`), for the whole tree typer builds under it."""

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


app.command("sim")(sim.sim)
app.command("send")(send.send)
app.command("run")(run.run)
app.command("demo")(demo.demo)
app.command("status")(run.status)
app.command("bench")(bench.bench)
app.command("gateway")(gateway.gateway)
app.add_typer(pdu.pdu_app, name="pdu")
app.add_typer(campaign.campaign_app, name="campaign")
app.add_typer(billing.billing_app, name="billing")
app.add_typer(notices.notices_app, name="notices")
app.add_typer(config.config_app, name="config")


def main() -> None:
    app()
