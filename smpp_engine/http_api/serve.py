"""Serving the HTTP API on the engine's HTTP/1.1 server, in the gateway's own trio run."""

from __future__ import annotations

import trio
from starlette.applications import Starlette

from ..asgi_serving import serve_asgi

__all__ = ["serve_api"]


async def serve_api(
    app: Starlette,
    *,
    host: str,
    port: int,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status.started`` gets the port.

    Port 0 picks a free one.
    """
    await serve_asgi(app, host=host, port=port, task_status=task_status)
