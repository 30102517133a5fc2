"""Run asyncio coroutines from trio: one background thread with a uvloop event loop.

asyncpg needs asyncio and the engine runs on trio. The bridge owns one loop in
one thread for its whole life; :meth:`AsyncioBridge.call` schedules a coroutine
there and parks the calling trio task until the loop thread wakes it through
the trio token. No thread per call.

Cancellation crosses both ways. A cancelled trio caller returns at once and its
asyncio task is cancelled behind it: the outcome of its work is then unknown to
the caller, but whole (an asyncpg transaction is rolled back unless its COMMIT
was already sent). A coroutine cancelled on the asyncio side (the bridge
stopping) raises :class:`BridgeCancelledError` in its trio caller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar, TypeVarTuple

import outcome
import trio

__all__ = ["AsyncioBridge", "BridgeCancelledError", "BridgeClosedError", "open_bridge"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class BridgeClosedError(RuntimeError):
    """The bridge is not running (not started, stopping or stopped): nothing was scheduled."""


class BridgeCancelledError(Exception):
    """The asyncio side cancelled the call (the bridge is stopping); its work was abandoned."""


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:  # pragma: no cover - uvloop is a dependency; the stdlib loop still works
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Call:
    """One call in flight: created on the trio thread, started and finished on the loop thread."""

    __slots__ = ("abandoned", "args", "bridge", "coro_fn", "task", "token", "trio_task")

    def __init__(
        self,
        bridge: AsyncioBridge,
        token: trio.lowlevel.TrioToken,
        coro_fn: Callable[..., Coroutine[Any, Any, Any]],
        args: tuple[Any, ...],
    ) -> None:
        self.bridge = bridge
        self.token = token
        self.coro_fn = coro_fn
        self.args = args
        self.trio_task = trio.lowlevel.current_task()
        self.task: asyncio.Task[Any] | None = None
        # Set on the trio thread when the caller was cancelled; a plain bool is
        # enough because the loop thread only reads it to skip useless work.
        self.abandoned = False

    # --- loop thread ---

    def start(self) -> None:
        if self.abandoned:
            return
        try:
            task = asyncio.get_running_loop().create_task(self.coro_fn(*self.args))
        except Exception as exc:  # coro_fn itself raised before returning a coroutine
            self._deliver(outcome.Error(exc))
            return
        self.task = task
        self.bridge._calls.add(self)
        task.add_done_callback(self._finished)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if self not in self.bridge._calls:
            return  # already answered by the bridge stopping
        self.bridge._calls.discard(self)
        if self.abandoned:
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as never seen
            return
        result: outcome.Outcome[Any]
        if task.cancelled():
            result = outcome.Error(BridgeCancelledError("cancelled on the asyncio side"))
        else:
            exc = task.exception()
            result = outcome.Value(task.result()) if exc is None else outcome.Error(exc)
        self._deliver(result)

    def _deliver(self, result: outcome.Outcome[Any]) -> None:
        # When the trio run is over, nobody is waiting any more.
        with suppress(trio.RunFinishedError):
            self.token.run_sync_soon(self._wake, result)

    # --- trio thread ---

    def _wake(self, result: outcome.Outcome[Any]) -> None:
        if not self.abandoned:
            trio.lowlevel.reschedule(self.trio_task, result)

    def abort(self, _raise_cancel: Any) -> trio.lowlevel.Abort:
        self.abandoned = True
        # A closed loop raises RuntimeError: its tasks are already gone.
        with suppress(RuntimeError):
            self.bridge._loop.call_soon_threadsafe(self.cancel)
        return trio.lowlevel.Abort.SUCCEEDED


class AsyncioBridge:
    """An asyncio event loop (uvloop when installed) in a background thread, callable from trio.

    Open it with :func:`open_bridge`. Objects bound to the loop (an asyncpg pool)
    must be created and used only through :meth:`call`.
    """

    def __init__(self, *, stop_grace: float = 5.0) -> None:
        self._loop = _new_loop()
        self._stop_grace = stop_grace
        self._thread = threading.Thread(target=self._run, name="asyncio-bridge", daemon=True)
        self._token: trio.lowlevel.TrioToken | None = None
        self._closing = False
        self._stopped = trio.Event()
        self._calls: set[_Call] = set()  # started and not answered; touched only on the loop thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def start(self) -> None:
        """Start the loop thread; call from inside ``trio.run``."""
        if self._token is not None:
            raise RuntimeError("the bridge was already started")
        self._token = trio.lowlevel.current_trio_token()
        self._thread.start()

    async def call(self, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts) -> T:
        """Run ``coro_fn(*args)`` on the loop; return its result or raise its exception here."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._token is None or self._closing:
            raise BridgeClosedError("the asyncio bridge is not running")
        pending = _Call(self, self._token, coro_fn, args)
        try:
            self._loop.call_soon_threadsafe(pending.start)
        except RuntimeError as exc:  # the loop is closed
            raise BridgeClosedError("the asyncio bridge is not running") from exc
        result: T = await trio.lowlevel.wait_task_rescheduled(pending.abort)
        return result

    async def aclose(self) -> None:
        """Cancel what still runs on the loop, stop it and join its thread. Idempotent.

        Shielded: a caller leaving a cancelled scope still stops the thread, and
        the wait is bounded by ``stop_grace`` on the loop side.
        """
        with trio.CancelScope(shield=True):
            if self._token is None:
                self._loop.close()
                return
            if not self._closing:
                self._closing = True
                self._loop.call_soon_threadsafe(self._begin_stop)
            await self._stopped.wait()
            self._thread.join()

    # --- loop thread ---

    def _begin_stop(self) -> None:
        self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._stop_grace)
        self._loop.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            # A task that outlived the grace period (or a loop that died) must not
            # leave its trio caller parked for ever.
            for pending in self._calls:
                if not pending.abandoned:
                    pending._deliver(outcome.Error(BridgeCancelledError("the bridge stopped")))
            self._calls.clear()
            self._loop.close()
            asyncio.set_event_loop(None)
            assert self._token is not None
            with suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._stopped.set)


@asynccontextmanager
async def open_bridge(*, stop_grace: float = 5.0) -> AsyncIterator[AsyncioBridge]:
    """Start a bridge for the body; stop it (tasks cancelled, thread joined) on the way out."""
    bridge = AsyncioBridge(stop_grace=stop_grace)
    bridge.start()
    try:
        yield bridge
    finally:
        await bridge.aclose()
