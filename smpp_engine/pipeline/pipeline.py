"""The delivery pipeline: the store, the batching writer and one dispatcher per SMSC route.

At start it requeues what a crashed run left mid-submission (at-least-once:
the duplicates are bounded by what was in flight, and counted; a message in
flight at ``quarantine_after`` unclean stops in a row is quarantined instead).
While it runs it keeps doing so for other processes sharing the store, and turns
submitted messages whose receipt never came into UNKNOWN.

A route whose task fails unexpectedly is started again after a back-off, its
claims given back first; the other routes and the process go on. What each
route is doing is in :meth:`Pipeline.route_status` (``/readyz`` shows it).

Routes change while it runs: a pause kept in the store is read every
``pause_poll`` seconds (so it holds in every process on the store), a route is
rebound (:meth:`Pipeline.rebind`), and :meth:`Pipeline.reconfigure` applies
new, removed and changed routes from reloaded settings without losing a
message: a removed route stops claiming, finishes what is in flight and leaves
its queued messages in the store; a changed one stops the same way and starts
again with its new settings.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog
import trio

from metrics import PIPELINE_QUARANTINED, PIPELINE_ROUTE_RESTARTS, child

from ..esme import Backoff
from ..store import Accepted, NewMessage, PauseStore, Store, StoreError
from ..store.writer import BatchWriter
from .accepting import GroupCommit
from .dispatcher import RouteDispatcher
from .mo import MoMessage
from .parts import ReceiptLevel
from .route import SmscRoute

__all__ = ["Pipeline", "RouteStatus", "default_owner"]

_log = structlog.get_logger("smpp_engine.pipeline")

# A route that ran this long since its last restart starts its back-off afresh.
_STABLE_AFTER = 300.0
# Cut to this length in logs and /readyz.
_ERROR_LENGTH = 300


@dataclass(frozen=True, slots=True)
class RouteStatus:
    """What a route is doing: binds up, and its restarts after unexpected faults.

    ``restarting`` is true while it waits to be started again; ``last_error``
    says what ended its last run, when one failed. ``binds`` is how many it is
    configured to hold, ``rate`` the segments per second its controller allows
    now (None: no limit; the adaptive controller cuts it after a throttle) and
    ``rate_state`` that controller's state; ``smsc`` is the SMSC's host:port and
    ``system_id`` the account. ``paused``: the route claims nothing new (as this
    process last read the store). ``failover_after``: seconds with no bind up before
    messages whose rule lists another route move there (None: not known here).
    """

    binds_up: int
    restarts: int = 0
    restarting: bool = False
    last_error: str | None = None
    binds: int = 0
    rate: float | None = None
    rate_state: str | None = None
    smsc: str = ""
    system_id: str = ""
    paused: bool = False
    failover_after: float | None = None


class _RouteHealth:
    __slots__ = ("last_error", "restarting", "restarts")

    def __init__(self) -> None:
        self.restarts = 0
        self.restarting = False
        self.last_error: str | None = None


def default_owner() -> str:
    """This process's name in leases: host and pid, unique among live processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Pipeline:
    """Accepts messages durably and delivers them over the routes' binds.

    ``housekeeping`` is how often (seconds) expired leases of other processes
    are recovered and overdue receipts are given up on. ``quarantine_after``:
    unclean stops in a row that quarantine a message in flight at each.
    ``restart_delay`` and ``restart_max_delay``: the back-off before a failed
    route is started again.
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
        quarantine_after: int = 3,
        restart_delay: float = 1.0,
        restart_max_delay: float = 60.0,
        pause_poll: float = 1.0,
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
        self.quarantine_after = quarantine_after
        self._restart_backoff = (restart_delay, restart_max_delay)
        self._health = {route.name: _RouteHealth() for route in routes}
        self._stopping = trio.Event()
        self._group_commit = GroupCommit(store, clock)
        self._housekeeping_scope = trio.CancelScope()
        self._pauses_scope = trio.CancelScope()
        self._on_mo = on_mo
        self.pause_poll = pause_poll
        self._paused: frozenset[str] = frozenset()
        self.dispatchers = {route.name: self._dispatcher(route) for route in routes}
        # What a route's supervisor runs once its dispatcher has stopped: a
        # dispatcher with new settings, or None when the route was removed.
        self._successors: dict[str, RouteDispatcher | None] = {}
        self._routes_nursery: trio.Nursery | None = None
        # The last lease generation of each route removed, should it come back.
        self._generations: dict[str, int] = {}

    def _dispatcher(self, route: SmscRoute) -> RouteDispatcher:
        dispatcher = RouteDispatcher(
            route, self.store, self.writer, owner=self.owner, clock=self.clock, on_mo=self._on_mo
        )
        dispatcher.paused = route.name in self._paused
        return dispatcher

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
        self._stopping.set()
        self._housekeeping_scope.cancel()
        self._pauses_scope.cancel()

    def rebind(self, name: str) -> None:
        """Drop ``name``'s binds and bind again (KeyError: no such route).

        The answers in flight are awaited (or recovered, as on any lost bind),
        the claims not tried go back to the queue, and the route starts again at
        once: nothing is lost.
        """
        self.dispatchers[name].rebind()

    def reconfigure(
        self, routes: Sequence[SmscRoute], *, changed: Collection[str] | None = None
    ) -> dict[str, list[str]]:
        """Run ``routes`` from now on: the new ones start, the removed ones stop
        (their queued messages stay in the store), the changed ones stop and start
        again with their new settings. ``changed`` names the routes whose settings
        changed, when the caller knows better than comparing routes (their parts
        need not compare by value). Says which routes were added, removed and
        changed (by name). Only while :meth:`run` runs."""
        if self._routes_nursery is None or self._stopping.is_set():
            raise RuntimeError("the pipeline is not running")
        names = [route.name for route in routes]
        if not routes or len(set(names)) != len(names):
            raise ValueError(f"routes must be one or more with distinct names, got {names!r}")
        wanted = {route.name: route for route in routes}
        current = {name: d.route for name, d in self.dispatchers.items()}
        change: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
        for name in current.keys() - wanted.keys():
            self._successors[name] = None
            self.dispatchers[name].stop()
            change["removed"].append(name)
        for name, route in wanted.items():
            if name not in current:
                dispatcher = self._dispatcher(route)
                dispatcher.lease.generation = self._generations.get(name, 0)
                self.dispatchers[name] = dispatcher
                self._health[name] = _RouteHealth()
                self._routes_nursery.start_soon(self._supervise, dispatcher)
                change["added"].append(name)
            elif name in self._successors:
                # Still stopping for an earlier reload (removed or changed): it
                # starts again with the newest settings.
                self._successors[name] = self._dispatcher(route)
                change["changed"].append(name)
            elif name in changed if changed is not None else route != current[name]:
                self._successors[name] = self._dispatcher(route)
                self.dispatchers[name].stop()
                change["changed"].append(name)
        for names_changed in change.values():
            names_changed.sort()
        return change

    def route_status(self) -> dict[str, RouteStatus]:
        """Each route's binds, rate and restarts, by name."""
        statuses = {}
        for name, dispatcher in self.dispatchers.items():
            health = self._health[name]
            route = dispatcher.route
            rate = getattr(dispatcher.controller, "rate", None)
            state = getattr(dispatcher.controller, "state", None)
            statuses[name] = RouteStatus(
                binds_up=dispatcher.binds_up,
                restarts=health.restarts,
                restarting=health.restarting,
                last_error=health.last_error,
                binds=route.binds,
                rate=rate if rate is not None and math.isfinite(rate) else None,
                rate_state=None if state is None else str(state),
                smsc=f"{route.esme.host}:{route.esme.port}",
                system_id=route.esme.system_id,
                paused=dispatcher.paused,
                failover_after=route.failover_after,
            )
        return statuses

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, start the writer and every route; run until :meth:`stop` or cancelled.

        Whichever ends it, the updates already handed to the writer are written
        (shielded). After a cancellation (not a stop) requests still in flight
        are left to the lease: the next run recovers them as possible duplicates.
        """
        await self._recover()
        await self.read_pauses()
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.writer.run)
                async with trio.open_nursery() as routes:
                    for dispatcher in list(self.dispatchers.values()):
                        await routes.start(self._supervise, dispatcher)
                    self._routes_nursery = routes
                    routes.start_soon(self._housekeep)
                    routes.start_soon(self._watch_pauses)
                    task_status.started()
                # Every route has stopped: only the writer is left to finish.
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(30):
                await self.writer.aclose()

    async def _supervise(
        self, dispatcher: RouteDispatcher, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run ``dispatcher`` until it stops; start it again after an unexpected fault.

        Started (for ``task_status``) once its first run has bound its pool, or
        has failed: a route that cannot start does not hold the others back.
        """
        name = dispatcher.route.name
        health = self._health[name]
        first, longest = self._restart_backoff
        backoff = Backoff(first, longest, jitter=0.2)
        restarts = child(PIPELINE_ROUTE_RESTARTS, name)
        started = False
        while True:
            fault: BaseException | None = None
            began = trio.current_time()
            dispatcher = self.dispatchers[name]
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(dispatcher.run)
                    health.restarting = False
                    if not started:
                        started = True
                        task_status.started()
            except* Exception as group:
                fault = group
            if fault is None:  # stopped gracefully: to stop, rebind or change
                if self._stopping.is_set():
                    return
                if name in self._successors:
                    successor = self._successors.pop(name)
                    if successor is None:
                        self._generations[name] = dispatcher.lease.generation
                        del self.dispatchers[name]
                        _log.warning(
                            "route removed; its queued messages stay in the store", smsc=name
                        )
                        return
                    # Its lease names go on from the last one's: what that one left
                    # leased in the store is never renewed under a name reused.
                    successor.lease.generation = dispatcher.lease.generation
                    self.dispatchers[name] = successor
                    _log.info("route starts again with its new settings", smsc=name)
                    continue
                if dispatcher.rebinding:
                    dispatcher.rebound()
                    _log.info("route rebinding", smsc=name)
                    continue
                return
            if not started:
                started = True
                task_status.started()
            if trio.current_time() - began >= _STABLE_AFTER:
                backoff.reset()
            delay = backoff.next()
            health.restarts += 1
            health.restarting = True
            health.last_error = _describe(fault)[:_ERROR_LENGTH]
            restarts.inc()
            _log.error(
                "route failed; it starts again after a pause, the others go on",
                smsc=name,
                error=health.last_error,
                restart_in_s=round(delay, 3),
                restarts=health.restarts,
                exc_info=fault,
            )
            with trio.move_on_after(delay):
                await self._stopping.wait()
            if self._stopping.is_set():
                health.restarting = False
                return

    async def read_pauses(self) -> None:
        """Take the paused routes from the store now (a store that fails: the last read
        holds). Done every ``pause_poll`` seconds; the API calls it after a pause or
        resume, so the process that took the call obeys before it answers."""
        try:
            pauses = await cast(PauseStore, self.store).route_pauses()
        except StoreError as exc:
            _log.warning("paused routes not read: the store failed", error=str(exc))
            return
        self._paused = frozenset(pauses)
        for name, dispatcher in self.dispatchers.items():
            dispatcher.paused = name in self._paused
        for successor in self._successors.values():
            if successor is not None:
                successor.paused = successor.route.name in self._paused

    async def _watch_pauses(self) -> None:
        """A pause or resume made by any process is obeyed within ``pause_poll`` seconds."""
        with self._pauses_scope:
            while True:
                await trio.sleep(self.pause_poll)
                await self.read_pauses()

    async def _recover(self) -> None:
        report = await self.store.recover(now=self.clock(), quarantine_after=self.quarantine_after)
        if report.requeued:
            _log.warning(
                # counted in smpp_pipeline_possible_duplicates_total when resent
                "messages caught mid-submission are queued again",
                requeued=report.requeued,
                possible_duplicates=report.possible_duplicates,
            )
        if report.quarantined:
            PIPELINE_QUARANTINED.inc(len(report.quarantined))
            _log.error(
                "messages in flight at repeated unclean stops are quarantined, not resent",
                quarantine_after=self.quarantine_after,
                message_ids=list(report.quarantined[:100]),
                quarantined=len(report.quarantined),
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
                            older_than=now - route.receipt_timeout,
                            now=now,
                            smsc=route.name,
                            presume_delivered=route.submit_options.receipts is ReceiptLevel.FAILURE,
                        )
                    purged = await self.store.purge_held_receipts(older_than=now - longest)
                except StoreError as exc:
                    _log.warning("housekeeping skipped: the store failed", error=str(exc))
                    continue
                if given_up:
                    _log.info(
                        "no receipt in time: messages are UNKNOWN (presumed delivered on "
                        "routes asking failure receipts only)",
                        messages=given_up,
                    )
                if purged:
                    # Their part never got the SMSC id they name: nothing to apply them to.
                    _log.warning(
                        "held receipts matched no submit in time; forgotten", receipts=purged
                    )

    def _routes(self) -> list[SmscRoute]:
        return [d.route for d in self.dispatchers.values()]


def _describe(fault: BaseException | None) -> str:
    """The first real error inside ``fault`` (trio wraps task errors in groups)."""
    while isinstance(fault, BaseExceptionGroup) and fault.exceptions:
        fault = fault.exceptions[0]
    if fault is None:
        return "unknown"
    return f"{type(fault).__name__}: {fault}"
