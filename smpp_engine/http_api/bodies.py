"""Request bodies: JSON objects in, typed models out, or a 400/422 naming the field.

Strings are refused when they hold a NUL or a lone surrogate: neither store can
keep them and no SMSC can carry them, so they are bad input, not a crash later.
So are numbers JSON writes but no field can use: ``1e999`` reads as infinity.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request

from .errors import ApiError, invalid, short

__all__ = [
    "MAX_BODY",
    "ROUTE_MARK",
    "IsoTime",
    "PhoneNumber",
    "RouteName",
    "SenderId",
    "parse_body",
    "path_text",
    "read_json",
]

MAX_BODY = 8 * 1024 * 1024  # an inline recipient list of some 100,000 rows fits

#: Marks a route name in a body's JSON Schema; the document lists the configured routes there.
ROUTE_MARK = "x-smpp-route"

# Fields the handlers check themselves, naming the field in a 422: the document
# shows the plain form a client should send (pattern, format); the checks take
# the variants their descriptions name.
RouteName = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={ROUTE_MARK: True})]
PhoneNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A phone number, international; spaces, dashes and 00 are also accepted.",
        json_schema_extra={"pattern": r"^\+?[1-9][0-9]{7,14}$"},
    ),
]
SenderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Alphanumeric (at most 11) or a number (at most 16 digits).",
        json_schema_extra={"pattern": r"^([A-Za-z0-9]{1,11}|\+[1-9][0-9]{0,15})$"},
    ),
]
IsoTime = Annotated[
    str, Field(min_length=1, max_length=64, json_schema_extra={"format": "date-time"})
]

M = TypeVar("M", bound=BaseModel)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not one, 413 when it is too large."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiError(413, "body too large", f"a body is at most {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(400, "bad request", "a JSON object is required", field="body")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "bad request", f"the body is not JSON: {exc}", field="body") from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "bad request", "the body must be a JSON object", field="body", value=data
        )
    _check_values(data)
    return data


def _check_values(data: dict[str, Any]) -> None:
    # A loop, not recursion: a body nested as deep as the JSON parser allows
    # must not exhaust the stack here.
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            _check_text(value, path or "body")
        elif isinstance(value, float) and not math.isfinite(value):
            raise invalid(path or "body", value, "a number must be finite")
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path or "body")
                pending.append((item, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise invalid(field, text, "text may not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, text, "text is not valid Unicode (a lone surrogate)") from None


def parse_body(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as ``model``; the first validation error becomes a 422 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _field_path(error["loc"]) or "body"
        value = error.get("input") if error["type"] != "missing" else None
        raise ApiError(
            422,
            "invalid input",
            f"{field}: {error['msg']}"
            + (f" (got {short(value)})" if error["type"] != "missing" else ""),
            field=field,
            value=value,
        ) from None


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def path_text(request: Request, name: str, what: str, *, max_length: int = 200) -> str:
    """A text path parameter; one no store can hold (a NUL, a lone surrogate, too
    long) names nothing: a 404, as for any name that is not there."""
    text: str = request.path_params[name]
    try:
        text.encode("utf-8")
        holdable = "\x00" not in text and 1 <= len(text) <= max_length
    except UnicodeEncodeError:
        holdable = False
    if not holdable:
        raise ApiError(404, "not found", f"no {what} is named {short(text)}")
    return text
