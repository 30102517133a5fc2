"""The delivery pipeline: the store, the batching writer and one dispatcher per SMSC route.

At start it requeues what a crashed run left mid-submission (at-least-once:
the duplicates are bounded by what was in flight, and counted). While it runs
it keeps doing so for other processes sharing the store, and turns submitted
messages whose receipt never came into UNKNOWN.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
import trio

from ..store import Accepted, NewMessage, Store, StoreUnavailableError
from ..store.writer import BatchWriter
from .accepting import GroupCommit
from .dispatcher import RouteDispatcher
from .mo import MoMessage
from .route import SmscRoute

__all__ = ["Pipeline", "default_owner"]

_log = structlog.get_logger("smpp_engine.pipeline")


def default_owner() -> str:
    """This process's name in leases: host and pid, unique among live processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Pipeline:
    """Accepts messages durably and delivers them over the routes' binds.

    ``housekeeping`` is how often (seconds) expired leases of other processes
    are recovered and overdue receipts are given up on.
    """

    def __init__(
        self,
        store: Store,
        routes: Sequence[SmscRoute],
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        on_mo: Callable[[MoMessage], None] | None = None,
        writer_batch: int = 2000,
        writer_delay: float = 0.005,
        housekeeping: float = 30.0,
    ) -> None:
        names = [route.name for route in routes]
        if not routes or len(set(names)) != len(names):
            raise ValueError(f"routes must be one or more with distinct names, got {names!r}")
        self.store = store
        self.owner = owner or default_owner()
        self.clock = clock
        # Outcomes cannot wait for room; the dispatchers bound them (max_unsettled),
        # so this limit only stops a runaway backlog.
        self.writer = BatchWriter(
            store, max_batch=writer_batch, max_delay=writer_delay, max_backlog=1_000_000
        )
        self.housekeeping = housekeeping
        self._group_commit = GroupCommit(store, clock)
        self._housekeeping_scope = trio.CancelScope()
        self.dispatchers = {
            route.name: RouteDispatcher(
                route, store, self.writer, owner=self.owner, clock=clock, on_mo=on_mo
            )
            for route in routes
        }

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        """Store ``messages`` durably and wake their routes; the ids come back once durable."""
        unknown = {m.smsc for m in messages} - self.dispatchers.keys()
        if unknown:
            raise ValueError(f"smsc: no route named {sorted(unknown)!r}")
        accepted = await self._group_commit.accept(messages)
        for smsc in {m.smsc for m in messages}:
            self.dispatchers[smsc].wake()
        return accepted

    def stop(self) -> None:
        """Begin a graceful shutdown; :meth:`run` returns when it is complete.

        Each route sends nothing new, waits for the answers in flight, unbinds
        and gives its untried claims back; then the writer's last batch is
        written. Safe to call before :meth:`run` has started or more than once.
        """
        for dispatcher in self.dispatchers.values():
            dispatcher.stop()
        self._housekeeping_scope.cancel()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, start the writer and every route; run until :meth:`stop` or cancelled.

        Whichever ends it, the updates already handed to the writer are written
        (shielded). After a cancellation (not a stop) requests still in flight
        are left to the lease: the next run recovers them as possible duplicates.
        """
        await self._recover()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.writer.run)
                async with trio.open_nursery() as routes:
                    for dispatcher in self.dispatchers.values():
                        await routes.start(dispatcher.run)
                    routes.start_soon(self._housekeep)
                    task_status.started()
                # Every route has stopped: only the writer is left to finish.
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(30):
                await self.writer.aclose()

    async def _recover(self) -> None:
        report = await self.store.recover(now=self.clock())
        if report.requeued:
            _log.warning(
                # counted in smpp_pipeline_possible_duplicates_total when resent
                "messages caught mid-submission are queued again; the SMSC may have some",
                requeued=report.requeued,
            )

    async def _housekeep(self) -> None:
        longest = max(route.receipt_timeout for route in self._routes())
        with self._housekeeping_scope:
            while True:
                await trio.sleep(self.housekeeping)
                now = self.clock()
                try:
                    await self._recover()
                    given_up = 0
                    for route in self._routes():
                        given_up += await self.store.expire_receipts(
                            older_than=now - route.receipt_timeout, now=now, smsc=route.name
                        )
                    purged = await self.store.purge_held_receipts(older_than=now - longest)
                except StoreUnavailableError as exc:
                    _log.warning("housekeeping skipped: the store is unavailable", error=str(exc))
                    continue
                if given_up:
                    _log.info("no receipt in time: messages are UNKNOWN", messages=given_up)
                if purged:
                    # Their part never got the SMSC id they name: nothing to apply them to.
                    _log.warning(
                        "held receipts matched no submit in time; forgotten", receipts=purged
                    )

    def _routes(self) -> list[SmscRoute]:
        return [d.route for d in self.dispatchers.values()]
