"""``smpp-engine run`` (the gateway service) and ``smpp-engine status MESSAGE_ID``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import trio
import typer
from rich.console import Console
from rich.table import Table

from . import logs
from .app import Gateway, serve_until_signalled
from .cli_store import ConfigOpt, StoreOpt, settings_or_exit, store_url
from .store import StoreError, open_store
from .views import message_view_json

Opt = typer.Option

EXIT_FAILED = 1


def run(config: ConfigOpt = None) -> None:
    """Run the gateway until Ctrl-C or SIGTERM, then shut down gracefully.

    Everything the settings enable starts: the store, the built-in simulator,
    one route per [[smsc]], the SMS self-service, the HTTP API and /metrics.
    The first line on stdout is JSON: {"event": "running", ...ports}. On Ctrl-C
    the routes stop sending, the answers in flight are waited for, the binds
    unbind and the last updates are written; a second Ctrl-C stops at once.
    """
    settings = settings_or_exit(config)
    logs.configure(settings.log.level, format=settings.log.format)
    gateway = Gateway(settings)

    try:
        serve_until_signalled(gateway, lambda started: _say(started.as_json()))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    _say({"event": "stopped"})


def _say(event: dict[str, Any]) -> None:
    """One JSON line on stdout, at once: a supervisor or a test reads it."""
    print(json.dumps(event), flush=True)


def status(
    message_id: Annotated[int, typer.Argument(help="The id the message was accepted with.")],
    config: ConfigOpt = None,
    store: StoreOpt = None,
    as_json: Annotated[bool, Opt("--json", help="Print JSON for a script.")] = False,
) -> None:
    """Show one message's fate: state, parts with SMSC ids, receipts and history.

    Exit status 0 when found, 1 when no message has that id.
    """
    logs.configure("warning")
    url = store_url(store, config)

    async def look() -> dict[str, Any] | None:
        async with open_store(url) as opened:
            view = await opened.get(message_id)
        return None if view is None else message_view_json(view)

    try:
        found = trio.run(look)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    if found is None:
        typer.echo(f"error: no message with id {message_id} in {url}", err=True)
        raise typer.Exit(EXIT_FAILED)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    _print_message(found)


def _print_message(found: dict[str, Any]) -> None:
    console = Console()
    error = found["error"]
    console.print(
        f"[bold]Message {found['id']}[/bold]: [bold]{found['state']}[/bold]"
        + (f" ({error['name']})" if error else "")
        + f"  route {found['route']}, {found['from']} -> {found['to']},"
        f" {found['parts']} part(s), {found['priority']}, attempts {found['attempts']}"
        + (", possible duplicate" if found["possible_duplicate"] else "")
    )
    parts = Table("part", "state", "SMSC id", "bind", "submitted", "receipt", title="Parts")
    for part in found["part_details"]:
        receipt = part["receipt"]
        parts.add_row(
            str(part["part"]),
            part["state"],
            part["smsc_message_id"] or "",
            part["bind"] or "",
            part["submitted_at"] or "",
            ""
            if receipt is None
            else f"{receipt['done_at'] or receipt['received_at']}"
            + (f" error {receipt['error']}" if receipt["error"] else ""),
        )
    console.print(parts)
    events = Table("at", "event", "detail", title="History")
    for event in found["events"]:
        events.add_row(event["at"], event["event"], event["detail"])
    console.print(events)
