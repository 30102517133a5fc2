"""``smpp-engine campaign ...``: create, follow and steer bulk campaigns in a store.

A campaign's messages are queued in the store; a running gateway
(``smpp-engine gateway``) sends them. Tables and a progress bar for people,
``--json`` (one JSON line) for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import trio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from billing_core.quiet_hours import WEEKDAY_DEFAULT, WEEKEND_DEFAULT, window_text

from .. import logs
from ..campaigns import (
    CampaignError,
    CampaignKind,
    IllegalTransitionError,
    QuietHours,
    RecipientsRefusedError,
    RecipientTimeZones,
    normalise_msisdn,
    parse_window,
    read_recipients,
)
from ..campaigns.service import (
    CampaignBackend,
    CampaignReport,
    CampaignRequest,
    UnknownCampaignNameError,
    change_campaign,
    create_campaign,
    follow_campaign,
)
from ..campaigns.state import CampaignAction, CampaignState
from ..protocol import DEFAULT_PROFILE, MAX_PARTS, Concatenation, TextProfile
from ..store import StoreError
from ..store.campaigns.model import GroupMember, GroupView
from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, StoreOpt, opened_store, settings_or_exit, store_url

if TYPE_CHECKING:
    from ..settings import NoticeSettings, Settings

campaign_app = typer.Typer(
    help="Bulk campaigns: create from a CSV file, follow, pause, resume, cancel.",
    no_args_is_help=True,
)
Opt = typer.Option
Arg = typer.Argument
#: Seconds between two readings of ``campaign status --watch``.
_WATCH_INTERVAL = 1.0
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON line instead of tables.")]
T = TypeVar("T")
# Names, states and CSV values are shown as given: "[cancelled]" is text, not Rich markup.
_console = Console(markup=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _route_text(route: str, settings: Settings) -> tuple[TextProfile, Concatenation, int]:
    """How the settings' ``route`` writes text, so the plan splits as its dispatcher will,
    and the most parts it sends; the defaults (GSM 7-bit, 8-bit UDH references, 255)
    for a route the settings do not name."""
    for smsc in settings.smsc:
        if smsc.name == route:
            return smsc.text_profile(), Concatenation(smsc.concatenation), smsc.max_parts
    return DEFAULT_PROFILE, Concatenation.UDH8, MAX_PARTS


def _run(store_url: str, work: Callable[[CampaignBackend], Awaitable[T]]) -> T:
    """Open the store, run ``work``, close; typed errors become exit status 1 or 2."""
    logs.configure("warning")

    async def main() -> T:
        async with opened_store(store_url) as store:
            # Both backends keep campaigns; open_store is typed by the message interface.
            return await work(cast(CampaignBackend, store))

    try:
        return trio.run(main)
    except CampaignError as exc:
        raise fail(_campaign_problem(exc)) from None
    except IllegalTransitionError as exc:
        raise fail(str(exc)) from None
    except StoreError as exc:
        raise fail(str(exc), EXIT_FAILED) from None


#: The option of each campaign field a command-line value ends up in.
_OPTION_OF_FIELD = {
    "sender": "--sender",
    "template": "--template",
    "rate": "--rate",
    "start_at": "--start",
    "time_zone": "--time-zone",
    "quiet_hours.weekday": "--quiet-weekday",
    "quiet_hours.weekend": "--quiet-weekend",
    "default_country_code": "--country-code",
    "country_code": "--country-code",
    "on_error": "--on-error",
    "smsc": "--route",
}


def _campaign_problem(exc: CampaignError, csv: Path | None = None) -> str:
    """One line: the option (or CSV file) at fault, the value, the reason."""
    if isinstance(exc, RecipientsRefusedError):
        rows = exc.report.bad_lines
        shown = "; ".join(str(error) for error in exc.errors[:3])
        more = len(exc.errors) - 3
        where = f"--csv {csv}" if csv is not None else "the recipients file"
        return f"{where}: refused, {len(rows)} bad row{'s' if len(rows) != 1 else ''}: {shown}" + (
            f"; and {more} more" if more > 0 else ""
        )
    option = _OPTION_OF_FIELD.get(exc.field)
    if option is None:
        return str(exc)
    return f"{option} {exc.value!r}: {exc.reason}"


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--start {text!r}: expected ISO 8601") from None
    if start.utcoffset() is None:
        raise fail(f"--start {text!r}: give a time zone (e.g. +02:00 or Z)")
    return start


def _quiet(option: str, text: str) -> str | None:
    """A quiet window "HH:MM-HH:MM", or None for "off"."""
    if text.strip().lower() == "off":
        return None
    try:
        parse_window(text)
    except CampaignError:
        raise fail(f'{option} {text!r}: expected "HH:MM-HH:MM" or off') from None
    return text


def _quiet_hours(
    weekday: str | None, weekend: str | None, *, off: bool, notices: NoticeSettings
) -> QuietHours:
    """The campaign's quiet hours from its options: none with ``off``, else each kind of
    day's window as given or as the settings' ``[notices]`` say (their weekend days too)."""
    if off:
        options = (("--quiet-weekday", weekday), ("--quiet-weekend", weekend))
        given = [o for o, v in options if v is not None and v.strip().lower() != "off"]
        if given:
            raise fail(f"--no-quiet-hours and {given[0]}: give one or the other")
        return QuietHours(weekday=None, weekend=None)
    return QuietHours.parse(
        _quiet("--quiet-weekday", weekday or notices.quiet_weekday),
        _quiet("--quiet-weekend", weekend or notices.quiet_weekend),
        frozenset(notices.weekend_days),
    )


def _readable(csv: Path) -> Path:
    """``csv``, once it is known to be a file that can be read (one line if not)."""
    try:
        with csv.open("rb"):
            pass
    except OSError as exc:
        raise fail(f"--csv {csv}: cannot be read: {exc.strerror or exc}") from None
    return csv


@campaign_app.command("create")
def create(  # noqa: PLR0917 - one parameter per command-line option
    name: Annotated[str, Arg(help="A unique campaign name.")],
    template: Annotated[str, Opt(help="Message text with {field} placeholders.")],
    sender: Annotated[str, Opt(help="Sender: alphanumeric (max 11) or a number.")],
    csv: Annotated[Path | None, Opt(help="Recipients CSV: an msisdn column + fields.")] = None,
    group: Annotated[str | None, Opt(help="A recipient group instead of a CSV file.")] = None,
    route: Annotated[str, Opt(help="The gateway route (SMSC) to send over.")] = "default",
    rate: Annotated[float, Opt(help="Messages per second for this campaign.")] = 50.0,
    start: Annotated[str | None, Opt(help="Earliest start, ISO 8601 with zone.")] = None,
    kind: Annotated[str, Opt(help="bulk (respects opt-out) or legal_notice (does not).")] = "bulk",
    on_error: Annotated[str, Opt(help="Bad CSV rows: skip (and report) or refuse.")] = "skip",
    country_code: Annotated[
        str | None, Opt(help="Country code for national numbers (leading 0).")
    ] = None,
    time_zone: Annotated[
        str | None,
        Opt(
            help="Recipients' time zone when the number says none; default the settings' "
            "[notices] time_zone (and its time_zone_prefixes)."
        ),
    ] = None,
    quiet_weekday: Annotated[
        str | None,
        Opt(
            help='Quiet hours on working days, "HH:MM-HH:MM" or off; default the '
            f"settings' [notices] quiet_weekday ({window_text(WEEKDAY_DEFAULT)} unless set)."
        ),
    ] = None,
    quiet_weekend: Annotated[
        str | None,
        Opt(
            help='Quiet hours at weekends, "HH:MM-HH:MM" or off; default the settings\' '
            f"[notices] quiet_weekend ({window_text(WEEKEND_DEFAULT)} unless set)."
        ),
    ] = None,
    no_quiet_hours: Annotated[
        bool,
        Opt("--no-quiet-hours", help="Send at any hour, every day (no quiet hours at all)."),
    ] = False,
    dry_run: Annotated[bool, Opt("--dry-run", help="Plan and report, queue nothing.")] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Plan a campaign (encoding, parts, bad rows, opt-outs) and queue its messages.

    Quiet hours are kept in each recipient's time zone; --no-quiet-hours (or
    "off" for a kind of day) sends at any hour. Mistakes in the options, a CSV
    file that cannot be read and bad rows under --on-error refuse are one line
    each, exit status 2.
    """
    if on_error not in ("skip", "refuse"):
        raise fail(f"--on-error {on_error!r}: expected skip or refuse")
    kinds = [k.value for k in CampaignKind]
    if kind not in kinds:
        raise fail(f"--kind {kind!r}: expected {' or '.join(kinds)}")
    settings = settings_or_exit(config)
    notices = settings.notices
    profile, method, max_parts = _route_text(route, settings)
    try:
        request = CampaignRequest(
            name=name,
            smsc=route,
            profile=profile,
            method=method,
            max_parts=max_parts,
            sender=sender,
            template=template,
            rate=rate,
            kind=CampaignKind(kind),
            start_at=_start(start),
            quiet_hours=_quiet_hours(
                quiet_weekday, quiet_weekend, off=no_quiet_hours, notices=notices
            ),
            time_zones=RecipientTimeZones(
                default=time_zone or notices.time_zone,
                prefixes=notices.time_zone_prefixes if time_zone is None else {},
            ),
            csv_path=_readable(csv) if csv is not None else None,
            group=group,
            on_error=on_error,  # type: ignore[arg-type]
            default_country_code=country_code,
        )
    except CampaignError as exc:
        raise fail(_campaign_problem(exc, csv)) from None
    except ValueError as exc:
        raise fail(str(exc)) from None
    report: CampaignReport = _run(
        store_url(store, config),
        lambda s: create_campaign(s, request, now=_now(), dry_run=dry_run),
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    _print_report(name, report)


def _print_report(name: str, report: CampaignReport) -> None:
    dry_run = report.campaign is None
    title = f"campaign {name}" + (": dry run, nothing stored or queued" if dry_run else "")
    table = Table(title=title)
    table.add_column("what")
    # Timestamps are kept on one line, whatever the terminal's width.
    table.add_column("value", justify="right", no_wrap=True)
    table.add_row("recipients read", f"{report.recipients:,}")
    table.add_row("messages it would queue" if dry_run else "messages queued", f"{report.queued:,}")
    table.add_row("SMS parts", f"{report.total_parts:,} (at most {report.max_parts} per message)")
    table.add_row("UCS-2 messages", f"{report.ucs2_messages:,}")
    for reason, count in report.skipped.items():
        table.add_row(f"skipped: {reason}", f"{count:,}")
    table.add_row("duplicate rows", f"{report.duplicates:,}")
    table.add_row("bad rows", f"{len(report.row_errors):,}")
    if report.first_send_at and report.last_send_at:
        table.add_row("first send", report.first_send_at.isoformat(timespec="seconds"))
        table.add_row("last send", report.last_send_at.isoformat(timespec="seconds"))
    _console.print(table)
    for error in report.row_errors[:20]:
        _console.print(f"line {error.line}: {error.field} = {error.value!r}: {error.reason}")
    if len(report.row_errors) > 20:
        _console.print(f"... and {len(report.row_errors) - 20} more bad rows (--json lists all)")


def _stats_dict(view: Any, stats: Any) -> dict[str, Any]:
    return {
        "campaign": view.name,
        "state": view.state,
        "total": stats.total,
        "queued": stats.queued,
        "sent": stats.sent,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "cancelled": stats.cancelled,
        "pending_receipts": stats.receipts_pending,
        "by_state": {str(k): v for k, v in stats.by_state.items()},
        "errors": {f"0x{k:08X}": v for k, v in stats.errors.items()},
    }


@campaign_app.command("status")
def status(
    name: Annotated[str, Arg(help="The campaign.")],
    watch: Annotated[
        bool, Opt("--watch", help="Follow with a progress bar until it is completed or cancelled.")
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The campaign's state and its messages' figures.

    Queued, sent, delivered, failed, cancelled before they were sent, awaiting
    receipts; failures by status."""
    if not watch:
        view, stats = _run(store_url(store, config), lambda s: follow_campaign(s, name, now=_now()))
        figures = _stats_dict(view, stats)
        if as_json:
            typer.echo(json.dumps(figures))
        else:
            _print_stats(figures)
        return

    async def follow(opened: CampaignBackend) -> dict[str, Any]:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("settled"),
            # Names and states are plain text, not Rich markup.
            TextColumn("{task.fields[detail]}", markup=False),
            console=_console,
            disable=as_json,
        ) as progress:
            # A number from the start: the columns format it (`{task.total:,}`) on the
            # first refresh, which may come before the first figures.
            task = progress.add_task(name, total=0, detail="")
            while True:
                view, stats = await follow_campaign(opened, name, now=_now())
                figures = _stats_dict(view, stats)
                settled = figures["delivered"] + figures["failed"] + figures["cancelled"]
                # The state first: on a narrow terminal the end of the line is cut.
                detail = (
                    f"{view.state}: delivered {figures['delivered']:,}, "
                    f"failed {figures['failed']:,}, pending {figures['pending_receipts']:,}"
                )
                progress.update(task, total=figures["total"], completed=settled, detail=detail)
                if _is_final(view.state):
                    return figures
                await trio.sleep(_WATCH_INTERVAL)

    figures = _run(store_url(store, config), follow)
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        _print_stats(figures)


def _is_final(state: str) -> bool:
    """Whether a campaign in ``state`` can change no more (a state this version does not
    know is not followed for ever either)."""
    try:
        return CampaignState(state).is_final
    except ValueError:
        return True


#: The status table's rows: the figure and how it is labelled.
_STATUS_ROWS = {
    "total": "total",
    "queued": "queued (to be sent)",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "cancelled": "cancelled (not sent)",
    "pending_receipts": "pending receipts",
}


def _print_stats(figures: dict[str, Any]) -> None:
    table = Table(title=f"campaign {figures['campaign']}: {figures['state']}")
    table.add_column("what")
    table.add_column("messages", justify="right")
    for key, label in _STATUS_ROWS.items():
        table.add_row(label, f"{figures[key]:,}")
    for code, count in figures["errors"].items():
        table.add_row(f"error {code}", f"{count:,}")
    _console.print(table)


@campaign_app.command("list")
def list_campaigns(
    as_json: JsonOpt = False, store: StoreOpt = None, config: ConfigOpt = None
) -> None:
    """Every campaign, newest first."""
    views = _run(store_url(store, config), lambda s: s.list_campaigns())
    rows = [
        {
            "campaign_id": v.campaign_id,
            "name": v.name,
            "state": v.state,
            "route": v.smsc,
            "rate": v.rate,
            "created_at": datetime.fromtimestamp(v.created_at, UTC).isoformat(),
        }
        for v in views
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title="campaigns")
    table.add_column("id", justify="right")
    # A long name or route wraps rather than losing its end to an ellipsis.
    table.add_column("name", overflow="fold")
    table.add_column("state")
    table.add_column("route", overflow="fold")
    table.add_column("rate/s", justify="right")
    table.add_column("created (UTC)", no_wrap=True)
    for view, row in zip(views, rows, strict=True):
        table.add_row(
            *(str(row[c]) for c in ("campaign_id", "name", "state", "route", "rate")),
            _table_time(view.created_at),
        )
    _console.print(table)


def _table_time(at: float) -> str:
    """A time for a table: to the second, in UTC, as short as stays unambiguous."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _steer(action: CampaignAction) -> Callable[..., None]:
    def command(
        name: Annotated[str, Arg(help="The campaign.")],
        as_json: JsonOpt = False,
        store: StoreOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        view = _run(
            store_url(store, config), lambda s: change_campaign(s, name, action, now=_now())
        )
        if as_json:
            typer.echo(json.dumps({"campaign": view.name, "state": view.state}))
        else:
            _console.print(f"campaign {view.name}: {view.state}")

    command.__doc__ = {
        CampaignAction.PAUSE: "Pause: queued messages are held until resumed.",
        CampaignAction.RESUME: "Resume: held messages are spread at the campaign's rate again.",
        CampaignAction.CANCEL: "Cancel: messages not yet sent are cancelled.",
    }[action]
    return command


for _action in (CampaignAction.PAUSE, CampaignAction.RESUME, CampaignAction.CANCEL):
    campaign_app.command(_action.value)(_steer(_action))


group_app = typer.Typer(
    help="Recipient groups: create and edit from CSV files.", no_args_is_help=True
)
optout_app = typer.Typer(help="The opt-out list that bulk campaigns respect.", no_args_is_help=True)
campaign_app.add_typer(group_app, name="group")
campaign_app.add_typer(optout_app, name="optout")


def _members(csv: Path, country_code: str | None) -> list[GroupMember]:
    """The members in ``csv``; a file that cannot be read or has a bad row is one line."""
    try:
        imported = read_recipients(
            _readable(csv), on_error="refuse", default_country_code=country_code
        )
    except RecipientsRefusedError as exc:
        raise fail(_campaign_problem(exc, csv)) from None
    except CampaignError as exc:
        option = _OPTION_OF_FIELD.get(exc.field)
        where = f"{option} {exc.value!r}" if option else f"--csv {csv}"
        raise fail(f"{where}: {exc.reason}") from None
    return [GroupMember(r.msisdn, dict(r.fields)) for r in imported.recipients]


def _numbers(msisdns: list[str]) -> list[str]:
    """The numbers normalised; one that is not a number is one line naming it."""
    try:
        return [normalise_msisdn(m) for m in msisdns]
    except CampaignError as exc:
        raise fail(f"{exc.value!r}: {exc.reason}") from None


@group_app.command("create")
def group_create(  # noqa: PLR0917 - one parameter per command-line option
    name: Annotated[str, Arg(help="A unique group name.")],
    csv: Annotated[Path | None, Opt(help="Members: an msisdn column + fields.")] = None,
    country_code: Annotated[str | None, Opt(help="For national numbers.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a group, with the members of a CSV file if given."""
    members = _members(csv, country_code) if csv else []

    async def work(s: CampaignBackend) -> dict[str, Any]:
        group = await s.create_group(name, now=_now().timestamp())
        added = await s.upsert_group_members(group.group_id, members) if members else 0
        return {"group": group.name, "group_id": group.group_id, "members": added}

    _echo(_run(store_url(store, config), work), as_json)


@group_app.command("add")
def group_add(  # noqa: PLR0917 - one parameter per command-line option
    name: Annotated[str, Arg(help="The group.")],
    csv: Annotated[Path, Opt(help="Members to add or update: msisdn + fields.")],
    country_code: Annotated[str | None, Opt(help="For national numbers.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add members, or update the fields of those already in the group."""
    members = _members(csv, country_code)

    async def work(s: CampaignBackend) -> dict[str, Any]:
        group = await _group(s, name)
        changed = await s.upsert_group_members(group.group_id, members)
        return {"group": name, "upserted": changed}

    _echo(_run(store_url(store, config), work), as_json)


@group_app.command("remove")
def group_remove(
    name: Annotated[str, Arg(help="The group.")],
    msisdns: Annotated[list[str], Arg(help="Numbers to remove.")],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove members by number."""
    numbers = _numbers(msisdns)

    async def work(s: CampaignBackend) -> dict[str, Any]:
        group = await _group(s, name)
        return {"group": name, "removed": await s.remove_group_members(group.group_id, numbers)}

    _echo(_run(store_url(store, config), work), as_json)


@group_app.command("list")
def group_list(as_json: JsonOpt = False, store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Every group with its member count."""

    async def work(s: CampaignBackend) -> list[GroupView]:
        return await s.list_groups()

    groups = _run(store_url(store, config), work)
    if as_json:
        typer.echo(
            json.dumps({"groups": [{"group": g.name, "members": g.members} for g in groups]})
        )
        return
    table = Table(title="recipient groups")
    table.add_column("group")
    table.add_column("members", justify="right")
    table.add_column("created (UTC)", no_wrap=True)
    for group in groups:
        table.add_row(group.name, f"{group.members:,}", _table_time(group.created_at))
    _console.print(table)


async def _group(store: CampaignBackend, name: str) -> GroupView:
    group = await store.find_group(name)
    if group is None:
        raise UnknownCampaignNameError("no such group", field="group", value=name)
    return group


@optout_app.command("add")
def optout_add(
    msisdns: Annotated[list[str], Arg(help="Numbers that asked not to get bulk messages.")],
    source: Annotated[str, Opt(help="Where the request came from.")] = "cli",
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Put numbers on the opt-out list (legal notices still reach them)."""
    numbers = _numbers(msisdns)

    async def work(s: CampaignBackend) -> dict[str, Any]:
        return {"added": await s.add_opt_outs(numbers, source=source, now=_now().timestamp())}

    _echo(_run(store_url(store, config), work), as_json)


@optout_app.command("remove")
def optout_remove(
    msisdns: Annotated[list[str], Arg(help="Numbers to take off the list.")],
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Take numbers off the opt-out list."""
    numbers = _numbers(msisdns)

    async def work(s: CampaignBackend) -> dict[str, Any]:
        return {"removed": await s.remove_opt_outs(numbers)}

    _echo(_run(store_url(store, config), work), as_json)


def _echo(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        _console.print(", ".join(f"{k}: {v}" for k, v in figures.items()))
