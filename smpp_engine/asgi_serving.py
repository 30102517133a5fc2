"""Serving an ASGI application with Hypercorn's trio worker, for every HTTP face of the engine.

The simulator's control API and the gateway's HTTP API both bind one address,
report the port they got (port 0 picks a free one) and serve until cancelled.
An address that cannot be listened on (in use, a port below 1024 without the
right) is a :class:`ListenError` naming it, not an OSError deep in exception groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

__all__ = ["ListenError", "serve_asgi"]


class ListenError(OSError):
    """``host:port`` cannot be listened on; ``errno`` and ``reason`` say why (EADDRINUSE)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        self.host = host
        self.port = port
        self.reason = cause.strerror or str(cause)
        super().__init__(cause.errno, self.reason)

    def __str__(self) -> str:
        return f"cannot listen on {self.host}:{self.port}: {self.reason}"


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until cancelled; ``task_status.started`` gets the port.

    Raises :class:`ListenError` when the address cannot be bound.
    """
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None  # request lines would carry query strings; the app counts requests
    config.loglevel = "WARNING"  # its "Running on ..." line is not in the engine's log format
    config.graceful_timeout = 0.5
    failure: OSError | None = None
    async with trio.open_nursery() as nursery:
        try:
            binds: list[str] = await nursery.start(serve, app, config)
        except (OSError, BaseExceptionGroup) as exc:
            failure = _bind_failure(exc)
            if failure is None:
                raise
        else:
            task_status.started(int(binds[0].rsplit(":", 1)[1]))
    if failure is not None:
        # Raised out here, not in the nursery, so it is not wrapped in a group.
        raise ListenError(host, port, failure) from None


def _bind_failure(exc: BaseException) -> OSError | None:
    """The one OSError a failed start came down to (Hypercorn nests it in groups), if any."""
    if isinstance(exc, OSError):
        return exc
    if not isinstance(exc, BaseExceptionGroup):
        return None
    matched, rest = exc.split(OSError)
    if matched is None or rest is not None:
        return None
    leaves = list(_leaves(matched))
    return leaves[0] if len(leaves) == 1 and isinstance(leaves[0], OSError) else None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
