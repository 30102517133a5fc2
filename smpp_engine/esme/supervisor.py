"""A bind that never dies for good: connect, bind, run until the link ends, back off, again.

Refused connections, dropped links and refused binds are all retried. A refused
bind (wrong password, unknown system_id...) is logged at error level by the bind
and counted (smpp_bind_failures), and retried from the slower
``bind_failure_min_delay``: an operator fixes the credentials, the link comes back
without a restart. Every retry is counted in smpp_reconnects by why it was needed.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
import trio

from throttling import RateController

from ..protocol import Pdu
from ._nurseries import open_unwrapping_nursery
from .backoff import Backoff
from .bind import Bind, open_bind
from .bind_metrics import BindMetrics
from .config import EsmeConfig
from .errors import BindRejectedError, ConnectError, EsmeError, LinkLostError, NotBoundError
from .inbound import Inbound, InboundSink
from .outcomes import OutcomeSink, SubmitOutcome

__all__ = ["ReconnectReason", "SupervisedBind", "supervise"]

_log = structlog.get_logger("smpp_engine.esme")


class ReconnectReason:
    """Values of smpp_reconnects' ``reason`` label."""

    CONNECT_FAILED = "connect_failed"
    BIND_REFUSED = "bind_refused"
    BIND_LOST = "bind_lost"
    LINK_LOST = "link_lost"


