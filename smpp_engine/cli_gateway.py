"""``smpp-engine gateway``: the delivery pipeline for one SMSC account, from the command line.

It sends what is queued in the store (campaigns, messages) until interrupted.
The configured service (``smpp-engine run``, with a config file and several
SMSCs) grows from this.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from . import logs
from .app import Gateway, Started, serve_until_signalled
from .settings import Settings
from .store import StoreError

Opt = typer.Option


def gateway(  # noqa: PLR0917 - one parameter per command-line option
    store: Annotated[str, Opt(help="Store URL: sqlite:///PATH or postgresql://...")],
    host: Annotated[str, Opt(help="SMSC address.")],
    port: Annotated[int, Opt(help="SMSC port.")],
    system_id: Annotated[str, Opt(help="SMPP system_id of the account.")],
    password: Annotated[
        str, Opt(envvar="SMPP_ENGINE_PASSWORD", help="SMPP password (or $SMPP_ENGINE_PASSWORD).")
    ],
    route: Annotated[str, Opt(help="The route name messages are queued under.")] = "default",
    binds: Annotated[int, Opt(min=1, help="Binds to open to the account.")] = 1,
    window: Annotated[int, Opt(min=1, help="Requests in flight per bind.")] = 64,
    rate: Annotated[
        float | None, Opt(help="The account's limit in SMS segments per second (all binds).")
    ] = None,
) -> None:
    """Send what is queued for ROUTE over BINDS binds until Ctrl-C; record every fate.

    One SMSC and no file: ``smpp-engine run --config`` does the same for many.
    Ctrl-C stops gracefully (the answers in flight are waited for, then unbind).
    """
    logs.configure()
    try:
        smsc = {
            "name": route,
            "host": host,
            "port": port,
            "system_id": system_id,
            "password": password,
            "binds": binds,
            "window": window,
            "throughput": rate,
        }
        settings = Settings.model_validate(
            {
                "store": {"url": store},
                "smsc": [smsc],
                "http": {"enabled": False},
                "simulator": {"enabled": False},
            }
        )
    except ValidationError as exc:
        typer.echo(f"error: {_problems(exc)}", err=True)
        raise typer.Exit(2) from None
    gateway = Gateway(settings)

    def started(running: Started) -> None:
        print(json.dumps({"event": "running", "route": route, "store": running.store}), flush=True)

    try:
        serve_until_signalled(gateway, started)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


# The settings' names for this command's options, where they differ.
_OPTION_OF_KEY = {"url": "store", "name": "route", "throughput": "rate"}


def _problems(error: ValidationError) -> str:
    """``--option VALUE: what was expected`` for each refused option (never the password)."""
    problems = []
    for problem in error.errors(include_url=False):
        key = str(problem["loc"][-1]) if problem["loc"] else "settings"
        option = "--" + _OPTION_OF_KEY.get(key, key).replace("_", "-")
        value = "" if key == "password" else f" {problem.get('input')!s}"
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"{option}{value}: {message}")
    return "; ".join(problems)
