"""Serving an ASGI application with Hypercorn's trio worker, for every HTTP face of the engine.

The simulator's control API and the gateway's HTTP API both bind one address,
report the port they got (port 0 picks a free one) and serve until cancelled.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

__all__ = ["serve_asgi"]


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status.started`` gets the port."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None  # request lines would carry query strings; the app counts requests
    config.loglevel = "WARNING"  # its "Running on ..." line is not in the engine's log format
    config.graceful_timeout = 0.5
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(serve, app, config)
        task_status.started(int(binds[0].rsplit(":", 1)[1]))
