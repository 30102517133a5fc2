"""The API on a real store, kept in a trio run of its own thread, for synchronous tests.

Hypothesis drives synchronous tests; the app and its store live in one trio run
for the whole module, so what one example stores the next one sees (and must
still be able to show). Requests go through ASGI in that run; an exception that
escapes the app is answered 500, as a server would, and kept for the report.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import trio
from starlette.types import ASGIApp, Receive, Scope, Send

from smpp_engine.http_api import ApiContext, RouteText, create_app
from smpp_engine.store import BillingStore, Store, import_billing_data, load_billing_json
from smpp_engine.store.sqlite import open_sqlite_store

from .conftest import AUTH, ROUTE_TEXTS, ROUTES, context_for, document_check
from .document import checked

T = TypeVar("T")

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "billing-example.json"


@dataclass
class Served:
    """A running API: ``request`` sends one, ``run`` runs a coroutine in the API's trio run."""

    store: Store
    context: ApiContext
    token: trio.lowlevel.TrioToken
    client: httpx.AsyncClient
    escaped: list[str] = field(default_factory=list)

    def run(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(function, *args, trio_token=self.token)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(partial(self.client.request, method, url, **kwargs))


class _Witness:
    """ASGI middleware that keeps the traceback of every exception escaping the app."""

    def __init__(self, app: ASGIApp, escaped: list[str]) -> None:
        self.app = app
        self.escaped = escaped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            self.escaped.append(traceback.format_exc())
            raise


@contextmanager
def served_api(
    path: Path,
    *,
    billing: bool = True,
    routes: Sequence[str] = ROUTES,
    route_texts: Mapping[str, RouteText] = ROUTE_TEXTS,
) -> Iterator[Served]:
    """The API on a SQLite store at ``path`` (with the example billing data)."""
    served: list[Served] = []
    failed: list[BaseException] = []
    started = threading.Event()
    stop: list[trio.Event] = []

    async def serve() -> None:
        try:
            async with open_sqlite_store(path) as store:
                if billing:
                    report = await import_billing_data(
                        cast(BillingStore, store), load_billing_json(str(EXAMPLE))
                    )
                    assert not report.problems
                context, _ = context_for(store, routes=routes, route_texts=route_texts)
                escaped: list[str] = []
                app = _Witness(create_app(context), escaped)
                transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                async with httpx.AsyncClient(
                    transport=transport,
                    base_url="http://api.test",
                    headers=AUTH,
                    event_hooks=checked(document_check(tuple(routes))),
                ) as client:
                    token = trio.lowlevel.current_trio_token()
                    served.append(Served(store, context, token, client, escaped))
                    stop.append(trio.Event())
                    started.set()
                    await stop[0].wait()
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            started.set()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    started.wait(60)
    if not served:
        raise RuntimeError(f"the API did not start: {failed!r}")
    try:
        yield served[0]
    finally:
        trio.from_thread.run_sync(stop[0].set, trio_token=served[0].token)
        thread.join(30)
