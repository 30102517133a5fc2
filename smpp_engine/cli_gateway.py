"""``smpp-engine gateway``: the delivery pipeline for one SMSC account, from the command line.

It sends what is queued in the store (campaigns, messages) until interrupted.
The configured service (``smpp-engine run``, with a config file and several
SMSCs) grows from this.
"""

from __future__ import annotations

import json
from typing import Annotated

import trio
import typer

from . import logs
from .esme import ConfigError, EsmeConfig
from .interrupts import run_until_interrupted
from .pipeline import Pipeline, SmscRoute
from .store import StoreError, open_store

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
    """Send what is queued for ROUTE over BINDS binds until Ctrl-C; record every fate."""
    logs.configure()
    try:
        smsc = SmscRoute(
            name=route,
            esme=EsmeConfig(
                host=host, port=port, system_id=system_id, password=password, window_size=window
            ),
            binds=binds,
            rate=rate,
        )
    except (ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def serve() -> None:
        async with open_store(store) as opened, trio.open_nursery() as nursery:
            pipeline = Pipeline(opened, [smsc])
            await nursery.start(pipeline.run)
            print(
                json.dumps({"event": "running", "route": route, "store": opened.name}), flush=True
            )

    try:
        run_until_interrupted(serve)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
