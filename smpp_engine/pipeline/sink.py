"""Where the pipeline puts its store updates: the batching writer, as the dispatcher sees it."""

from __future__ import annotations

from typing import Protocol

from ..store import Update

__all__ = ["UpdateSink"]


class UpdateSink(Protocol):
    """Updates in, written in order; marks (counts of updates) to wait on."""

    def submit_nowait(self, update: Update) -> None: ...

    async def submit(self, update: Update) -> None: ...

    async def flush(self) -> None: ...

    @property
    def submitted(self) -> int:
        """How many updates were ever submitted."""
        ...

    @property
    def written(self) -> int:
        """How many of them are durable."""
        ...

    async def wait_durable(self, count: int) -> None: ...
