"""``smpp-engine config ...``: check a settings file, show the effective settings, API keys.

``check`` validates without starting anything; ``show`` prints what the engine
would run with after the environment's overrides. Secrets are shown as ``***``.
Exit status 2 when the settings are invalid; every problem names the file,
the key path and what was expected. ``add-key`` makes an API key and writes its
digest into the file; ``hash-key`` gives the digest of a key made elsewhere.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from ..redaction import mask_text, mask_url
from ..settings import (
    EMBEDDED_SOURCE,
    SCOPES,
    ApiKey,
    ApiKeyEntryError,
    Settings,
    api_key_entry,
    hash_api_key,
    new_api_key,
    read_toml,
    settings_data,
    to_toml,
    with_api_key,
)
from .errors import fail
from .store import settings_or_exit

config_app = typer.Typer(
    help="Settings: check a file, show the effective settings, make or hash an API key.",
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
    routing = settings.routing
    for rule in routing.rules if routing is not None else ():
        routes = ", ".join(rule.routes) if rule.weights else " -> ".join(rule.routes)
        shared = " by weight" if rule.weights else ""
        table.add_row(f"rule {rule.name}", f"{routes}{shared}")
    if routing is not None:
        table.add_row("rule default", " -> ".join(routing.default or [settings.smsc[0].name]))
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
    typer.echo(api_key_entry(name, digest))


@config_app.command("add-key")
def config_add_key(
    name: Annotated[str, Arg(help="The key's name in [http] api_keys, e.g. ops.")],
    scope: Annotated[
        list[str] | None,
        Opt(
            "--scope",
            help=f"What the key may do, repeatable: {', '.join(SCOPES)} (none: all of it).",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        Opt(
            "--config",
            "-c",
            help="Settings file (TOML) to write the key's digest into; none: print the entry.",
        ),
    ] = None,
) -> None:
    """Make a new API key, print it once, and keep only its SHA-256 digest in the settings.

    The key alone goes to stdout (KEY=$(smpp-engine config add-key ops -c my.toml));
    without --config the api_keys entry to paste follows it. A NAME the file
    already holds is refused.
    """
    plain = new_api_key()
    digest = hash_api_key(plain)
    scopes = None if not scope else list(dict.fromkeys(scope))
    unknown = [s for s in scopes or () if s not in SCOPES]
    if unknown:
        raise fail(f"--scope {unknown[0]!r}: expected one of {', '.join(SCOPES)}")
    try:
        ApiKey(name=name, sha256=digest)
    except ValueError:  # pydantic's ValidationError
        raise fail(f"NAME must be 1 to 64 characters, not {len(name)}") from None
    if file is None:
        typer.echo(plain)
        typer.echo(
            f"The API key {name!r} above is shown once and not stored; "
            "add this entry to [http] api_keys in the settings file:",
            err=True,
        )
        typer.echo(api_key_entry(name, digest, scopes))
        return
    try:
        text = file.read_text("utf-8")
    except UnicodeDecodeError:
        raise fail(f"{file}: not UTF-8 text") from None
    read_toml(text, str(file))  # invalid TOML: one problem naming the line and column
    try:
        updated = with_api_key(text, name, digest, scopes)
    except ApiKeyEntryError as exc:
        raise fail(f"{file}: {exc}") from None
    _replace(file, updated)
    typer.echo(plain)
    typer.echo(
        f"The API key {name!r} above is shown once: {file} keeps only its SHA-256 digest.",
        err=True,
    )


def _replace(file: Path, text: str) -> None:
    """Write ``text`` over ``file`` at once (a crash leaves the old file), keeping its mode."""
    mode = file.stat().st_mode
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
