"""``smpp-engine callbacks``: the callback outbox's dead letters, listed and replayed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, cast

import trio
import typer

from ..store import StoreError
from ..store.callbacks import CallbackStore, OutboxEvent, OutboxStatus
from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, StoreOpt, opened_store, store_url

__all__ = ["callbacks_app"]

callbacks_app = typer.Typer(
    help="Callback events: the outbox's pending and dead letters; replay dead ones.",
    no_args_is_help=True,
)

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="One tenant's events only.")]


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _event_json(event: OutboxEvent) -> dict[str, object]:
    return {
        "event_id": str(event.event_id),
        "message_id": event.message_id,
        "tenant": event.tenant,
        "url": event.url,
        "event": event.event,
        "occurred_at": _time(event.occurred_at),
        "status": event.status.value,
        "attempts": event.attempts,
        "last_error": event.last_error,
    }


def _list(status: OutboxStatus, tenant: str | None, limit: int, as_json: bool, url: str) -> None:
    async def read() -> list[OutboxEvent]:
        async with opened_store(url) as opened:
            return await cast(CallbackStore, opened).list_callbacks(
                status=status, tenant=tenant, limit=limit
            )

    try:
        events = trio.run(read)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if as_json:
        typer.echo(json.dumps({"events": [_event_json(e) for e in events]}))
        return
    if not events:
        typer.echo(f"no {status.value} callback events")
        return
    for e in events:
        typer.echo(
            f"{e.event_id} {e.tenant or '-'} message {e.message_id or '-'} {e.event} "
            f"-> {e.url}: {e.attempts} attempt(s), last error: {e.last_error or '-'}"
        )


@callbacks_app.command("dead")
def dead(
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The dead letters: events whose retries ran out ([callbacks] retry_for), oldest first."""
    _list(OutboxStatus.DEAD, tenant, limit, as_json, store_url(store, config))


@callbacks_app.command("pending")
def pending(
    tenant: TenantOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The events waiting to be posted (or retried), oldest first."""
    _list(OutboxStatus.PENDING, tenant, limit, as_json, store_url(store, config))


@callbacks_app.command("replay")
def replay(
    tenant: TenantOpt = None,
    event: Annotated[
        int | None, typer.Option("--event", min=1, help="One event by its id.")
    ] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Put dead letters back in the outbox with a fresh retry window (all, a tenant's, or one).

    A running gateway posts them again; each keeps its event id, so a receiver
    that saw one before can tell.
    """
    url = store_url(store, config)

    async def run() -> int:
        async with opened_store(url) as opened:
            return await cast(CallbackStore, opened).replay_callbacks(
                now=_now(), tenant=tenant, event_id=event
            )

    try:
        replayed = trio.run(run)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    typer.echo(f"replayed {replayed} dead letter(s)")


def _now() -> float:
    return datetime.now(UTC).timestamp()
