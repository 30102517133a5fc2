"""The write-behind batching writer: the pipeline's updates reach the store in batches.

The pipeline hands each update over without waiting (:meth:`BatchWriter.submit_nowait`);
one task (:meth:`BatchWriter.run`) groups them into one :meth:`Store.record` call
per batch. A batch closes when it holds ``max_batch`` updates or its oldest update
has waited ``max_delay`` seconds; under load, whatever piled up while the previous
write ran goes out at once, so batches grow with the load.

Nothing is dropped: when the store is unavailable the same batch is retried with
back-off while new updates queue behind it, in order. A batch the store refuses
for another reason (a constraint, a fault in applying one update) is split until
the updates it refuses stand alone: those are set aside, logged and counted
(smpp_store_poison_updates_total), and every other update is written, in order.

The queue is bounded by ``max_backlog``: past it :meth:`submit_nowait` raises
:class:`trio.WouldBlock` and :meth:`submit` waits for room, which is how
back-pressure reaches the pipeline.

If :meth:`run` is cancelled while a write is in flight, that batch may or may
not have been committed; a writer started again retries it, so an update can be
applied twice (at-least-once). Close with :meth:`aclose` to avoid that.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import structlog
import trio

from metrics import STORE_POISON_UPDATES, STORE_WRITER_BACKLOG, child

from .errors import StoreUnavailableError
from .messages.model import Update

__all__ = ["BatchWriter", "UpdateRecorder"]

_log = structlog.get_logger("smpp_engine.store")


class UpdateRecorder(Protocol):
    """The one part of :class:`~.interface.Store` the writer uses."""

    name: str

    async def record(self, updates: Sequence[Update]) -> None: ...


class BatchWriter:
    """Groups updates into batched :meth:`Store.record` calls; see the module docstring.

    ``backlog`` (updates submitted and not yet durable) is the metric to watch.
    """

    def __init__(
        self,
        store: UpdateRecorder,
        *,
        max_batch: int = 1000,
        max_delay: float = 0.02,
        max_backlog: int = 100_000,
        retry_initial: float = 0.05,
        retry_max: float = 5.0,
    ) -> None:
        if max_batch < 1 or max_backlog < 1:
            raise ValueError("max_batch and max_backlog must be at least 1")
        if max_delay < 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("delays must be positive and retry_max >= retry_initial")
        self.store = store
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.max_backlog = max_backlog
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._pending: deque[Update] = deque()
        self._submitted = 0  # updates ever submitted
        self._written = 0  # updates ever made durable; the first in _pending is number _written
        self._closing = False
        self._running = False
        self._flush_waiters = 0
        self._arrived = trio.Event()  # set when _pending gains work or a flush/close is asked
        self._progress = trio.Event()  # set (and replaced) after every durable batch
        self.batches = 0  # record() calls that succeeded
        self._backlog_gauge = child(STORE_WRITER_BACKLOG, store.name)
        self.failures = 0  # record() calls that raised StoreUnavailableError
        self.refused = 0  # updates the store refused on their own, set aside
        self._poison = child(STORE_POISON_UPDATES, store.name).inc

    @property
    def backlog(self) -> int:
        """Updates submitted and not yet durable (the batch being written included)."""
        return len(self._pending)

    def submit_nowait(self, update: Update) -> None:
        """Queue ``update``; raises trio.WouldBlock when the backlog is full."""
        if self._closing:
            raise trio.ClosedResourceError("the batch writer is closed")
        if len(self._pending) >= self.max_backlog:
            raise trio.WouldBlock
        self._pending.append(update)
        self._submitted += 1
        self._arrived.set()

    async def submit(self, update: Update) -> None:
        """Queue ``update``, waiting while the backlog is full."""
        while True:
            try:
                self.submit_nowait(update)
            except trio.WouldBlock:
                await self._progress.wait()
            else:
                await trio.lowlevel.checkpoint()
                return

    @property
    def written(self) -> int:
        """How many updates were ever made durable (or set aside as refused)."""
        return self._written

    @property
    def submitted(self) -> int:
        """How many updates were ever submitted: a mark for :meth:`wait_durable`."""
        return self._submitted

    async def wait_durable(self, count: int) -> None:
        """Return once the first ``count`` updates ever submitted are durable.

        Unlike :meth:`flush` it does not close the current batch early: the
        updates go out with whatever else arrives within ``max_delay``.
        """
        while self._written < count:
            await self._progress.wait()
        await trio.lowlevel.checkpoint()

    async def flush(self) -> None:
        """Return once every update submitted before this call is durable."""
        target = self._submitted
        if self._written >= target:
            await trio.lowlevel.checkpoint()
            return
        self._flush_waiters += 1
        self._arrived.set()  # a flush closes the current batch without waiting out max_delay
        try:
            while self._written < target:
                await self._progress.wait()
        finally:
            self._flush_waiters -= 1

    async def aclose(self) -> None:
        """Refuse new updates, write everything queued, and let :meth:`run` return."""
        self._closing = True
        self._arrived.set()
        while self._running:
            await self._progress.wait()
        # run() is not running (never started, or cancelled mid-write): finish here.
        while self._pending:
            await self._write(self._take())
        await trio.lowlevel.checkpoint()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write batches until :meth:`aclose` was called and nothing is left."""
        if self._running:
            raise RuntimeError("BatchWriter.run is already running")
        self._running = True
        task_status.started()
        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._arrived = trio.Event()
                    await self._arrived.wait()
                    # A batch opens: wait until it is full, asked for, or old enough.
                    with trio.move_on_after(self.max_delay):
                        while len(self._pending) < self.max_batch and not self._urgent():
                            self._arrived = trio.Event()
                            await self._arrived.wait()
                    if not self._pending:
                        continue  # woken by a flush or close with nothing to write
                # Updates that piled up during the previous write go out at once.
                await self._write(self._take())
        finally:
            self._running = False
            self._notify()

    def _urgent(self) -> bool:
        return self._closing or self._flush_waiters > 0

    def _take(self) -> list[Update]:
        pending = self._pending
        if len(pending) <= self.max_batch:
            return list(pending)
        return list(itertools.islice(pending, self.max_batch))

    async def _write(self, batch: Sequence[Update]) -> None:
        self._backlog_gauge.set(len(self._pending))
        await self._write_isolating(batch)
        for _ in range(len(batch)):
            self._pending.popleft()
        self._written += len(batch)
        self.batches += 1
        self._backlog_gauge.set(len(self._pending))
        self._notify()

    async def _write_isolating(self, batch: Sequence[Update]) -> None:
        """Write ``batch``; if the store refuses it, write its halves, down to one update."""
        try:
            await self._write_retrying(batch)
        except Exception as exc:
            if len(batch) == 1:
                self.refused += 1
                self._poison()
                _log.error(
                    "store_refused_update",
                    store=self.store.name,
                    update=repr(batch[0])[:500],
                    error=str(exc)[:500],
                    exc_info=exc,
                )
                return
            middle = len(batch) // 2
            await self._write_isolating(batch[:middle])
            await self._write_isolating(batch[middle:])

    async def _write_retrying(self, batch: Sequence[Update]) -> None:
        """Write ``batch`` in one call, waiting out an unavailable store."""
        delay = self.retry_initial
        failed = False
        while True:
            try:
                await self.store.record(batch)
            except StoreUnavailableError as exc:
                failed = True
                self.failures += 1
                _log.warning(
                    "store_write_failed",
                    store=self.store.name,
                    error=str(exc),
                    batch=len(batch),
                    backlog=len(self._pending),
                    retry_in_s=delay,
                )
                await trio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            break
        if failed:
            _log.info("store_write_recovered", store=self.store.name, backlog=len(self._pending))

    def _notify(self) -> None:
        self._progress.set()
        self._progress = trio.Event()
