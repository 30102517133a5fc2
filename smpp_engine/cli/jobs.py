"""``smpp-engine jobs``: the gateway's scheduled jobs, when each is next due, its last run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import trio
import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from ..store import JobStore, JobView, StoreError
from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, StoreOpt, opened_store, store_url

__all__ = ["jobs"]


def _time(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _job_json(job: JobView) -> dict[str, Any]:
    last = job.last_run
    return {
        "name": job.name,
        "next_due": _time(job.next_due),
        "held_by": job.lease_owner,
        "held_until": _time(job.lease_until),
        "runs": job.runs,
        "last_run": None
        if last is None
        else {
            "due_at": _time(last.due_at),
            "started_at": _time(last.started_at),
            "finished_at": _time(last.finished_at),
            "outcome": last.outcome,
            "detail": last.detail,
            "owner": last.owner,
        },
    }


def jobs(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The scheduled jobs: when each is next due, its last run, who holds it.

    Closing each billing period ([billing] close_period_day) and the day's notices
    ([notices] run_at) are jobs. The gateway puts a job here when it first starts
    with it enabled; times are UTC. `smpp-engine notices jobs` is the same listing.
    """
    url = store_url(store, config)

    async def read() -> list[JobView]:
        async with opened_store(url) as opened:
            return await cast(JobStore, opened).list_jobs()

    try:
        found = trio.run(read)
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    listed = [_job_json(job) for job in found]
    if as_json:
        typer.echo(json.dumps({"jobs": listed}))
        return
    if not listed:
        typer.echo("no scheduled jobs yet: the gateway adds them when it runs with them enabled")
        return
    # Names and times whole on one line; the run's detail wraps.
    table = Table(
        Column("job", no_wrap=True),
        Column("next due (UTC)", no_wrap=True),
        "runs",
        Column("last run (UTC)", no_wrap=True),
        Column("outcome", no_wrap=True),
        Column("detail", overflow="fold"),
        title="Scheduled jobs",
    )
    for view, job in zip(found, listed, strict=True):
        last = view.last_run
        running = view.lease_owner is not None and (last is None or last.finished_at is None)
        outcome = f"running on {view.lease_owner}" if running else (last and last.outcome)
        table.add_row(
            *(
                Text(str(cell or ""))
                for cell in (
                    job["name"],
                    _short(view.next_due),
                    job["runs"],
                    None if last is None else _short(last.started_at),
                    outcome,
                    None if last is None else last.detail,
                )
            )
        )
    Console().print(table)


def _short(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")