class SupervisedBind:
    """Keeps one bind up for ever; :meth:`run` is its task (see :func:`supervise`).

    The outcome sink, inbound channel or sink and rate controller outlive the successive
    connections: requests in flight when a link drops come back UNKNOWN to the
    same sink. :meth:`send` and :meth:`submit` wait up to
    ``config.bind_wait_timeout`` for a bound link and raise :class:`NotBoundError`
    after that.
    """

    def __init__(
        self,
        config: EsmeConfig,
        *,
        controller: RateController | None = None,
        on_outcomes: OutcomeSink | None = None,
        inbound: trio.MemorySendChannel[Inbound] | None = None,
        on_inbound: InboundSink | None = None,
        room_signal: trio.lowlevel.ParkingLot | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if inbound is not None and on_inbound is not None:
            raise TypeError("give inbound (a channel) or on_inbound (a sink), not both")
        self.config = config
        self.name = config.name
        self._controller = controller
        self._sink = on_outcomes
        self._inbound = inbound
        self._inbound_sink = on_inbound
        self._room_signal = room_signal
        policy = config.reconnect
        rng = rng or random.Random()
        self._backoff = Backoff(
            policy.min_delay,
            policy.max_delay,
            multiplier=policy.multiplier,
            jitter=policy.jitter,
            rng=rng,
        )
        self._bind_backoff = Backoff(
            policy.bind_failure_min_delay,
            max(policy.max_delay, policy.bind_failure_min_delay),
            multiplier=policy.multiplier,
            jitter=policy.jitter,
            rng=rng,
        )
        self._metrics = BindMetrics(config.name)
        self._current: Bind | None = None
        self._bound_lot = trio.lowlevel.ParkingLot()
        self._stopping = False
        self._sleep_scope: trio.CancelScope | None = None
        self._stopped = trio.Event()
        #: Connection attempts so far, and the error that ended the last failed one.
        self.attempts = 0
        self.last_error: EsmeError | None = None

    @property
    def bind(self) -> Bind | None:
        """The current link's bind (bound, or just ended), None between links."""
        return self._current

    @property
    def is_bound(self) -> bool:
        bind = self._current
        return bind is not None and bind.is_open

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect and reconnect until :meth:`aclose` (or cancellation)."""
        task_status.started()
        log = _log.bind(bind=self.name)
        try:
            while not self._stopping:
                self.attempts += 1
                try:
                    async with open_bind(
                        self.config,
                        controller=self._controller,
                        on_outcomes=self._sink,
                        inbound=self._inbound,
                        on_inbound=self._inbound_sink,
                        room_signal=self._room_signal,
                    ) as bind:
                        self._backoff.reset()
                        self._bind_backoff.reset()
                        self._set_current(bind)
                        try:
                            if not self._stopping:
                                await bind.wait_closed()
                        finally:
                            self._current = None
                    if self._stop_requested():
                        break
                    reason = ReconnectReason.LINK_LOST
                    delay = self._backoff.next()
                    log.warning(
                        "link ended; reconnecting",
                        why=bind.close_reason,
                        retry_in_s=round(delay, 3),
                    )
                except BindRejectedError as exc:
                    # The bind logged the refusal at error level; say when we try again.
                    self.last_error = exc
                    reason = ReconnectReason.BIND_REFUSED
                    delay = self._bind_backoff.next()
                    log.error(
                        "bind refused; will retry",
                        status=exc.status_name,
                        system_id=exc.system_id,
                        consecutive_refusals=self._bind_backoff.failures,
                        retry_in_s=round(delay, 3),
                    )
                except (ConnectError, LinkLostError) as exc:
                    self.last_error = exc
                    reason = (
                        ReconnectReason.CONNECT_FAILED
                        if isinstance(exc, ConnectError)
                        else ReconnectReason.BIND_LOST
                    )
                    delay = self._backoff.next()
                    log.warning(
                        "cannot bind; will retry",
                        error=str(exc),
                        consecutive_failures=self._backoff.failures,
                        retry_in_s=round(delay, 3),
                    )
                if self._stop_requested():
                    break
                self._metrics.reconnect(reason)
                with trio.CancelScope() as scope:
                    self._sleep_scope = scope
                    await trio.sleep(delay)
                self._sleep_scope = None
        finally:
            self._stopping = True
            self._current = None
            self._wake()
            self._stopped.set()

    async def aclose(self) -> None:
        """Stop reconnecting and close the current link gracefully (unbind)."""
        self._stopping = True
        self._wake()
        if self._sleep_scope is not None:
            self._sleep_scope.cancel()
        bind = self._current
        if bind is not None:
            await bind.aclose()

    async def wait_bound(self, timeout: float | None = None) -> Bind:
        """The bound link, waiting up to ``timeout`` (default ``config.bind_wait_timeout``)."""
        bind = self._current
        if bind is not None and bind.is_open:
            return bind
        limit = self.config.bind_wait_timeout if timeout is None else timeout
        with trio.move_on_after(limit):
            while True:
                bind = self._current
                if bind is not None and bind.is_open:
                    return bind
                if self._stopping:
                    raise NotBoundError(self.name, "stopped")
                await self._bound_lot.park()
        why = f" (last error: {self.last_error})" if self.last_error is not None else ""
        raise NotBoundError(self.name, f"no bound link within {limit:g} s{why}")

    async def send(
        self, pdu: Pdu, context: Any = None, *, segments: int = 1, timeout: float | None = None
    ) -> None:
        """:meth:`Bind.send` on the current link; waits for one, moves to the next if it drops."""
        while True:
            bind = self._current
            if bind is None or not bind.is_open:
                bind = await self.wait_bound()
            try:
                await bind.send(pdu, context, segments=segments, timeout=timeout)
                return
            except NotBoundError:
                if self._stopping:
                    raise

    async def submit(
        self,
        pdu: Pdu | None = None,
        *,
        segments: int = 1,
        timeout: float | None = None,
        **fields: Any,
    ) -> SubmitOutcome:
        """:meth:`Bind.submit` on the current link (waiting for one, as :meth:`send`)."""
        while True:
            bind = self._current
            if bind is None or not bind.is_open:
                bind = await self.wait_bound()
            try:
                return await bind.submit(pdu, segments=segments, timeout=timeout, **fields)
            except NotBoundError:
                if self._stopping:
                    raise

    def _stop_requested(self) -> bool:
        # A method, not the attribute: it changes while run() awaits.
        return self._stopping

    def _set_current(self, bind: Bind) -> None:
        self._current = bind
        self._wake()

    def _wake(self) -> None:
        self._bound_lot.unpark_all()
        if self._room_signal is not None:
            self._room_signal.unpark_all()


@asynccontextmanager
async def supervise(
    config: EsmeConfig,
    *,
    controller: RateController | None = None,
    on_outcomes: OutcomeSink | None = None,
    inbound: trio.MemorySendChannel[Inbound] | None = None,
    on_inbound: InboundSink | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[SupervisedBind]:
    """Run a :class:`SupervisedBind` for the duration of the block.

    It yields at once (the link comes up in the background; requests wait for it).
    A normal exit lets requests in flight finish and unbinds; an exception or
    cancellation unbinds at once.
    """
    supervised = SupervisedBind(
        config,
        controller=controller,
        on_outcomes=on_outcomes,
        inbound=inbound,
        on_inbound=on_inbound,
        rng=rng,
    )
    async with open_unwrapping_nursery() as nursery:
        nursery.start_soon(supervised.run)
        finished = False
        try:
            yield supervised
            finished = True
        finally:
            if finished:
                with trio.CancelScope(shield=True):
                    await supervised.aclose()
            nursery.cancel_scope.cancel()
