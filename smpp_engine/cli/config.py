"""``smpp-engine config ...``: check a settings file, show the effective settings, hash API keys.

``check`` validates without starting anything; ``show`` prints what the engine
would run with after the environment's overrides. Secrets are shown as ``***``.
Exit status 2 when the settings are invalid; every problem names the file,
the key path and what was expected.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from ..redaction import mask_text, mask_url
from ..settings import EMBEDDED_SOURCE, Settings, hash_api_key, settings_data, to_toml
from .errors import fail
from .store import settings_or_exit

config_app = typer.Typer(
    help="Settings: check a file, show the effective settings, hash an API key.",
    no_args_is_help=True,
)
Opt = typer.Option
Arg = typer.Argument

EXIT_INVALID = 2


def _load(file: Path | None) -> Settings:
    # Invalid settings raise SettingsError: the command line lists its problems, exit 2.
    return settings_or_exit(file)


def _summary(settings: Settings) -> Table:
    table = _MaskedTable(title="settings", show_header=True)
    table.add_column("table")
    table.add_column("what")
    http = settings.http
    table.add_row("store", mask_url(settings.store.url))
    table.add_row("log", f"{settings.log.format}, {settings.log.level}")
    table.add_row(
        "http",
        f"{http.host}:{http.port}, {len(http.api_keys)} API keys, "
        f"/metrics {'public' if http.metrics_public else 'with a key'}"
        if http.enabled
        else "off",
    )
    simulator = settings.simulator
    table.add_row(
        "simulator",
        f"{simulator.host}:{simulator.port}, {Path(simulator.scenario).stem}"
        if simulator.enabled
        else "off",
    )
    for smsc in settings.smsc:
        rate = f"{smsc.throughput:g}/s" if smsc.throughput is not None else "no rate limit"
        tls = ", TLS" if smsc.tls is not None else ""
        table.add_row(
            f"smsc {smsc.name}",
            f"{smsc.host}:{smsc.port} as {smsc.system_id}, {smsc.binds} x {smsc.bind_type} "
            f"window {smsc.window}, {rate}{tls}",
        )
    billing = settings.billing
    table.add_row("billing", f"replies on {billing.route}" if billing.enabled else "off")
    notices = settings.notices
    table.add_row(
        "notices",
        f"quiet {notices.quiet_weekday} (weekend {notices.quiet_weekend}), {notices.time_zone}",
    )
    return table


class _MaskedTable(Table):
    """A table whose cells mask every remembered secret (a password used as a system_id)."""

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(mask_text(c) if isinstance(c, str) else c for c in cells), **options)


@config_app.command("check")
def config_check(
    file: Annotated[Path, Arg(help="The settings file (TOML).")],
    json_output: Annotated[
        bool, Opt("--json", help="Print the loaded settings as one JSON line.")
    ] = False,
) -> None:
    """Validate FILE (with the environment's overrides) without starting anything."""
    settings = _load(file)
    if json_output:
        typer.echo(json.dumps({"file": str(file), "settings": settings_data(settings)}))
        return
    Console().print(_summary(settings))
    typer.echo(f"{file}: valid")


@config_app.command("show")
def config_show(
    file: Annotated[
        Path | None, Arg(help="The settings file (TOML); none: the embedded default.")
    ] = None,
    output: Annotated[Literal["toml", "json"], Opt("--format", help="toml or json.")] = "toml",
) -> None:
    """Print the effective settings (after the environment's overrides), secrets as ***."""
    data = settings_data(_load(file))
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"# {file if file is not None else EMBEDDED_SOURCE} with the environment's overrides"
    )
    typer.echo(to_toml(data), nl=False)


@config_app.command("hash-key")
def config_hash_key(
    name: Annotated[str, Opt(help="The key's name in [http] api_keys.")] = "ops",
) -> None:
    """Read an API key (stdin, or a hidden prompt) and print the api_keys entry to paste."""
    if sys.stdin.isatty():
        plain = typer.prompt("API key", hide_input=True, confirmation_prompt=True)
    else:
        plain = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    try:
        digest = hash_api_key(plain)
    except ValueError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    typer.echo(f'{{ name = {json.dumps(name)}, sha256 = "{digest}" }}')
