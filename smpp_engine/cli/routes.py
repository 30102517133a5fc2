"""``smpp-engine routes``: what each route of a running gateway is doing, from its HTTP API,
and ``routes pause|resume|rebind NAME`` to steer one.

The gateway's address is the settings' ``[http]`` host and port (``--config``),
or ``--url``; the API key is ``--key`` or ``$SMPP_ENGINE_API_KEY``. The answer is
``GET /v1/routes``: binds, the rate allowed now, restarts, last error, whether
it is paused, and the route's messages in the store by state (a tenant's key: that
tenant's own messages only). Steering needs a
key with the admin scope: ``POST /v1/routes/NAME/pause`` and the like.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from .errors import EXIT_FAILED, fail
from .store import ConfigOpt, settings_or_exit

__all__ = ["KEY_VARIABLE", "routes_app"]

KEY_VARIABLE = "SMPP_ENGINE_API_KEY"
#: The states shown in the table (every state is in the JSON).
_SHOWN = ("queued", "held", "submitting", "submitted", "delivered", "failed")


def _gateway_url(url: str | None, config: Any) -> str:
    if url:
        return url.rstrip("/")
    http = settings_or_exit(config).http
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::") else http.host
    return f"http://{host}:{http.port}"


def _get(url: str, key: str, *, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            found: dict[str, Any] = json.load(answer)
            return found
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise fail(f"{url}: the API key was refused (--key or ${KEY_VARIABLE})") from None
        if exc.code in (403, 404, 409):
            raise fail(f"{url}: {_detail(exc)}") from None
        raise fail(f"{url}: HTTP {exc.code}", EXIT_FAILED) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise fail(f"{url}: no gateway answers ({reason}); is `smpp-engine run` up?") from None


def _detail(error: urllib.error.HTTPError) -> str:
    """The API's own sentence for a refusal (its JSON ``detail``), else the status."""
    try:
        detail = json.load(error).get("detail")
    except (ValueError, OSError, AttributeError):
        detail = None
    return str(detail) if detail else f"HTTP {error.code}"


UrlOpt = Annotated[
    str | None,
    typer.Option(help="The gateway's HTTP API, e.g. http://127.0.0.1:8080; default: [http]."),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        envvar=KEY_VARIABLE,
        show_envvar=False,
        help=f"An API key of the gateway; default ${KEY_VARIABLE}.",
    ),
]
NameArg = Annotated[str, typer.Argument(help="The route's name, as in [[smsc]] name.")]

routes_app = typer.Typer(
    help="What each route of a running gateway is doing; pause, resume or rebind one.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


def _base(url: str | None, key: str | None, config: Any) -> tuple[str, str]:
    if not key:
        raise fail(f"an API key is needed: --key or ${KEY_VARIABLE} (smpp-engine config add-key)")
    if url is not None and not url.startswith(("http://", "https://")):
        raise fail(f"--url {url!r}: expected http://HOST:PORT or https://...")
    return _gateway_url(url, config), key


def _steer(action: str, name: str, url: str | None, key: str | None, config: Any) -> None:
    base, key = _base(url, key, config)
    segment = urllib.parse.quote(name, safe="")
    found = _get(f"{base}/v1/routes/{segment}/{action}", key, method="POST")
    typer.echo(json.dumps(found))


@routes_app.command("pause")
def routes_pause(
    name: NameArg, url: UrlOpt = None, key: KeyOpt = None, config: ConfigOpt = None
) -> None:
    """Pause a route in every gateway process on the store.

    It claims nothing new, finishes what is in flight and keeps its binds, so
    receipts and mobile-originated messages still arrive.
    """
    _steer("pause", name, url, key, config)


@routes_app.command("resume")
def routes_resume(
    name: NameArg, url: UrlOpt = None, key: KeyOpt = None, config: ConfigOpt = None
) -> None:
    """Resume a paused route: it claims its queued messages again."""
    _steer("resume", name, url, key, config)


@routes_app.command("rebind")
def routes_rebind(
    name: NameArg, url: UrlOpt = None, key: KeyOpt = None, config: ConfigOpt = None
) -> None:
    """Drop a route's binds in the gateway at --url and bind again, nothing lost."""
    _steer("rebind", name, url, key, config)


@routes_app.callback()
def routes(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
    url: UrlOpt = None,
    key: KeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What each route of a running gateway is doing: binds, rate, restarts, paused, queue.

    Asks the gateway's HTTP API (GET /v1/routes) at the settings' [http] address.
    """
    if ctx.invoked_subcommand is not None:
        return
    base, key = _base(url, key, config)
    found = _get(f"{base}/v1/routes", key)
    if as_json:
        typer.echo(json.dumps(found))
        return
    table = Table(
        Column("route", no_wrap=True),
        Column("SMSC", no_wrap=True),
        "binds",
        "rate/s",
        "restarts",
        "paused",
        *(Column(state, justify="right") for state in _SHOWN),
        Column("last error", overflow="fold"),
        title=f"Routes of {base}",
    )
    for route in found["routes"]:
        rate = route["rate"]
        table.add_row(
            *(
                Text(str(cell))
                for cell in (
                    route["name"],
                    f"{route['smsc']} ({route['system_id']})",
                    f"{route['binds_up']}/{route['binds']}",
                    "no limit" if rate is None else f"{rate:g}",
                    route["restarts"],
                    "paused" if route.get("paused") else "",
                    *(route["queue"].get(state, 0) for state in _SHOWN),
                    route["last_error"] or "",
                )
            )
        )
    Console().print(table)
