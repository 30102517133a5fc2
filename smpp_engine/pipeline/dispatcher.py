"""One SMSC route: claim its queued messages, submit them over its binds, record what happened.

Claimed messages wait in strict priority lanes, so a billing reply claimed
after a batch of bulk notices still goes out next; a new interactive message
wakes the dispatcher, which claims again (the store hands out the highest
priority first). Outcomes and receipts become store updates through the
batching writer, so a message costs a fraction of a database round trip.

Before a message is sent it is marked dispatched, durably (:mod:`.marks`): a
crash then flags as possible duplicates only what may have reached the SMSC.
Claims are leases, kept renewed, and nothing is sent once they may have run out
(:mod:`.leases`): the claims held are then dropped and given back.

Failover (:mod:`smpp_engine.routing`): a message whose routing rule lists a route after
this one moves there, keeping its id and parts, when this route has had no bind
up for ``failover_after`` seconds (what waits in the store and what this
dispatcher holds) or when the SMSC answers a submit with a retry-elsewhere
status. A permanent refusal never moves a message; one whose plan has no route
left retries here as it always did.

Faults stay with their message: one that cannot be built, encoded or submitted
ends failed with its reason (counted in smpp_pipeline_poison_messages_total) and
the route goes on. A message that was in flight when a gateway stopped uncleanly
is a suspect and goes out alone, so that if it stops the gateway again it takes
no other message's unclean stop with it.

A paused route (:attr:`RouteDispatcher.paused`, set from the store by the
pipeline) claims nothing new: the claims it holds and has not tried go back to
the queue, what is in the windows is answered, and its binds stay up so that
receipts and mobile-originated messages still arrive. :meth:`~RouteDispatcher.rebind`
ends a run as a graceful stop does (answers in flight awaited, unbound, untried
claims given back) and has the pipeline start the next at once.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import structlog
import trio

from metrics import (
    PIPELINE_FAILOVERS,
    PIPELINE_MESSAGES,
    PIPELINE_POISON_MESSAGES,
    PIPELINE_POSSIBLE_DUPLICATES,
    RATE_LIMIT,
    RATE_STATE,
    child,
    counter_adder,
)
from throttling import GCRA, AdaptiveController, PriorityLanes, RateController, Unlimited

from ..esme import BindPool, Inbound, NotBoundError, SubmitOutcome, open_pool
from ..protocol import CommandStatus, MessageIdError, PduError, SubmitSm, response_id_key
from ..store import (
    ClaimedMessage,
    PartSubmitted,
    RateShareStore,
    ReceiptArrived,
    Rerouted,
    Store,
    StoreError,
    StoreUnavailableError,
    SubmitFailed,
    SubmitUnknown,
    Update,
    next_route,
)
from .leases import RouteLease
from .marks import DispatchMarks
from .mo import MoAssembler, MoMessage
from .parts import PartCountError, submit_parts
from .rate_share import SharedRate
from .receipts import receipt_update
from .route import SmscRoute
from .sink import UpdateSink
from .statuses import Verdict

__all__ = ["RouteDispatcher"]

_THROTTLING = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
_CONTROLLER_STATES = ("steady", "backing_off", "recovering")
# Claimed on a wake-up even with a full lane: enough to pick up the replies.
_WAKE_CLAIM = 32
# Shutdown gives untried claims back within this many seconds, or leaves them to the lease.
_RELEASE_TIMEOUT = 5.0
# A reason kept in a message's history is cut to this many characters.
_REASON_LENGTH = 200
_POISON_STAGES = ("build", "encode", "submit", "outcome", "receipt", "mo")
# Messages moved to another route per store call while this one has no bind.
_FAILOVER_BATCH = 1000
# Ids of messages this dispatcher moved away, remembered so that a second part's
# answer does not move the message again; forgotten past this many.
_REROUTED_MEMORY = 10_000


class RouteDispatcher:
    """Moves ``route``'s messages from the store to the SMSC and their fate back.

    ``owner`` names this gateway process in leases (the route and a generation are
    added to it: :attr:`owner`). ``clock`` is wall time (the
    store's times); the binds' rate control runs on trio's clock. ``on_mo`` gets
    whole mobile-originated messages (billing's entry point) and must call
    :meth:`MoMessage.ack` when done; without it they are refused for now (the
    SMSC keeps them). Sending waits while ``route.unsettled_limit()`` parts are sent
    without a durable outcome: that bounds both the duplicates a crash can cause
    and the writer's backlog of outcomes (which cannot wait for room).
    """

    def __init__(
        self,
        route: SmscRoute,
        store: Store,
        updates: UpdateSink,
        *,
        owner: str,
        clock: Callable[[], float] = time.time,
        controller: RateController | None = None,
        on_mo: Callable[[MoMessage], None] | None = None,
        idle_poll: float = 1.0,
    ) -> None:
        self.route = route
        self.store = store
        self.updates = updates
        self.lease = RouteLease(owner, route.name, route.lease, clock)
        self.clock = clock
        self.on_mo = on_mo
        self._mo = MoAssembler(route.name, profile=route.text_profile, clock=clock)
        self.idle_poll = idle_poll
        self.max_unsettled = route.unsettled_limit()
        self._unsettled = 0  # parts sent whose outcome is not known to be durable
        self._answered = 0  # of those, the ones whose outcome went to the writer
        self._answers = trio.lowlevel.ParkingLot()
        # Inbound batches taken, with the writer's mark their updates must reach.
        self._unacked: deque[tuple[int, list[Inbound]]] = deque()
        self._ack_lot = trio.lowlevel.ParkingLot()
        # Made in run() when not given: a rate limiter reads trio's clock.
        self._given_controller = controller
        self.controller: RateController = Unlimited()
        self.lanes: PriorityLanes[ClaimedMessage] = PriorityLanes()
        self._woken = False
        self._wake = trio.Event()
        # When (trio time) a claim last found the queue drained.
        self._drained_at = -math.inf
        self._stopping = False
        self._rebind = False
        self._paused = False
        self._lanes_closed = False
        self._pool: BindPool | None = None
        # Claimed messages with parts sent, put back in a lane when no bind was up:
        # on shutdown they stay leased (recovery resends only their missing parts).
        self._partly_sent: set[int] = set()
        # Taken from the lanes and marked dispatched, waiting to be sent.
        self.marks = DispatchMarks(self.lanes, updates, self.max_unsettled // 2)
        self._log = structlog.get_logger("smpp_engine.pipeline").bind(smsc=route.name)
        self._counted = {
            name: counter_adder(PIPELINE_MESSAGES, route.name, name)
            for name in ("submitted", "retried", "failed", "unknown", "receipts")
        }
        self._rate_gauge = child(RATE_LIMIT, route.name)
        self._rate_state: str | None = None
        self._duplicates = counter_adder(PIPELINE_POSSIBLE_DUPLICATES, route.name)
        self._poisoned = {
            stage: counter_adder(PIPELINE_POISON_MESSAGES, route.name, stage)
            for stage in _POISON_STAGES
        }
        # Trio time since when no bind has been up (None: one is).
        self._unbound_since: float | None = None
        self._rerouted: set[int] = set()

    def _controller(self, route: SmscRoute) -> RateController:
        if route.rate is None:
            return Unlimited()
        limiter = GCRA(route.rate, route.burst, now=trio.current_time())
        controller = AdaptiveController(limiter)
        if not isinstance(self.store, RateShareStore):
            return controller
        # The account's rate is shared by every process sending for it (:mod:`.rate_share`).
        return SharedRate(route.name, self.lease.process, controller, self.clock)

    @property
    def paused(self) -> bool:
        """Whether the route claims nothing new (an operator paused it)."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self._log.warning("route paused" if paused else "route resumed")
            self._woken = True  # claim again at once on resume; give back on pause
            self._wake.set()

    def rebind(self) -> None:
        """Drop the binds and bind again: this run ends as a graceful stop ends
        (nothing lost), and :attr:`rebinding` tells the pipeline to run it again."""
        self._rebind = True
        self.stop()

    @property
    def rebinding(self) -> bool:
        """Whether the last run ended to be started again (:meth:`rebind`)."""
        return self._rebind

    def wake(self) -> None:
        """New messages were accepted for this route: claim again before the next submit."""
        self._woken = True
        self._wake.set()

    def hand_over(
        self, message: ClaimedMessage, *, owner: str | None = None, lease_until: float | None = None
    ) -> bool:
        """Send ``message``, which the store already holds leased to this dispatcher's
        owner (it was stored claimed): it joins its lane without a claim round trip.

        False once the dispatcher has stopped and given its claims back, or when
        ``owner`` (the lease the message was stored under) is no longer this
        dispatcher's: the caller then releases the message itself
        (:meth:`Store.release`). ``lease_until``: when that lease runs out.
        """
        if self._lanes_closed or self._paused or (owner is not None and owner != self.lease.owner):
            return False
        until = self.clock() + self.route.lease if lease_until is None else lease_until
        self.lease.leased(until, holding=self._holding())
        if message.dispatched:
            # Marked as it was stored: it goes next, with no mark to wait for.
            self.marks.send_next(message)
        else:
            self.lanes.push(message, message.priority)
        self._wake.set()
        return True

    def _binds_up(self) -> bool:
        return self.binds_up > 0

    @property
    def binds_up(self) -> int:
        """How many of the route's binds are bound now."""
        pool = self._pool
        return 0 if pool is None else pool.bound

    def stop(self) -> None:
        """Shut down gracefully: send nothing new, let the answers in flight come back,
        unbind, and give the claims not yet tried back to the store. :meth:`run`
        returns when that is done."""
        self._stopping = True
        self._wake.set()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, then submit and record until :meth:`stop` (or cancellation).

        May be called again after it raised (the pipeline restarts a route that
        failed): each run starts from the store, with nothing of the last in memory.
        """
        self._start_afresh()
        given = self._given_controller
        self.controller = given if given is not None else self._controller(self.route)
        send_inbound, receive_inbound = trio.open_memory_channel[Inbound](1024)
        route = self.route
        # A submit waits for a bind no longer than the route waits before failing over.
        bind_wait = min(route.esme.bind_wait_timeout, route.failover_after)
        async with (
            open_pool(
                replace(route.esme, ack_inbound=True, bind_wait_timeout=bind_wait),
                route.binds,
                controller=self.controller,
                on_outcomes=self._on_outcomes,
                inbound=send_inbound,
            ) as pool,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(self._take_inbound, receive_inbound)
            nursery.start_soon(self._ack_when_durable)
            nursery.start_soon(self.lease.keep_renewed, self.store)
            nursery.start_soon(self._fail_over_while_unbound, pool)
            if isinstance(self.controller, SharedRate):
                shares = cast(RateShareStore, self.store)
                nursery.start_soon(self.controller.keep_renewed, shares, self._binds_up)
            self._pool = pool
            task_status.started()
            try:
                await self._submit_forever(pool)
                # Stopping: the binds wait for the answers in flight, then unbind;
                # receipts arriving meanwhile are still taken and acknowledged.
                await pool.aclose()
                await self.updates.flush()
                nursery.cancel_scope.cancel()
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(_RELEASE_TIMEOUT):
                    await self._release_untried()

    @property
    def owner(self) -> str:
        """The name this dispatcher claims under now (see :mod:`.leases`)."""
        return self.lease.owner

    def _holding(self) -> bool:
        """Whether claims are held and not sent yet."""
        return bool(self.lanes or self.marks)

    def rebound(self) -> None:
        """Ready the next run after a :meth:`rebind` (the pipeline calls it, unless it
        is stopping: a stop that comes after is still obeyed)."""
        self._stopping = False
        self._rebind = False

    def _start_afresh(self) -> None:
        self.lease.rename()
        self._unsettled = 0
        self._answered = 0
        self._unacked.clear()
        self._lanes_closed = False
        self._pool = None
        self._partly_sent.clear()
        self.marks.clear()
        self._woken = True  # claim at once

    async def _drop_claims(self, current: ClaimedMessage) -> None:
        """Forget every claim held, ``current`` included, and lease under a new name.

        The claims not sent are given back when the store takes it (they are no
        possible duplicates, and must not count as unclean stops); otherwise
        recovery takes them once their lease has run out.
        """
        held = [current, *self.marks, *self.lanes.pop_batch(len(self.lanes))]
        untried = [m.message_id for m in held if m.message_id not in self._partly_sent]
        self.marks.clear()
        self._partly_sent.clear()
        old_owner = self.lease.rename()
        self._log.warning(
            "leases could not be renewed in time; the claims held are dropped",
            owner=old_owner,
            claims=len(held),
        )
        await self._give_back(untried, old_owner)

    async def _give_back(self, message_ids: list[int], owner: str) -> None:
        """Release claims of ``owner`` not sent, if the store takes it; else recovery will."""
        if not message_ids:
            return
        with trio.move_on_after(_RELEASE_TIMEOUT):
            try:
                await self.store.release(message_ids, owner=owner, now=self.clock())
            except StoreError as exc:
                self._log.warning("claims dropped are left to recovery", error=str(exc))

    async def _release_untried(self) -> None:
        """Give the claimed messages not sent back to the store, unflagged.

        They are no possible duplicates (marked dispatched or not, nothing of them
        was sent); left to their lease they would wait for it to run out.
        """
        self._lanes_closed = True  # what is handed over from now on is released by its owner
        waiting = [*self.marks, *self.lanes.pop_batch(len(self.lanes))]
        self.marks.clear()
        untried = [m.message_id for m in waiting if m.message_id not in self._partly_sent]
        if not untried:
            return
        try:
            released = await self.store.release(untried, owner=self.owner, now=self.clock())
        except StoreError as exc:
            self._log.warning("claims not given back; their lease will run out", error=str(exc))
            return
        self._log.info("claims given back to the queue", messages=released)

    # --- sending -------------------------------------------------------------------

    async def _give_back_held(self) -> None:
        """Paused: the claims held and not tried go back to the queue, now.

        Those with parts already sent stay, and go out: their other parts are
        answered already or in flight, and recovery would only resend them.
        """
        held = self.lanes.pop_batch(len(self.lanes))
        untried = [m.message_id for m in held if m.message_id not in self._partly_sent]
        for message in held:
            if message.message_id in self._partly_sent:
                self.lanes.push(message, message.priority)
        await self._give_back(untried, self.owner)
        if untried:
            self._log.info("paused: claims given back to the queue", messages=len(untried))

    async def _submit_forever(self, pool: Any) -> None:
        while not self._stopping:
            if self._paused:
                self._woken = False
                self._wake = trio.Event()
                if self.lanes:
                    await self._give_back_held()
                if not self._holding():
                    await self._wake.wait()
                    continue
            elif self._woken or not self._holding():
                if self._woken or trio.current_time() - self._drained_at >= self.idle_poll:
                    await self._refill()
                else:
                    # The queue was found empty moments ago and nothing was accepted
                    # since: no claim until the next wake or poll. A handed-over
                    # reply would otherwise cost a useless claim after it.
                    self._wake = trio.Event()
                if not self._holding():
                    with trio.move_on_at(self._drained_at + self.idle_poll):
                        await self._wake.wait()
                    continue
            message = await self.marks.next()
            if message is not None:
                await self._send(pool, message)

    async def _send(self, pool: Any, message: ClaimedMessage) -> None:
        """Submit ``message``'s pending parts; any fault ends this message alone."""
        route = self.route
        if self.lease.ran_out():
            await self._drop_claims(message)
            return
        self.marks.sent()
        now = self.clock()
        if message.expires_at is not None and now >= message.expires_at:
            self._record(SubmitFailed(message.message_id, 0, 0, now, expired=True))
            return
        if message.possible_duplicate:
            self._duplicates(1)
        suspect = message.unclean_stops > 0
        if suspect:
            # Alone: every other outcome durable before it goes, and its own after.
            self._log.warning(
                "sending a message that was in flight at an unclean stop, on its own",
                message_id=message.message_id,
                unclean_stops=message.unclean_stops,
            )
            await self._settle(1)
        try:
            parts = submit_parts(
                message,
                profile=route.text_profile,
                method=route.concatenation,
                options=route.submit_options,
                now=now,
            )
        except PduError as exc:
            self._poison(message, "build", exc, status=exc.status)
            return
        except PartCountError as exc:
            self._poison(message, "build", exc, status=CommandStatus.ESME_RINVMSGLEN)
            return
        except Exception as exc:
            self._poison(message, "build", exc)
            return
        for index in range(len(parts)):
            if self._unsettled >= self.max_unsettled:
                await self._settle(self.max_unsettled)
            if not await self._submit_part(pool, message, parts, index):
                return
        if self._partly_sent:
            self._partly_sent.discard(message.message_id)
        if suspect:
            await self._settle(1)

    async def _submit_part(
        self, pool: Any, message: ClaimedMessage, parts: list[tuple[int, SubmitSm]], index: int
    ) -> bool:
        """Put part ``index`` in a window; False when the message goes no further now."""
        part, pdu = parts[index]
        self._unsettled += 1  # before: its outcome may be counted before send returns
        try:
            if not self.lease.ran_out():
                # The usual case: a bind takes it at once, no wait to fence in.
                bind = pool.try_send(pdu, (message, part, self.clock()))
                if bind is not None:
                    await bind.pace()
                    return True
            # Waiting for a bind or the rate may outlast the lease: never past it
            # (a renewal moves the deadline on).
            with trio.CancelScope(deadline=self.lease.fence()) as fence:
                self.lease.fence_scope = fence
                if trio.current_time() < fence.deadline:
                    await pool.send(pdu, (message, part, self.clock()))
                    return True
        except NotBoundError as exc:
            self._unsettled -= 1
            # No bind came up in time. The parts not sent go back to the front of
            # the queue; the claim's lease still covers them, unless the route has
            # been unbound long enough for the claims to move to their next route.
            self._log.warning("no bind to submit on", error=str(exc))
            self.marks.send_next(self._rest(message, parts, index))
            if self._unbound_for_failover():
                self._reroute_held()
            await trio.sleep(self.idle_poll)
            return False
        except PduError as exc:
            self._unsettled -= 1
            self._poison(message, "encode", exc, part=part, status=exc.status)
            return False
        except Exception as exc:
            self._unsettled -= 1
            self._poison(message, "submit", exc, part=part)
            return False
        finally:
            self.lease.fence_scope = None
        # The lease may run out before this part could go: drop every claim held.
        self._unsettled -= 1
        await self._drop_claims(self._rest(message, parts, index))
        return False

    def _rest(
        self, message: ClaimedMessage, parts: list[tuple[int, SubmitSm]], index: int
    ) -> ClaimedMessage:
        """``message`` with its parts from ``index`` on pending (the others were sent)."""
        if index:
            self._partly_sent.add(message.message_id)
        return replace(message, pending_parts=tuple(p for p, _ in parts[index:]))

    def _poison(
        self,
        message: ClaimedMessage,
        stage: str,
        exc: Exception,
        *,
        part: int = 0,
        status: int = CommandStatus.ESME_RSYSERR,
    ) -> None:
        """End ``message`` failed with ``exc`` as its reason; the route goes on."""
        reason = f"{type(exc).__name__}: {exc}"[:_REASON_LENGTH]
        expected = isinstance(exc, PduError | PartCountError)
        self._log.error(
            "message cannot be sent; it failed alone",
            message_id=message.message_id,
            stage=stage,
            error=reason,
            exc_info=not expected,
        )
        self._record(
            SubmitFailed(message.message_id, part, int(status), self.clock(), reason=reason)
        )
        self._poisoned[stage](1)

    async def _settle(self, limit: int) -> None:
        """Wait until fewer than ``limit`` parts are sent without a durable outcome.

        With ``max_unsettled`` this bounds what a crash can duplicate: a part whose
        outcome was durable is never sent again, so at most ``max_unsettled`` parts
        per crash are. With 1 it waits until nothing sent is unsettled.
        """
        while self._unsettled >= limit:
            answered = self._answered
            if answered:
                await self.updates.flush()
                self._answered -= answered
                self._unsettled -= answered
            else:
                await self._answers.park()

    async def _refill(self) -> None:
        self._woken = False
        self._wake = trio.Event()
        room = self.route.claim_size() - len(self.lanes) - len(self.marks)
        limit = max(room, _WAKE_CLAIM if self.lanes else 1)
        owner = self.owner
        now = self.clock()
        try:
            claimed = await self.store.claim(
                self.route.name,
                limit,
                owner=owner,
                now=now,
                lease=self.route.lease,
                early=self.route.submit_options.claim_early,
            )
        except StoreUnavailableError as exc:
            # What is in the lanes still goes out; claiming resumes when the store is back.
            self._log.warning("cannot claim messages", error=str(exc))
            await trio.sleep(self.idle_poll)
            return
        if owner != self.lease.owner:
            # The leases were lost while claiming: these are leased to the old name.
            await self._give_back([m.message_id for m in claimed], owner)
            return
        if claimed:
            self.lease.leased(now + self.route.lease, holding=self._holding())
        if len(claimed) < limit:
            self._drained_at = trio.current_time()
        for message in claimed:
            self.lanes.push(message, message.priority)

    # --- failover ----------------------------------------------------------------------

    def _unbound_for_failover(self) -> bool:
        """Whether no bind has been up for the route's ``failover_after``."""
        since = self._unbound_since
        return since is not None and trio.current_time() - since >= self.route.failover_after

    def _reroute(self, message_id: int, target: str, now: float, reason: str) -> None:
        """Move ``message_id`` to ``target`` through the writer, after its other updates."""
        if len(self._rerouted) >= _REROUTED_MEMORY:
            self._rerouted.clear()
        self._rerouted.add(message_id)
        self._record(Rerouted(message_id, self.route.name, target, now, reason))
        child(PIPELINE_FAILOVERS, self.route.name, target).inc()
        self._log.info(
            "message fails over to the next route of its rule",
            message_id=message_id,
            to_smsc=target,
            reason=reason,
        )

    def _reroute_held(self) -> None:
        """Move the claims held here whose plan goes on to their next route.

        Partly sent ones move too: their parts already taken stay with the SMSC
        that took them, the rest go on the next route with the same reference.
        """
        name = self.route.name
        moved = self.marks.take(lambda m: next_route(m.route_plan, name) is not None)
        for message in self.lanes.pop_batch(len(self.lanes)):
            if next_route(message.route_plan, name) is not None:
                moved.append(message)
            else:  # in pop order, so each lane keeps its order
                self.lanes.push(message, message.priority)
        if not moved:
            return
        now = self.clock()
        reason = f"no bind for {self.route.failover_after:g} s"
        for message in moved:
            target = next_route(message.route_plan, name)
            assert target is not None
            self._partly_sent.discard(message.message_id)
            self._reroute(message.message_id, target, now, reason)

    async def _fail_over_while_unbound(self, pool: BindPool) -> None:
        """Watch the binds; while none has been up for ``failover_after``, move the
        route's waiting messages whose plan goes on (other processes' claims are
        theirs to move)."""
        route = self.route
        every = min(1.0, route.failover_after / 4)
        self._unbound_since = trio.current_time()
        reason = f"no bind for {route.failover_after:g} s"
        while True:
            await trio.sleep(every)
            if pool.bound:
                self._unbound_since = None
                continue
            if self._unbound_since is None:
                self._unbound_since = trio.current_time()
            if not self._unbound_for_failover():
                continue
            try:
                moved = await self.store.fail_over(
                    route.name, now=self.clock(), reason=reason, limit=_FAILOVER_BATCH
                )
            except StoreError as exc:
                self._log.warning("waiting messages not moved: the store failed", error=str(exc))
                continue
            for target, count in moved.items():
                child(PIPELINE_FAILOVERS, route.name, target).inc(count)
            if moved:
                self._log.warning(
                    "route has no bind: its waiting messages fail over",
                    moved=dict(moved),
                    failover_after_s=route.failover_after,
                )

    # --- outcomes and receipts -------------------------------------------------------

    def _record(self, update: Update) -> None:
        self.updates.submit_nowait(update)

    def _on_outcomes(self, batch: list[SubmitOutcome]) -> None:
        now = self.clock()
        # Counted once per batch and kind, not once per message.
        kinds: dict[str, int] = {}
        for outcome in batch:
            try:
                kind = self._take_outcome(outcome, now)
            except Exception as exc:
                # Called from the bind's reader: a fault here must not end the link.
                self._outcome_fault(outcome, now, exc)
            else:
                kinds[kind] = kinds.get(kind, 0) + 1
        for kind, n in kinds.items():
            self._counted[kind](n)
        self._answered += len(batch)
        if self._answers:
            self._answers.unpark_all()
        rate = getattr(self.controller, "rate", None)
        self._rate_gauge.set(rate if rate is not None else math.inf)
        state = getattr(self.controller, "state", None)
        if state is not None and state != self._rate_state:
            for name in _CONTROLLER_STATES:
                child(RATE_STATE, self.route.name, name).set(1 if name == state else 0)
            self._rate_state = state

    def _outcome_fault(self, outcome: SubmitOutcome, now: float, exc: Exception) -> None:
        """The answer to a submit could not be taken: its message's fate is UNKNOWN."""
        self._poisoned["outcome"](1)
        context = outcome.context
        if not (isinstance(context, tuple) and len(context) == 3):
            self._log.error("submit answer without its message", error=repr(exc), exc_info=exc)
            return
        message, part, _ = context
        reason = f"{type(exc).__name__}: {exc}"[:_REASON_LENGTH]
        self._log.error(
            "submit answer could not be taken; the message is unknown",
            message_id=message.message_id,
            error=reason,
            exc_info=exc,
        )
        self._record(SubmitUnknown(message.message_id, part, now, f"gateway fault: {reason}"))

    def _take_outcome(self, outcome: SubmitOutcome, now: float) -> str:
        """Record ``outcome``; what it counts as (submitted, retried, failed or unknown)."""
        route = self.route
        message, part, sent_at = outcome.context
        message_id = message.message_id
        if outcome.accepted:
            smsc_id = outcome.message_id or ""
            try:
                key = response_id_key(smsc_id, route.id_policy)
            except MessageIdError as exc:
                # Stored as given: its receipt will not match and the message ends
                # UNKNOWN at the receipt timeout, which is the truth.
                self._log.warning("message id does not fit the policy", error=str(exc))
                key = smsc_id
            self._record(
                PartSubmitted(message_id, part, outcome.bind, key, sent_at, now, route.name)
            )
            return "submitted"
        elif outcome.rejected:
            status = outcome.command_status or 0
            verdict = route.statuses.verdict(status)
            retry_at = None
            if verdict is not Verdict.PERMANENT:
                retry_at = route.retry.retry_at(
                    message.attempts + 1,  # the store counts earlier claims
                    now,
                    throttled=status in _THROTTLING,
                    expires_at=message.expires_at,
                )
            expired = (
                retry_at is None
                and verdict is not Verdict.PERMANENT
                and message.expires_at is not None
                and message.attempts + 1 < route.retry.max_attempts
            )
            target = None
            if verdict is Verdict.RETRY_ELSEWHERE and retry_at is not None:
                target = next_route(message.route_plan, route.name)
            if target is not None and message_id not in self._rerouted:
                # Not over this bind: the next route of its rule takes it at once.
                self._record(SubmitFailed(message_id, part, status, now, now))
                self._reroute(message_id, target, now, f"command_status=0x{status:08X}")
            else:
                self._record(SubmitFailed(message_id, part, status, now, retry_at, expired))
            return "retried" if retry_at is not None else "failed"
        else:
            retry_at = route.retry.retry_at(
                message.attempts + 1, now, expires_at=message.expires_at
            )
            reason = outcome.reason.value if outcome.reason is not None else "unknown"
            self._record(SubmitUnknown(message_id, part, now, reason, retry_at))
            return "retried" if retry_at is not None else "unknown"

    async def _take_inbound(self, receive: trio.MemoryReceiveChannel[Inbound]) -> None:
        """Record receipts; the SMSC gets its deliver_sm_resp once they are durable.

        A receipt the SMSC was told we have must survive a crash, or the message
        would end UNKNOWN although its fate was known. The answers wait in
        :meth:`_ack_when_durable` for the writer's batch holding their updates,
        so taking receipts never waits for a transaction of its own.
        """
        receive_nowait = receive.receive_nowait
        unacked = self._unacked
        async for first in receive:
            batch = [first]
            while True:
                try:
                    batch.append(receive_nowait())
                except trio.WouldBlock:
                    break
            recorded = 0
            receipts = []
            for item in batch:
                if item.is_receipt:
                    recorded += await self._take_receipt_safely(item)
                    receipts.append(item)
                else:
                    self._take_mo_safely(item)
            self._counted["receipts"](recorded)
            if receipts:
                unacked.append((self.updates.submitted, receipts))
                if self._ack_lot:
                    self._ack_lot.unpark()

    async def _ack_when_durable(self) -> None:
        unacked = self._unacked
        while True:
            while not unacked:
                await self._ack_lot.park()
            mark, batch = unacked.popleft()
            await self.updates.wait_durable(mark)
            for item in batch:
                item.ack()

    async def _take_receipt_safely(self, item: Inbound) -> int:
        """:meth:`_take_receipt`, with a fault kept to this receipt.

        A receipt that cannot be taken is logged and answered like the others: the
        SMSC would otherwise offer it again for ever, and it would fail again. Its
        message ends UNKNOWN at the receipt timeout.
        """
        try:
            return await self._take_receipt(item)
        except Exception as exc:
            self._poisoned["receipt"](1)
            self._log.error(
                "receipt could not be taken; answered and left aside",
                bind=item.bind,
                pdu=repr(item.pdu)[:500],
                error=f"{type(exc).__name__}: {exc}"[:_REASON_LENGTH],
                exc_info=exc,
            )
            return 0

    def _take_mo_safely(self, item: Inbound) -> None:
        """:meth:`_take_mo`, with a fault kept to this message: refused for now, logged."""
        try:
            self._take_mo(item)
        except Exception as exc:
            self._poisoned["mo"](1)
            self._log.error(
                "mobile-originated message could not be taken; refused for now",
                bind=item.bind,
                source=item.pdu.source_addr,
                error=f"{type(exc).__name__}: {exc}"[:_REASON_LENGTH],
                exc_info=exc,
            )
            item.ack(ok=False)

    async def _take_receipt(self, item: Inbound) -> int:
        """Hand one receipt to the writer; 1 when it was a final one."""
        route = self.route
        receipt = item.receipt
        if receipt is None:
            return 0  # unreadable: the bind logged and counted it
        try:
            update = receipt_update(route.name, receipt, route.id_policy, self.clock())
        except MessageIdError as exc:
            self._log.warning("receipt id does not fit the policy", error=str(exc))
            return 0
        try:
            self.updates.submit_nowait(update)  # the batch of receipts yields once, not each
        except trio.WouldBlock:
            # The writer is full: the deliver_sm_resp waits too, which slows the
            # SMSC down instead of losing the receipt.
            await self.updates.submit(update)
        # An intermediate notification is history, not a receipt: it settles nothing.
        return 1 if isinstance(update, ReceiptArrived) else 0

    def _take_mo(self, item: Inbound) -> None:
        """Join and decode an MO message; its consumer acknowledges it when it is safe."""
        message = self._mo.add(item)
        if message is None:
            return  # a part of a long message, held
        if self.on_mo is not None:
            self.on_mo(message)
            return
        # Nobody here can act on it: the SMSC keeps it and offers it again later.
        self._log.warning(
            "mobile-originated message with no consumer; refused for now",
            source=message.source,
            destination=message.destination,
        )
        message.ack(ok=False)
