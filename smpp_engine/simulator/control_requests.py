"""What the control API asks of a request before a route runs, and how it reads JSON.

In order, each answered with ``{"error": ..., "field": ...}``:

- ``Host`` must name what the API serves: a loopback name (``127.0.0.1``,
  ``localhost``, ``::1``) or its bound host, with its port; any IP address too
  when bound to a wildcard address. 421 otherwise: a DNS-rebinding page names
  its own host.
- ``Origin``, when a browser sends one, must be such a host too: 403 otherwise
  (a cross-site form or fetch).
- With a token configured, ``Authorization: Bearer TOKEN`` on every route,
  ``/metrics`` included, compared in constant time: 401 otherwise. The token is
  never logged nor echoed.
- A body is JSON: ``Content-Type: application/json`` (415 otherwise; a POST
  without a body may omit it), at most ``MAX_BODY`` octets (413), and valid
  (400): no NaN or Infinity, numbers in range, nested at most ``MAX_DEPTH``
  levels, no lone surrogate.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "MIN_TOKEN_LENGTH",
    "RequestError",
    "RequestGuard",
    "read_json",
    "shorten",
]

MAX_BODY = 1 << 20
MAX_DEPTH = 32
#: A shorter control token is refused when the simulator starts.
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT = 80


class RequestError(Exception):
    """A request refused with ``status``, naming the ``field`` at fault."""

    def __init__(
        self, field: str, error: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        self.field = field
        self.error = error
        self.status = status
        self.headers = headers
        super().__init__(f"{field}: {error}")

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "field": self.field},
            status_code=self.status,
            headers=self.headers,
        )


def shorten(value: object) -> str:
    """``repr(value)``, cut to a readable length for an error message."""
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


class RequestGuard:
    """ASGI middleware: Host, Origin, token, Content-Type and Content-Length checks.

    ``served`` gives the bound host and port at request time (the port is known
    once bound); ``token`` None asks for none.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        served: Callable[[], tuple[str, int | None]],
        token: str | None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app = app
        self.served = served
        self.token = token.encode() if token is not None else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check(scope)
        except RequestError as exc:
            await exc.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        host, port = self.served()
        if not _host_allowed(headers.get(b"host"), host, port):
            raise RequestError("host", "this Host is not served here", 421)
        origin = headers.get(b"origin")
        if origin is not None and not _origin_allowed(origin, host, port):
            raise RequestError("origin", "cross-origin requests are refused", 403)
        if self.token is not None and not self._authorized(headers.get(b"authorization")):
            raise RequestError(
                "authorization",
                "a valid bearer token is required (Authorization: Bearer TOKEN)",
                401,
                {"WWW-Authenticate": 'Bearer realm="smpp-engine simulator"'},
            )
        self._check_body(headers)

    def _authorized(self, value: bytes | None) -> bool:
        assert self.token is not None
        scheme, _, given = (value or b"").strip().partition(b" ")
        # Compared even when the scheme is wrong, so that the time says nothing.
        matches = hmac.compare_digest(given.strip(), self.token)
        return scheme.lower() == b"bearer" and matches

    def _check_body(self, headers: dict[bytes, bytes]) -> None:
        length = headers.get(b"content-length")
        has_body = b"transfer-encoding" in headers or (length is not None and length != b"0")
        content_type = headers.get(b"content-type")
        if content_type is not None or has_body:
            media = (content_type or b"").split(b";", 1)[0].strip().lower()
            if media != b"application/json":
                raise RequestError("content-type", "expected Content-Type: application/json", 415)
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise RequestError("content-length", "not a number") from None
            if size > self.max_body:
                raise RequestError("body", f"larger than {self.max_body} octets", 413)


def _host_allowed(value: bytes | None, host: str, port: int | None) -> bool:
    if value is None:
        return False
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return False
    split = _split_host(text)
    return split is not None and _name_allowed(split[0], host) and split[1] == (port or 80)


def _origin_allowed(value: bytes, host: str, port: int | None) -> bool:
    try:
        parts = urlsplit(value.decode("ascii"))
        origin_port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except (UnicodeDecodeError, ValueError):
        return False
    name = parts.hostname
    return name is not None and _name_allowed(name, host) and origin_port == port


def _split_host(text: str) -> tuple[str, int] | None:
    """``host[:port]`` (IPv6 in brackets) as (lower-case name, port; 80 when absent)."""
    text = text.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif ":" in text:
        name, _, port_text = text.rpartition(":")
        if ":" in name:  # an IPv6 address without brackets
            return None
    else:
        name, port_text = text, None
    if port_text is None:
        return name, 80
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        return None
    return name, int(port_text)


def _name_allowed(name: str, host: str) -> bool:
    bound = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name == bound:
        return True
    if bound in _WILDCARDS:  # any address of this machine; a DNS name could be rebound
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True
    return False


# --- the body ------------------------------------------------------------------------


async def read_json(
    request: Request, *, optional: bool = False, max_body: int = MAX_BODY
) -> dict[str, Any]:
    """The request's body as a JSON object (``{}`` for none when ``optional``).

    Raises :class:`RequestError`: 413 past ``max_body`` octets (counted as they
    arrive, whatever Content-Length said), 400 for anything but a valid object.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise RequestError("body", f"larger than {max_body} octets", 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if optional:
            return {}
        raise RequestError("body", "a JSON object is required")
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise RequestError("body", f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError as exc:
        raise RequestError("body", f"invalid JSON: not UTF-8 (at byte {exc.start})") from None
    except ValueError as exc:  # JSONDecodeError, and the numbers refused below
        raise RequestError("body", f"invalid JSON: {_json_reason(exc)}") from None
    if not isinstance(data, dict):
        raise RequestError("body", "expected a JSON object")
    _check_values(data)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    text = str(exc)
    if "integer string conversion" in text:  # Python's limit on digits
        return "an integer with too many digits"
    return text


def _check_values(data: object) -> None:
    """Depth and strings, without recursion (a deep document must not hit Python's limit)."""
    stack: list[tuple[object, int, str]] = [(data, 1, "body")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise RequestError("body", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)
                stack.append((item, depth + 1, key if where == "body" else f"{where}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{where}[{n}]") for n, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, where)


def _check_text(text: str, where: str) -> None:
    if _SURROGATE.search(text):
        raise RequestError(
            where if _SURROGATE.search(where) is None else "body",
            "invalid JSON: a lone surrogate (\\ud800-\\udfff) is not text",
        )
