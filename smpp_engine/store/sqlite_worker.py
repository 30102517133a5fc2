"""The one thread that owns the SQLite connection, and how trio tasks wait on it.

A sqlite3 connection belongs to the thread that made it, so every statement runs
on one dedicated worker thread, in the order the calls were made. A trio caller
puts a job on the worker's queue and parks; the worker runs the job and wakes
the caller through its trio token. No thread per call, no ``trio.to_thread``.

Cancellation: a job not started yet when its caller is cancelled is skipped; a
job already running finishes (its transaction commits or rolls back whole) and
its result is dropped. Either way nothing is half-written.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import outcome
import trio

from metrics import STORE_ERRORS, child

from .errors import StoreError, StoreUnavailableError

__all__ = ["SqliteWorker", "in_snapshot", "in_transaction", "map_error"]

T = TypeVar("T")

# Primary result codes after which the same call may work later: the file is
# locked by another process, the disk is full or failing, the file cannot be
# opened (yet). Anything else (constraint, corrupt file, bad SQL) will not heal
# by waiting, so it is a plain StoreError.
_TRANSIENT_CODES = frozenset(
    {
        5,  # SQLITE_BUSY
        6,  # SQLITE_LOCKED
        7,  # SQLITE_NOMEM
        8,  # SQLITE_READONLY
        10,  # SQLITE_IOERR
        13,  # SQLITE_FULL
        14,  # SQLITE_CANTOPEN
        15,  # SQLITE_PROTOCOL
    }
)

_PENDING, _RUNNING, _DONE, _ABANDONED = range(4)


def map_error(store: str, operation: str, exc: sqlite3.Error) -> StoreError:
    """The typed store error for a sqlite3 exception, naming the operation."""
    code = getattr(exc, "sqlite_errorcode", None)
    transient = (code & 0xFF) in _TRANSIENT_CODES if isinstance(code, int) else False
    if code is None and isinstance(exc, sqlite3.OperationalError):
        transient = True  # no code to tell by: "operational" is usually the environment
    kind = StoreUnavailableError if transient else StoreError
    return kind(store, f"{operation}: {exc}")


def in_transaction(connection: sqlite3.Connection, work: Callable[[], T]) -> T:
    """Run ``work`` as one write transaction: all of it commits, or none of it."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return result


def in_snapshot(connection: sqlite3.Connection, work: Callable[[], T]) -> T:
    """Run ``work`` as one read transaction, so its queries see one state."""
    connection.execute("BEGIN")
    try:
        return work()
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")


class _Job(Generic[T]):
    __slots__ = ("fn", "operation", "result", "state", "task", "token")

    def __init__(
        self,
        operation: str,
        fn: Callable[[sqlite3.Connection], T] | None,
        task: trio.lowlevel.Task,
        token: trio.lowlevel.TrioToken,
    ) -> None:
        self.operation = operation
        self.fn = fn  # None: the stop job
        self.task = task
        self.token = token
        self.state = _PENDING
        self.result: outcome.Outcome[T] | None = None


class SqliteWorker:
    """Runs functions of the connection on one thread, one at a time, in call order."""

    def __init__(self, store: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self._store = store
        self._connect = connect
        self._connection: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[_Job[Any]] = queue.SimpleQueue()
        # Guards job state changes between the worker (start, finish) and the
        # trio thread (abort on cancellation).
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name=f"{store}-store", daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(self, operation: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the worker thread; sqlite3 errors become StoreErrors."""
        if self._stopping:
            raise StoreError(self._store, f"{operation}: the store is closed")
        try:
            return await self._submit(_Job(operation, fn, *self._caller()))
        except StoreError:
            child(STORE_ERRORS, self._store, operation).inc()
            raise

    async def stop(self) -> None:
        """Run the jobs queued so far, close the connection, end the thread. Idempotent."""
        if self._stopping:
            await trio.lowlevel.checkpoint()
            return
        self._stopping = True
        job: _Job[None] = _Job("close", None, *self._caller())
        await self._submit(job)

    @staticmethod
    def _caller() -> tuple[trio.lowlevel.Task, trio.lowlevel.TrioToken]:
        return trio.lowlevel.current_task(), trio.lowlevel.current_trio_token()

    async def _submit(self, job: _Job[T]) -> T:
        self._jobs.put(job)

        def abort(_: Any) -> trio.lowlevel.Abort:
            with self._lock:
                if job.state == _DONE:
                    return trio.lowlevel.Abort.FAILED  # the wake-up is already on its way
                # A pending job is skipped, a running one finishes unheard; the stop
                # job always runs (the connection must be closed) but is not awaited.
                job.state = _ABANDONED
                return trio.lowlevel.Abort.SUCCEEDED

        result: T = await trio.lowlevel.wait_task_rescheduled(abort)
        return result

    # --- worker thread ---

    def _main(self) -> None:
        while True:
            job = self._jobs.get()
            with self._lock:
                skipped = job.state == _ABANDONED and job.fn is not None
                if not skipped:
                    job.state = _RUNNING
            if skipped:
                continue
            if job.fn is None:
                self._close()
                self._finish(job, outcome.Value(None))
                return
            self._finish(job, self._execute(job))

    def _execute(self, job: _Job[T]) -> outcome.Outcome[T]:
        assert job.fn is not None
        try:
            if self._connection is None:
                self._connection = self._connect()
            return outcome.Value(job.fn(self._connection))
        except sqlite3.Error as exc:
            return outcome.Error(map_error(self._store, job.operation, exc))
        except Exception as exc:
            return outcome.Error(exc)

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):  # the file is released either way
                self._connection.close()
            self._connection = None

    def _finish(self, job: _Job[T], result: outcome.Outcome[T]) -> None:
        with self._lock:
            if job.state == _ABANDONED:
                return
            job.state = _DONE
        # RunFinishedError: the trio run that waited is gone; nobody is left to tell.
        with contextlib.suppress(trio.RunFinishedError):
            job.token.run_sync_soon(trio.lowlevel.reschedule, job.task, result)
