"""The gateway's HTTP API: send and track messages, steer campaigns, post payments.

Starlette served by the engine's HTTP/1.1 server (:mod:`smpp_engine.http_connection`).
``/v1/...`` needs an API key (``Authorization: Bearer KEY`` or ``X-API-Key``);
``/healthz``, ``/readyz`` and ``/openapi.json`` do not, nor ``/metrics`` when
configured public.
"""

from .app import create_app
from .context import ApiContext, RouteText
from .health import Readiness, probe_readiness
from .schema import openapi_document
from .serve import serve_api

__all__ = [
    "ApiContext",
    "Readiness",
    "RouteText",
    "create_app",
    "openapi_document",
    "probe_readiness",
    "serve_api",
]
