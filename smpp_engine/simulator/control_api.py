"""The HTTP control API of the simulator (Starlette on Hypercorn's trio worker, loopback).

- ``GET /stats``: scenario, connections, counters.
- ``GET /messages?destination=&source=&system_id=&message_id=&limit=``: accepted messages.
- ``GET /mo``: the MO injected lately.
- ``POST /mo``: inject one MO (``{"source", "destination", "text", ...}``), or play a
  CSV file (``{"csv": "path", "system_id": ..., "delay": ...}``).
- ``POST /scenario``: switch by ``{"name": ...}``, ``{"file": ...}`` or an inline
  ``{"scenario": {...}}``.
- ``POST /faults/{kind}``: ``drop``, ``stall``, ``unbind``, ``refuse_binds``,
  ``malformed``, ``clear``; body ``{"duration", "system_id", "variant"}``, all optional.
- ``GET /metrics``: Prometheus exposition.

A bad request is answered 400 with ``{"error": ..., "field": ...}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..asgi_serving import serve_asgi
from .faults import FaultError
from .mo import MoError
from .mo_csv import MoCsvError
from .scenario import ScenarioError, parse_scenario

if TYPE_CHECKING:
    from .server import Simulator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultRequest(_Body):
    duration: float | None = Field(default=None, gt=0)
    system_id: str | None = None
    variant: str | None = None


class CsvRequest(_Body):
    csv: str = Field(min_length=1)
    system_id: str | None = None
    delay: float = Field(default=0.0, ge=0)


class ScenarioRequest(_Body):
    name: str | None = None
    file: str | None = None
    scenario: dict[str, Any] | None = None


class BadRequestError(Exception):
    def __init__(self, field: str, error: str) -> None:
        self.field = field
        self.error = error
        super().__init__(f"{field}: {error}")


def _bad(field: str, error: str) -> JSONResponse:
    return JSONResponse({"error": error, "field": field}, status_code=400)


def _validation(exc: ValidationError) -> BadRequestError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    value = error.get("input")
    detail = error["msg"]
    if error["type"] != "missing":
        detail = f"{detail} (got {value!r})"
    return BadRequestError(field, detail)


async def _json(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if optional:
            return {}
        raise BadRequestError("body", "a JSON object is required")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequestError("body", f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequestError("body", "expected a JSON object")
    return data


def create_control_app(sim: Simulator) -> Starlette:
    """The Starlette application controlling ``sim``."""

    async def stats(request: Request) -> Response:
        return JSONResponse(sim.stats())

    async def messages(request: Request) -> Response:
        params = request.query_params
        unknown = set(params) - {"destination", "source", "system_id", "message_id", "limit"}
        if unknown:
            return _bad(sorted(unknown)[0], "unknown filter")
        limit: int | None = None
        if "limit" in params:
            try:
                limit = int(params["limit"])
            except ValueError:
                limit = 0
            if limit < 1:
                return _bad("limit", f"must be a positive integer (got {params['limit']!r})")
        now = trio.current_time()
        found = sim.messages(
            destination=params.get("destination"),
            source=params.get("source"),
            system_id=params.get("system_id"),
            message_id=params.get("message_id"),
            limit=limit,
        )
        return JSONResponse(
            {
                "messages": [record.to_dict(now) for record in found],
                "count": len(found),
                "held": len(sim.records),
                "dropped": sim.records.dropped,
            }
        )

    async def mo_log(request: Request) -> Response:
        return JSONResponse(
            {
                "injected": sim.mo_log.injected,
                "messages": [entry.to_dict() for entry in sim.mo_log.entries()],
            }
        )

    async def inject_mo(request: Request) -> Response:
        data = await _json(request)
        if "csv" in data:
            try:
                body = CsvRequest.model_validate(data)
            except ValidationError as exc:
                raise _validation(exc) from None
            try:
                rows = sim.play_csv(Path(body.csv), system_id=body.system_id, delay=body.delay)
            except MoCsvError as exc:
                raise BadRequestError("csv", str(exc)) from None
            except OSError as exc:
                raise BadRequestError("csv", f"{body.csv}: {exc.strerror or exc}") from None
            return JSONResponse({"rows": rows})
        try:
            result = sim.inject_mo(data)
        except MoError as exc:
            raise BadRequestError(exc.field, f"{exc.reason} (got {exc.value!r})") from None
        return JSONResponse(result.to_dict())

    async def scenario(request: Request) -> Response:
        data = await _json(request)
        try:
            body = ScenarioRequest.model_validate(data)
        except ValidationError as exc:
            raise _validation(exc) from None
        given = [key for key in ("name", "file", "scenario") if getattr(body, key) is not None]
        if len(given) != 1:
            raise BadRequestError("body", "give exactly one of name, file or scenario")
        try:
            if body.scenario is not None:
                chosen = sim.set_scenario(parse_scenario(body.scenario, search=sim.search))
            else:
                target = body.name if body.name is not None else Path(str(body.file))
                assert target is not None
                if body.file is not None and not Path(body.file).is_file():
                    raise BadRequestError("file", f"no such file: {body.file}")
                chosen = sim.set_scenario(target)
        except ScenarioError as exc:
            key = exc.field
            field = "name" if body.name is not None and key == "name" else key
            if body.scenario is not None:
                field = f"scenario.{key}"
            raise BadRequestError(field, str(exc)) from None
        return JSONResponse(
            {"scenario": chosen.name, "phases": len(chosen.phases), "active": sim.scenario.name}
        )

    async def fault(request: Request) -> Response:
        data = await _json(request, optional=True)
        try:
            body = FaultRequest.model_validate(data)
        except ValidationError as exc:
            raise _validation(exc) from None
        try:
            result = sim.fault(
                request.path_params["kind"],
                duration=body.duration,
                system_id=body.system_id,
                variant=body.variant,
            )
        except FaultError as exc:
            raise BadRequestError(exc.field, exc.reason) from None
        return JSONResponse(result)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequestError)
        return _bad(exc.field, exc.error)

    return Starlette(
        routes=[
            Route("/stats", stats, methods=["GET"]),
            Route("/messages", messages, methods=["GET"]),
            Route("/mo", mo_log, methods=["GET"]),
            Route("/mo", inject_mo, methods=["POST"]),
            Route("/scenario", scenario, methods=["POST"]),
            Route("/faults/{kind}", fault, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        exception_handlers={BadRequestError: bad_request},
    )


async def serve_control_api(
    sim: Simulator,
    host: str,
    port: int,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the control API until cancelled; ``task_status.started`` gets the port."""
    await serve_asgi(create_control_app(sim), host=host, port=port, task_status=task_status)
