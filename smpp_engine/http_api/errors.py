"""The API's error answers: ``{"error", "detail"}``, plus the field at fault (:mod:`.answers`).

Handlers raise :class:`ApiError`; the app turns it, and Starlette's own 404 and
405, into that shape so every answer a client gets is JSON.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .answers import Error, FieldError, respond

__all__ = ["ApiError", "api_error_response", "http_exception_response", "invalid", "short"]


class ApiError(Exception):
    """An answer other than success: ``status``, a short ``error`` and a ``detail`` sentence.

    ``field`` and ``value`` name the input at fault (422), so a client can show
    it next to the right box.
    """

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        field: str | None = None,
        value: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field
        self.value = value
        self.headers = headers

    def answer(self) -> Error:
        """The answer's body: a :class:`FieldError` when a field is named."""
        if self.field is None:
            return Error(error=self.error, detail=self.detail)
        return FieldError(
            error=self.error, detail=self.detail, field=self.field, value=_json_safe(self.value)
        )


def invalid(field: str, value: Any, reason: str) -> ApiError:
    """A 422 naming ``field`` and the ``value`` found there."""
    return ApiError(
        422, "invalid input", f"{field}: {reason} (got {short(value)})", field=field, value=value
    )


async def api_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return respond(exc.answer(), exc.status, exc.headers)


async def http_exception_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "http error")
    return respond(Error(error=error, detail=str(exc.detail)), exc.status_code, exc.headers)


def short(value: Any) -> str:
    """``value`` as a reader sees it in a detail sentence: its repr, cut at 80 characters."""
    try:
        text = repr(value)
    except RecursionError:  # a list nested as deep as the JSON parser allows
        return "(a value nested too deep to show)"
    return text if len(text) <= 80 else text[:77] + "..."


def _json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it: a client's own input, echoed back (cut when long)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        safe = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return safe if len(safe) <= 200 else safe[:200] + "..."
    return short(value)
