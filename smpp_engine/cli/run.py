"""``smpp-engine run`` (the gateway service) and ``smpp-engine status MESSAGE_ID``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import structlog
import trio
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from .. import logs
from ..app import Gateway, Started, serve_until_signalled
from ..redaction import mask_url
from ..settings import Settings
from ..store import StoreError
from ..views import message_view_json
from .errors import EXIT_FAILED, fail
from .ports import Listener, ensure_free, listen_failure
from .store import ConfigOpt, StoreOpt, opened_store, settings_or_exit, store_failure, store_url

__all__ = ["listeners", "run", "serve_or_fail", "status"]

Opt = typer.Option
_log = structlog.get_logger("smpp_engine.cli")


def run(config: ConfigOpt = None) -> None:
    """Run the gateway until Ctrl-C or SIGTERM, then shut down gracefully.

    Everything the settings enable starts: the store, the built-in simulator,
    one route per [[smsc]], the SMS self-service, the HTTP API and /metrics.
    The first line on stdout is JSON: {"event": "running", ...ports}. On Ctrl-C
    the routes stop sending, the answers in flight are waited for, the binds
    unbind and the last updates are written; a second Ctrl-C stops at once.
    SIGHUP re-reads the settings file and applies its [[smsc]] routes and API
    keys while messages flow (a file that does not load is logged and ignored).
    """
    settings = settings_or_exit(config)
    logs.configure(settings.log.level, format=settings.log.format)

    def started(now: Started) -> None:
        _say(now.as_json())
        if settings.http.enabled and not settings.http.api_keys:
            # Said once it serves (a failed start stays one line), and not an error:
            # /metrics and the health checks answer, and a first run should start.
            _log.warning(
                "the HTTP API has no API key: every /v1 request is refused with 401",
                make_one="smpp-engine config add-key NAME --config FILE",
            )

    # SIGHUP and POST /v1/admin/reload read the same file again (its secrets remembered).
    serve_or_fail(Gateway(settings, load_settings=lambda: settings_or_exit(config)), started)
    _say({"event": "stopped"})


def serve_or_fail(gateway: Gateway, on_started: Callable[[Started], None]) -> None:
    """Serve ``gateway`` until signalled; what stops it from starting is one line, exit 2.

    A port in use is named by the setting that chose it; a store that cannot be
    opened (or refuses to start, e.g. billing without a utility) by its URL.
    A store failing after the start is exit status 1.
    """
    settings = gateway.settings
    ensure_free(listeners(settings))
    running = False

    def started(now: Started) -> None:
        nonlocal running
        running = True
        on_started(now)

    try:
        serve_until_signalled(gateway, started)
    except StoreError as exc:
        if running:
            raise fail(str(exc), EXIT_FAILED) from None
        raise fail(store_failure(settings.store.url, exc)) from None
    except OSError as exc:
        message = listen_failure(exc, listeners(settings))
        if message is None:
            raise
        raise fail(message) from None


def listeners(settings: Settings) -> list[Listener]:
    """The addresses ``run`` listens on, by the settings that choose them."""
    found = []
    if settings.http.enabled:
        http = settings.http
        found.append(Listener("the HTTP API", "[http] port", http.host, http.port, http=True))
    if settings.simulator.enabled:
        sim = settings.simulator
        found.append(
            Listener("the simulator's SMPP port", "[simulator] port", sim.host, sim.port, False)
        )
    server = settings.smpp_server
    if server is not None:
        found.append(
            Listener("the SMPP server face", "[smpp_server] port", server.host, server.port, False)
        )
    return found


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
        async with opened_store(url) as opened:
            view = await opened.get(message_id)
        return None if view is None else message_view_json(view)

    try:
        found = trio.run(look)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if found is None:
        raise fail(f"no message with id {message_id} in {mask_url(url)}", EXIT_FAILED)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    _print_message(found)


def _print_message(found: dict[str, Any]) -> None:
    console = Console()
    error = found["error"]
    # What the message holds (addresses, SMSC ids, event details) is shown as
    # written: a "[...]" in it is text, not Rich markup.
    console.print(
        f"[bold]Message {found['id']}[/bold]: [bold]{found['state']}[/bold]"
        + escape(
            (f" ({error['name']})" if error else "")
            + f"  route {found['route']}, {found['from']} -> {found['to']},"
            f" {found['parts']} part(s), {found['priority']}, attempts {found['attempts']}"
            + (", possible duplicate" if found["possible_duplicate"] else "")
            + (", flash" if found.get("flash") else "")
        )
    )
    if found.get("route_rule") is not None:  # none without a routing table
        plan = " -> ".join(found["route_plan"])
        console.print(escape(f"Routing: rule {found['route_rule']}, plan {plan}"))
    # Timestamps stay on one line, whatever the terminal's width.
    parts = Table(
        "part",
        "state",
        "SMSC id",
        "bind",
        Column("submitted", no_wrap=True),
        Column("receipt", no_wrap=True),
        title="Parts",
    )
    for part in found["part_details"]:
        receipt = part["receipt"]
        parts.add_row(
            *_plain(
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
        )
    console.print(parts)
    events = Table(Column("at", no_wrap=True), "event", "detail", title="History")
    for event in found["events"]:
        events.add_row(*_plain(event["at"], event["event"], event["detail"]))
    console.print(events)


def _plain(*cells: str) -> list[Text]:
    """Table cells shown as written, not read as Rich markup."""
    return [Text(cell) for cell in cells]
