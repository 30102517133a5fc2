"""``smpp-engine gateway``: the delivery pipeline for one SMSC account, from the command line.

It sends what is queued in the store (campaigns, messages) until interrupted.
The configured service (``smpp-engine run``, with a config file and several
SMSCs) grows from this.

The SMPP password (here and for ``send``) comes from ``$SMPP_ENGINE_PASSWORD``
or a hidden prompt; ``--password`` works too, but a command line is visible to
every user of the machine.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from .. import logs
from ..app import Gateway, Started
from ..redaction import remember, remember_url
from ..settings import Settings
from ..settings.errors import hidden_key, shown_value
from .errors import fail
from .run import serve_or_fail

__all__ = ["PASSWORD_VARIABLE", "gateway", "password_or_prompt"]

Opt = typer.Option

#: Where ``gateway`` and ``send`` read the SMPP password from when --password is not given.
PASSWORD_VARIABLE = "SMPP_ENGINE_PASSWORD"


def _interactive() -> bool:
    return sys.stdin.isatty()


def password_or_prompt(password: str | None) -> str:
    """``password``, else asked for without echo on a terminal; remembered as a secret."""
    if password is None:
        if not _interactive():
            raise fail(f"no SMPP password: set ${PASSWORD_VARIABLE} (or give --password)")
        password = str(typer.prompt("SMPP password", hide_input=True, err=True))
    remember(password)
    return password


def gateway(  # noqa: PLR0917 - one parameter per command-line option
    store: Annotated[str, Opt(help="Store URL: sqlite:///PATH or postgresql://...")],
    host: Annotated[str, Opt(help="SMSC address.")],
    port: Annotated[int, Opt(help="SMSC port.")],
    system_id: Annotated[str, Opt(help="SMPP system_id of the account.")],
    password: Annotated[
        str | None,
        Opt(
            envvar=PASSWORD_VARIABLE,
            show_envvar=False,
            help=f"SMPP password; default ${PASSWORD_VARIABLE}, else asked for (hidden). "
            "On the command line it is visible to other users of the machine.",
        ),
    ] = None,
    route: Annotated[str, Opt(help="The route name messages are queued under.")] = "default",
    binds: Annotated[int, Opt(min=1, help="Binds to open to the account.")] = 1,
    window: Annotated[int, Opt(min=1, help="Requests in flight per bind.")] = 64,
    rate: Annotated[
        float | None, Opt(help="The account's limit in SMS segments per second (all binds).")
    ] = None,
) -> None:
    """Send what is queued for ROUTE over BINDS binds until Ctrl-C; record every fate.

    One SMSC and no file: smpp-engine run --config does the same for many.
    Ctrl-C stops gracefully (the answers in flight are waited for, then unbind).
    """
    remember_url(store)
    password = password_or_prompt(password)
    logs.configure()
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
    try:
        settings = Settings.model_validate(
            {
                "store": {"url": store},
                "smsc": [smsc],
                "http": {"enabled": False},
                "simulator": {"enabled": False},
            }
        )
    except ValidationError as exc:
        raise fail(_problems(exc, secrets=(password,))) from None
    gateway = Gateway(settings)

    def started(running: Started) -> None:
        print(json.dumps({"event": "running", "route": route, "store": running.store}), flush=True)

    serve_or_fail(gateway, started)


# The settings' names for this command's options, where they differ.
_OPTION_OF_KEY = {"url": "store", "name": "route", "throughput": "rate"}


def _problems(error: ValidationError, secrets: tuple[str, ...]) -> str:
    """``--option VALUE: what was expected`` for each refused option (never a secret)."""
    problems = []
    for problem in error.errors(include_url=False):
        keys = [part for part in problem["loc"] if isinstance(part, str)]
        key = keys[-1] if keys else "settings"
        option = "--" + _OPTION_OF_KEY.get(key, key).replace("_", "-")
        value = problem.get("input")
        shown = "" if hidden_key(key) or isinstance(value, dict) else " " + _plain(key, value)
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"{option}{shown}: {message}")
    return "; ".join(problems)


def _plain(key: str, value: object) -> str:
    """The value as typed on the command line (no quotes), credentials masked."""
    shown = shown_value([key], value)
    if isinstance(value, str) and shown[:1] in ("'", '"'):
        quote, shown = shown[0], shown[1:]
        shown = shown.removesuffix(quote)
    return shown
