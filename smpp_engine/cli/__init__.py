"""The ``smpp-engine`` command line: the root group and the commands it gathers.

Each command lives in a module of its own (``pdu``, ``sim``, ``send``, ``run``,
``demo``, ``bench``, ``gateway``, ``campaign``, ``billing``, ``config``); the
web stack and the PostgreSQL driver load only inside the commands that use them,
so ``smpp-engine --help`` stays quick.
"""

from __future__ import annotations

import typer

from . import bench, billing, campaign, config, demo, gateway, pdu, run, send, sim
from .errors import ReportingGroup

__all__ = ["app", "main"]

app = typer.Typer(
    help="SMPP gateway engine: send, receive and track SMS over SMPP.",
    no_args_is_help=True,
    add_completion=False,
    # Every failure is reported by the group: one line, secrets masked.
    cls=ReportingGroup,
    pretty_exceptions_show_locals=False,
)
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
app.add_typer(config.config_app, name="config")


def main() -> None:
    app()
