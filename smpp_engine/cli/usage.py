"""``smpp-engine usage``: messages and parts per tenant, day and state, for invoicing."""

from __future__ import annotations

import json
from typing import Annotated, cast

import trio
import typer

from ..store import StoreError
from ..store.tenants import TenantStore, UsageRow
from ..usage import UsageRangeError, day_range, usage_csv, usage_json
from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, StoreOpt, opened_store, store_url

__all__ = ["usage"]


def usage(
    *,
    since: Annotated[
        str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).", show_default=False)
    ],
    until: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC); default: --from.")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="One tenant's rows; default: every tenant's.")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Messages and SMS parts per tenant, UTC day and state, for invoicing.

    A row counts one tenant's messages accepted on one day that are now in one
    state; the operator's own messages (sent with a key of no tenant) have an
    empty tenant. The days are inclusive, at most 367.
    """
    try:
        first, last, start, end = day_range(since, until or since)
    except UsageRangeError as exc:
        option = "--from" if exc.field == "from" else "--to"
        raise fail(f"{option}: {exc.reason} (got {exc.value!r})") from None
    if as_csv and as_json:
        raise fail("give --csv or --json, not both")
    url = store_url(store, config)

    async def read() -> list[UsageRow]:
        async with opened_store(url) as opened:
            return await cast(TenantStore, opened).tenant_usage(
                since=start, until=end, tenant=tenant
            )

    try:
        rows = trio.run(read)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if as_csv:
        typer.echo(usage_csv(rows), nl=False)
        return
    if as_json:
        payload = {"since": first.isoformat(), "until": last.isoformat(), "rows": usage_json(rows)}
        typer.echo(json.dumps(payload))
        return
    if not rows:
        typer.echo(f"no messages from {first} to {last}")
        return
    for row in rows:
        typer.echo(
            f"{row.day} {row.tenant or '-'} {row.state} {row.messages} message(s) "
            f"{row.parts} part(s)"
        )
