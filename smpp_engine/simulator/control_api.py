"""The HTTP control API of the simulator (Starlette on the engine's HTTP/1.1 server, loopback).

- ``GET /stats``: scenario, connections, counters (``listener``: connections
  refused at the cap, bind timeouts, binds refused for their credentials).
- ``GET /messages?destination=&source=&system_id=&message_id=&limit=``: accepted messages.
- ``GET /mo``: the MO injected lately.
- ``POST /mo``: inject one MO (``{"source", "destination", "text", ...}``), or play
  MO CSV rows: ``{"csv_text": "source,destination,text[,delay]\\n..."}`` or
  ``{"csv": "NAME.csv"}`` (a file in the scenario folder), with ``system_id`` and
  ``delay``.
- ``POST /scenario``: switch by ``{"name": ...}`` or ``{"file": ...}`` (a file in
  the scenario folder) or an inline ``{"scenario": {...}}`` (whose ``mo.csv`` and
  phases' ``use`` must name files in the scenario folder too).
- ``POST /faults/{kind}``: ``drop``, ``stall``, ``unbind``, ``refuse_binds``,
  ``malformed``, ``clear``; body ``{"duration", "system_id", "variant"}``, all optional.
- ``GET /metrics``: Prometheus exposition.

No path a request names is opened unless it resolves to a file inside the
scenario folder the simulator was started with (:mod:`.scenario_folder`); errors
about a file never quote what it holds. Every request passes the checks of
:mod:`.control_requests` first (Host, Origin, the optional bearer token on every
route, JSON bodies of at most 1 MiB). A bad request is answered 400 with
``{"error": ..., "field": ...}`` (413, 415, 421, 401 and 403 likewise).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
import trio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..asgi_serving import serve_asgi
from .control_requests import MIN_TOKEN_LENGTH, RequestError, RequestGuard, read_json, shorten
from .faults import FaultError
from .mo import MoError
from .mo_csv import CsvMo, MoCsvError, parse_mo_csv, read_mo_csv
from .scenario import ScenarioError, parse_scenario
from .scenario_folder import FolderError

if TYPE_CHECKING:
    from .server import Simulator

__all__ = ["MIN_TOKEN_LENGTH", "create_control_app", "serve_control_api"]

_log = structlog.get_logger("smpp_engine.simulator")
_FIELD = 64  # characters of an unknown query parameter's name echoed


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultRequest(_Body):
    duration: float | None = Field(default=None, gt=0)
    system_id: str | None = None
    variant: str | None = None


class CsvRequest(_Body):
    csv: str | None = Field(default=None, min_length=1)
    csv_text: str | None = None
    system_id: str | None = Field(default=None, min_length=1, max_length=15)
    delay: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class ScenarioRequest(_Body):
    name: str | None = None
    file: str | None = None
    scenario: dict[str, Any] | None = None


_Model = TypeVar("_Model", bound=BaseModel)


def _validated(model: type[_Model], data: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        detail = error["msg"]
        if error["type"] != "missing":
            detail = f"{detail} (got {shorten(error.get('input'))})"
        raise RequestError(field, detail) from None


def _in_folder(find: Callable[[str], Path], field: str, name: str) -> Path:
    try:
        return find(name)
    except FolderError as exc:
        raise RequestError(field, f"{shorten(name)}: {exc.reason}") from None


def _scenario_refused(exc: ScenarioError, field: str, given: str) -> RequestError:
    if exc.quotes_files:  # the operator reads the whole story in the log
        _log.warning("scenario refused", error=str(exc))
    return RequestError(field, exc.shown(given))


def create_control_app(sim: Simulator) -> Starlette:
    """The Starlette application controlling ``sim``."""

    async def stats(request: Request) -> Response:
        return JSONResponse(sim.stats())

    async def messages(request: Request) -> Response:
        params = request.query_params
        unknown = set(params) - {"destination", "source", "system_id", "message_id", "limit"}
        if unknown:
            raise RequestError(sorted(unknown)[0][:_FIELD], "unknown filter")
        limit: int | None = None
        if "limit" in params:
            try:
                limit = int(params["limit"])
            except ValueError:
                limit = 0
            if limit < 1:
                raise RequestError(
                    "limit", f"must be a positive integer (got {shorten(params['limit'])})"
                )
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
        data = await read_json(request)
        if "csv" in data or "csv_text" in data:
            return JSONResponse({"rows": play_csv(_validated(CsvRequest, data))})
        try:
            result = sim.inject_mo(data)
        except MoError as exc:
            raise RequestError(exc.field, f"{exc.reason} (got {shorten(exc.value)})") from None
        return JSONResponse(result.to_dict())

    def play_csv(body: CsvRequest) -> int:
        if (body.csv is None) == (body.csv_text is None):
            raise RequestError(
                "body", "give one of csv (a file in the scenario folder) or csv_text"
            )
        field = "csv" if body.csv is not None else "csv_text"
        rows: list[CsvMo]
        try:
            if body.csv is not None:
                rows = read_mo_csv(_in_folder(sim.folder.file, "csv", body.csv))
            else:
                assert body.csv_text is not None
                rows = parse_mo_csv(body.csv_text)
        except MoCsvError as exc:
            raise RequestError(field, exc.shown()) from None
        except OSError as exc:
            raise RequestError(field, f"cannot be read: {exc.strerror or 'error'}") from None
        return sim.play_mo_rows(rows, system_id=body.system_id, delay=body.delay)

    async def scenario(request: Request) -> Response:
        body = _validated(ScenarioRequest, await read_json(request))
        given = [key for key in ("name", "file", "scenario") if getattr(body, key) is not None]
        if len(given) != 1:
            raise RequestError("body", "give exactly one of name, file or scenario")
        folder = sim.folder
        if body.scenario is not None:
            try:
                parsed = parse_scenario(body.scenario, search=sim.search, within=folder)
            except ScenarioError as exc:
                key = exc.problems[0].caller_key if exc.problems else ""
                field = f"scenario.{key}" if key else "scenario"
                raise _scenario_refused(exc, field, "<inline>") from None
            chosen = sim.set_scenario(parsed)
        else:
            field = given[0]
            name = str(body.name if body.name is not None else body.file)
            find = folder.scenario if body.name is not None else folder.file
            path = _in_folder(find, field, name)
            try:
                chosen = sim.set_scenario(path)
            except ScenarioError as exc:
                raise _scenario_refused(exc, field, name) from None
        return JSONResponse(
            {"scenario": chosen.name, "phases": len(chosen.phases), "active": sim.scenario.name}
        )

    async def fault(request: Request) -> Response:
        body = _validated(FaultRequest, await read_json(request, optional=True))
        try:
            result = sim.fault(
                request.path_params["kind"],
                duration=body.duration,
                system_id=body.system_id,
                variant=body.variant,
            )
        except FaultError as exc:
            raise RequestError(exc.field, exc.reason) from None
        return JSONResponse(result)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return exc.response()

    def served() -> tuple[str, int | None]:
        return sim.control_host, sim.control_port

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
        exception_handlers={RequestError: refused},
        middleware=[Middleware(RequestGuard, served=served, token=sim.control_token)],
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
