"""``smpp-engine mo``: the MO messages the gateway kept (routed to a tenant, or unrouted)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, cast

import trio
import typer

from ..store import StoreError
from ..store.mo import KeptMo, MoRoute, MoStore
from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, StoreOpt, opened_store, store_url

__all__ = ["mo_app"]

mo_app = typer.Typer(
    help="MO messages the gateway kept: routed to a tenant, or taken by no route.",
    no_args_is_help=True,
)


@mo_app.callback()
def _group() -> None:
    """MO messages the gateway kept: routed to a tenant, or taken by no route."""


def _kept_json(k: KeptMo) -> dict[str, object]:
    return {
        "id": k.id,
        "mo_id": k.mo_id,
        "smsc": k.smsc,
        "source": k.source,
        "destination": k.destination,
        "text": k.text,
        "parts": k.parts,
        "received_at": datetime.fromtimestamp(k.received_at, UTC).isoformat(timespec="seconds"),
        "route": k.route.value,
        "tenant": k.tenant,
    }


@mo_app.command("list")
def list_kept(
    *,
    unrouted: Annotated[bool, typer.Option("--unrouted", help="Only those no route took.")] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only one tenant's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The MO messages kept, newest first.

    Those routed to a tenant were posted to its callback_url (signed, through the
    callback outbox); those no [[mo_routes]] rule took are kept here instead of
    being refused, so the SMSC stops offering them and none is lost.
    """
    url = store_url(store, config)
    route = MoRoute.UNROUTED if unrouted else None

    async def read() -> list[KeptMo]:
        async with opened_store(url) as opened:
            return await cast(MoStore, opened).list_mo(route=route, tenant=tenant, limit=limit)

    try:
        kept = trio.run(read)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if as_json:
        typer.echo(json.dumps({"messages": [_kept_json(k) for k in kept]}))
        return
    if not kept:
        typer.echo("no MO messages kept")
        return
    for k in kept:
        shown = _kept_json(k)
        typer.echo(
            f"{k.id} {shown['received_at']} {k.source} -> {k.destination} "
            f"[{k.route.value}{' ' + k.tenant if k.tenant else ''}] {k.text}"
        )
