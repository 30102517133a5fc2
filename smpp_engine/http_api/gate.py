"""Every request passes the gate: its route template is found, its key checked, it is counted.

A key may be limited to some scopes (``[http] api_keys`` ``scopes``); each
operation needs one (:data:`.schema.OPERATIONS` says which). A known key without
it is answered 403 naming the scope. An operation missing from that table needs
``admin``: a route added without saying what it needs is closed, not open. The
key's name and scopes are put in the request's scope state (``api_key_name``,
``api_key_scopes``) for the handlers.

Metrics are labelled by the route's template (``/v1/messages/{message_id:int}``),
never the raw path, so a scan of random URLs cannot grow the label set. A
refused key is logged with the reason and the client's address, never the key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import lru_cache

import structlog
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metrics import HTTP_AUTH_FAILURES, HTTP_REQUEST_DURATION, HTTP_REQUESTS, child

from .answers import Error, ScopeError
from .auth import KeyRing

__all__ = ["Gate"]

_log = structlog.get_logger("smpp_engine.http_api")

UNMATCHED = "unmatched"
# Any other method is counted as "other": a client must not be able to grow the label set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# What a request of a method no operation declares needs: the most a key can hold.
_CLOSED = "admin"
_CONVERTER = re.compile(r":[a-z]+}")
_TEMPLATES_KEPT = 4096


@lru_cache(maxsize=512)  # templates are the app's routes: a few dozen
def plain_template(template: str) -> str:
    """A Starlette route path as the document writes it: ``{id:int}`` becomes ``{id}``."""
    return _CONVERTER.sub("}", template)


class Gate:
    """ASGI middleware: authenticate, check the scope and count.

    ``public`` are route templates open to all. ``keys`` gives the key ring in
    force (read at every request, so keys reloaded take effect on the next one).
    ``scopes`` maps (method, template as the document writes it) to the scope
    the operation needs.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        keys: Callable[[], KeyRing],
        public: Collection[str],
        scopes: Mapping[tuple[str, str], str],
    ) -> None:
        self.app = app
        self.routes = routes
        self.keys = keys
        self.public = frozenset(public)
        self.scopes = dict(scopes)
        # The template of each (method, path) met lately: matching every route's
        # pattern per request costs more than the rest of the gate.
        self._templates: dict[tuple[str, str], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        template = self._template(scope)
        status = 500  # unless a response starts: an exception escaped the app

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if template in self.public:
                await self.app(scope, receive, counting_send)
            elif not self._authorised(scope, template):
                await self._refuse(scope, counting_send)
            elif (needed := self._needed(scope, template)) not in scope["state"]["api_key_scopes"]:
                await self._forbid(scope, template, needed, counting_send)
            else:
                await self.app(scope, receive, counting_send)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            child(HTTP_REQUESTS, template, method, str(status)).inc()
            child(HTTP_REQUEST_DURATION, template).observe(time.perf_counter() - started)

    def _template(self, scope: Scope) -> str:
        key = (scope["method"], scope["path"])
        template = self._templates.get(key)
        if template is None:
            template = self._match(scope)
            if len(self._templates) >= _TEMPLATES_KEPT:
                self._templates.clear()  # a scan of random paths: start again
            self._templates[key] = template
        return template

    def _match(self, scope: Scope) -> str:
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL and isinstance(route, Route):
                return route.path
            if match is Match.PARTIAL and partial is None and isinstance(route, Route):
                partial = route.path
        return partial or UNMATCHED

    def _authorised(self, scope: Scope, template: str) -> bool:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        check = self.keys().check(headers)
        if check.name is not None:
            state = scope.setdefault("state", {})
            state["api_key_name"] = check.name
            state["api_key_scopes"] = check.scopes
            return True
        reason = check.reason or "invalid"
        scope.setdefault("state", {})["auth_failure"] = reason
        child(HTTP_AUTH_FAILURES, reason).inc()
        client = scope.get("client")
        _log.warning(
            "HTTP request refused: API key " + reason,
            reason=reason,
            route=template,
            method=scope["method"],
            client=client[0] if client else None,
        )
        return False

    def _needed(self, scope: Scope, template: str) -> str:
        """The scope the request's operation needs (HEAD as GET; unknown: admin)."""
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        return self.scopes.get((method, plain_template(template)), _CLOSED)

    async def _forbid(self, scope: Scope, template: str, needed: str, send: Send) -> None:
        name = scope["state"]["api_key_name"]
        child(HTTP_AUTH_FAILURES, "scope").inc()
        client = scope.get("client")
        _log.warning(
            "HTTP request refused: the API key lacks the scope",
            key=name,
            scope=needed,
            route=template,
            method=scope["method"],
            client=client[0] if client else None,
        )
        answer = ScopeError.model_validate(
            {
                "error": "forbidden",
                "detail": f"the API key {name!r} does not hold the scope {needed!r}",
                "scope": needed,
            }
        )
        body = answer.model_dump_json().encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, scope: Scope, send: Send) -> None:
        reason = scope["state"]["auth_failure"]
        detail = (
            "send the API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
            if reason == "missing"
            else "the API key is not one of the configured keys"
        )
        body = Error(error="unauthorized", detail=detail).model_dump_json().encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="smpp-engine"'),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
