"""One bind: one connection to an SMSC, driven by the sans-IO :class:`Session`.

Four tasks per connection, never one per PDU:

- the reader feeds received bytes to the session and dispatches its events
  (outcomes to the caller, deliver_sm to the inbound task, bind state changes);
- the writer sleeps until rung, then writes everything the session queued with
  one ``send_all``: submits, responses, the session's own enquire_link(_resp);
- the timer sleeps until :meth:`Session.next_timer` and polls (deadlines, keep-alive);
- the inbound task hands deliver_sm/data_sm to the application with back-pressure
  and answers them, so the reader never waits for the application.

The streaming path (:meth:`Bind.send`) takes a window slot without yielding when
one is free and reports outcomes in batches to an :data:`OutcomeSink`; it
allocates no trio primitive per message. :meth:`Bind.submit` awaits one outcome.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final, cast

import structlog
import trio

from metrics.catalogue import RECEIVED, SENT
from throttling import RateController, Unlimited

from ..protocol import (
    BindFailed,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    CommandId,
    ConnectionClosed,
    DataSm,
    DeliverSm,
    Event,
    LinkDead,
    MessageState,
    Pdu,
    PeerUnbound,
    ProtocolError,
    RequestReceived,
    RequestRejected,
    ResponseReceived,
    Role,
    Session,
    SessionState,
    SubmitSm,
    Unbind,
    Unbound,
    UnexpectedResponse,
    status_name,
)
from ._nurseries import open_unwrapping_nursery
from .bind_metrics import BindMetrics
from .config import BindType, EsmeConfig
from .errors import BindRejectedError, EsmeError, LinkLostError, NotBoundError
from .inbound import Inbound, InboundSink, read_inbound
from .outcomes import OutcomeSink, SubmitOutcome
from .transport import open_stream
from .triage import Pause, Triage

__all__ = ["Bind", "open_bind"]

_log = structlog.get_logger("smpp_engine.esme")

_RECEIVE_SIZE: Final = 256 * 1024
#: Inbound PDUs handled before the deliverer lets the writer send their answers.
_INBOUND_STRETCH: Final = 32
#: deliver_sm/data_sm waiting for the application beyond this are refused at once. An
#: SMSC's window normally bounds them far lower; this holds against one that ignores it.
MAX_QUEUED_INBOUND = 4096
_RESPONSE_BIT: Final = 0x80000000
_UNBIND: Final = CommandId.unbind.value
_CLOSED: Final = SessionState.CLOSED
_UNBOUND: Final = SessionState.UNBOUND
_BIND_PDUS: Final[dict[BindType, type[BindTransmitter | BindReceiver | BindTransceiver]]] = {
    BindType.TRANSMITTER: BindTransmitter,
    BindType.RECEIVER: BindReceiver,
    BindType.TRANSCEIVER: BindTransceiver,
}
_current_time = trio.current_time


class _Waiter:
    """The context of a request sent by :meth:`Bind.submit`: where its outcome goes."""

    __slots__ = ("event", "outcome")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.outcome: SubmitOutcome | None = None


class _InboundCounts:
    """What a stretch of inbound PDUs adds to the bind's counters, added in one go when
    the stretch ends: one lock per counter and stretch instead of two per receipt."""

    __slots__ = ("mo", "ok_resps", "receipts")

    def __init__(self) -> None:
        self.mo = 0
        self.ok_resps = 0
        self.receipts: dict[MessageState, int] = {}

    def flush(self, metrics: BindMetrics) -> None:
        if self.ok_resps:
            metrics.deliver_resps_ok(self.ok_resps)
            self.ok_resps = 0
        if self.mo:
            metrics.mo(self.mo)
            self.mo = 0
        if self.receipts:
            for state, count in self.receipts.items():
                metrics.receipt(state.stat_word, count)
            self.receipts.clear()


class _PendingAck:
    """An inbound message handed over with its deliver_sm_resp deferred to :meth:`Inbound.ack`."""

    __slots__ = ("bind", "deadline", "done", "pdu")

    def __init__(self, bind: Bind, pdu: DeliverSm | DataSm, deadline: float) -> None:
        self.bind = bind
        self.pdu = pdu
        self.deadline = deadline
        self.done = False

    def answer(self, ok: bool) -> None:
        if self.done:
            return
        self.done = True
        bind = self.bind
        bind._answer_inbound(self.pdu, 0 if ok else bind.config.deliver_error_status)


def build_request(pdu: Pdu | None, fields: dict[str, Any]) -> Pdu:
    """``pdu`` itself, or a submit_sm made of ``fields`` (not both)."""
    if pdu is None:
        return SubmitSm(**fields)
    if fields:
        raise TypeError(f"give a PDU or submit_sm fields, not both (fields: {sorted(fields)})")
    return pdu


class Bind:
    """One bound connection. Made by :func:`open_bind`, which connects and binds.

    Outcomes of :meth:`send` go to ``on_outcomes`` (dropped, but counted, when it
    is None). Inbound deliver_sm/data_sm go to ``inbound``, one by one, or in
    batches to ``on_inbound``; without either they are answered with
    ``config.deliver_error_status`` so the SMSC keeps them.
    ``controller`` is asked before every request and told about throttling.
    ``room_signal`` (shared by a pool) is unparked whenever window slots free up.
    """

    def __init__(
        self,
        config: EsmeConfig,
        stream: trio.abc.Stream,
        *,
        controller: RateController | None = None,
        on_outcomes: OutcomeSink | None = None,
        inbound: trio.MemorySendChannel[Inbound] | None = None,
        on_inbound: InboundSink | None = None,
        room_signal: trio.lowlevel.ParkingLot | None = None,
    ) -> None:
        if inbound is not None and on_inbound is not None:
            raise TypeError("give inbound (a channel) or on_inbound (a sink), not both")
        self.config = config
        self.name = config.name
        self._stream = stream
        self._controller: RateController = controller if controller is not None else Unlimited()
        self._sink = on_outcomes
        self._inbound = inbound
        self._inbound_sink = on_inbound
        self._room_signal = room_signal
        self._metrics = BindMetrics(config.name)
        self._log = _log.bind(bind=config.name)
        self._triage = Triage(config.name, self._controller, _Waiter)
        self._session = session = Session(
            Role.ESME,
            window_size=config.window_size,
            response_timeout=config.response_timeout,
            enquire_link_interval=config.enquire_link_interval,
            max_command_length=config.max_command_length,
            now=_current_time(),
        )
        self._window = session.window
        self._metrics.window_size(session.window.size)
        # Sending: requests are taken only while _open (bound, not unbinding, not closed).
        self._open = False
        self._paused_until = -math.inf
        self._room_lot = trio.lowlevel.ParkingLot()
        self._room_waiters = 0
        self._drained_lot = trio.lowlevel.ParkingLot()
        self._unflushed_submits = 0
        # Requests put in the window since the writer last took the bytes; see send.
        self._unwritten = 0
        self._flush_every = max(32, session.window.size // 8)
        # Writer
        self._write_rung = False
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._writer_scope: trio.CancelScope | None = None
        self._closing = False
        self._graceful = False
        # Timer
        self._timer_at = math.inf
        self._timer_scope: trio.CancelScope | None = None
        # Inbound
        self._inbound_queue: deque[tuple[DeliverSm | DataSm, float]] = deque()
        self._inbound_lot = trio.lowlevel.ParkingLot()
        self._inbound_refused = 0  # in the current episode of an application not taking them
        self._unacked: deque[_PendingAck] = deque()  # taken, ack deferred (ack_inbound)
        self._ack_lot = trio.lowlevel.ParkingLot()
        # Lifecycle
        self._settled = trio.Event()
        self._bind_error: EsmeError | None = None
        self._closed = trio.Event()
        self._done = trio.Event()
        self._tasks: trio.Nursery | None = None
        self._close_reason: str | None = None
        self.peer_system_id: str | None = None

    # --- introspection ---------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._session.state

    @property
    def is_open(self) -> bool:
        """Bound and taking requests (not unbinding, not closed)."""
        return self._open

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def close_reason(self) -> str | None:
        """Why the link ended, once it has."""
        return self._close_reason

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered (window slots taken)."""
        return self._window.used

    @property
    def window_size(self) -> int:
        return self._window.size

    @property
    def paused_until(self) -> float:
        """Trio time until which throttling keeps new requests back (-inf: not paused)."""
        return self._paused_until

    @property
    def ready(self) -> bool:
        """A request given now would be written at once (room, not paused, bound)."""
        return (
            self._open
            and not self._room_waiters
            and self._window.has_room
            and _current_time() >= self._paused_until
        )

    async def wait_closed(self) -> str:
        """Wait until the link has ended; returns why."""
        await self._closed.wait()
        return self._close_reason or "closed"

    # --- sending ---------------------------------------------------------------------

    async def send(
        self,
        pdu: Pdu,
        context: Any = None,
        *,
        segments: int = 1,
        timeout: float | None = None,
    ) -> None:
        """Put ``pdu`` in the window; its outcome goes to ``on_outcomes`` with ``context``.

        Returns as soon as the request is queued for writing: when a slot is free,
        the bind is not paused and the rate controller lets it go, without waiting
        (after an eighth of a window, at least 32, put without the writer running
        it yields to the scheduler, never raising Cancelled, so the writer puts
        that stretch on the wire while the caller builds the next); otherwise it
        waits for all three. ``segments`` is what the rate controller counts (SMS
        parts on the air). ``timeout`` overrides the response timeout.
        Raises :class:`NotBoundError` when the bind is not (or no longer) bound
        (nothing was sent), :class:`~smpp_engine.protocol.PduError` for a PDU that
        cannot be encoded and :class:`~smpp_engine.protocol.SessionError` for one
        this bind may not send (a submit on a receiver bind).
        """
        if self.try_send(pdu, context, segments=segments, timeout=timeout):
            await self.pace()
            return
        await self._send_slowly(pdu, context, segments, timeout)

    def try_send(
        self,
        pdu: Pdu,
        context: Any = None,
        *,
        segments: int = 1,
        timeout: float | None = None,
    ) -> bool:
        """:meth:`send` when it would not wait: queue ``pdu`` and return True.

        False, with nothing done, when :meth:`send` would wait (a full window,
        a throttling pause, the rate, earlier waiters) or raise NotBoundError.
        Raises as :meth:`send` does for a PDU that cannot be encoded or sent on
        this bind. A caller sending in a loop awaits :meth:`pace` after each
        request queued, as :meth:`send` does.
        """
        now = _current_time()
        if (
            self._open
            and now >= self._paused_until
            and not self._room_waiters
            and self._window.has_room
            and self._controller.acquire(segments, now) <= 0.0
        ):
            self._put(pdu, context, now, timeout)
            self._unwritten += 1
            return True
        return False

    async def pace(self) -> None:
        """After :meth:`try_send`: yield once a stretch is queued without the writer running.

        A caller sending without a pause lets the writer put that stretch on the
        wire while the next is built, so the SMSC works on it meanwhile instead of
        the two sides taking turns a whole window at a time. A caller that pauses
        on its own (the writer ran in between) never yields here: that would hand
        the loop to other work (billing) and delay the rest of its sends. Never
        raises Cancelled.
        """
        if self._unwritten >= self._flush_every:
            self._unwritten = 0
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def submit(
        self,
        pdu: Pdu | None = None,
        *,
        segments: int = 1,
        timeout: float | None = None,
        **fields: Any,
    ) -> SubmitOutcome:
        """Send one request (``pdu``, or a submit_sm of ``fields``) and await its outcome.

        The SMSC's answer never raises: it is ACCEPTED, REJECTED or UNKNOWN. Raises
        only as :meth:`send` does, before anything was sent.
        """
        request = build_request(pdu, fields)
        waiter = _Waiter()
        await self.send(request, waiter, segments=segments, timeout=timeout)
        await waiter.event.wait()
        outcome = waiter.outcome
        assert outcome is not None
        return outcome

    async def _send_slowly(
        self, pdu: Pdu, context: Any, segments: int, timeout: float | None
    ) -> None:
        acquired = False
        woken = False
        while True:
            if not self._open:
                raise NotBoundError(self.name, self._why_not_open())
            now = _current_time()
            paused = self._paused_until
            if now < paused:
                await trio.sleep_until(paused)
                continue
            # Waiters go first, in order; one that was woken for a free slot takes it.
            if not (self._window.has_room and (woken or not self._room_waiters)):
                self._room_waiters += 1
                try:
                    await self._room_lot.park()
                finally:
                    self._room_waiters -= 1
                woken = True
                continue
            if not acquired:
                wait = self._controller.acquire(segments, now)
                if wait > 0.0:
                    await trio.sleep(wait)
                    continue
                acquired = True
            self._put(pdu, context, now, timeout)
            return

    def _put(self, pdu: Pdu, context: Any, now: float, timeout: float | None) -> None:
        inflight = self._session.send_request(pdu, now, context=context, timeout=timeout)
        if pdu.__class__ is SubmitSm:
            self._unflushed_submits += 1
        else:
            self._metrics.pdu(SENT, pdu.command_id, 0)
        if inflight.deadline < self._timer_at:
            self._set_timer(inflight.deadline)
        if not self._write_rung:
            self._ring()

    def _why_not_open(self) -> str:
        if self._closed.is_set():
            return f"link closed ({self._close_reason or 'closed'})"
        if self._closing or self._session.unbinding:
            return "unbinding"
        return f"not bound (state {self._session.state.value})"

    # --- lifecycle -------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._tasks = nursery
                nursery.start_soon(self._reader)
                nursery.start_soon(self._writer)
                nursery.start_soon(self._timer)
                nursery.start_soon(self._deliverer)
                nursery.start_soon(self._ack_deadlines)
        finally:
            self._done.set()

    async def _handshake(self) -> EsmeError | None:
        config = self.config
        pdu = _BIND_PDUS[config.bind_type](
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            interface_version=config.interface_version,
            addr_ton=config.addr_ton,
            addr_npi=config.addr_npi,
            address_range=config.address_range,
        )
        self._metrics.state("OPEN")
        self._session.send_request(pdu, _current_time())
        self._refresh_timer()
        self._ring()
        await self._settled.wait()
        return self._bind_error

    async def aclose(self, *, drain: bool = True) -> None:
        """Unbind gracefully and close: no new requests; with ``drain``, wait for the
        answers to those in flight (at most until their deadline); send unbind, wait up
        to ``unbind_timeout`` for unbind_resp; close. Requests still outstanding come
        back UNKNOWN. Idempotent."""
        session = self._session
        if not self._closed.is_set():
            self._open = False
            self._wake_room_waiters()
            if drain and session.is_bound:
                with trio.move_on_after(self.config.response_timeout + 1.0):
                    while self._window.used and not self._closed.is_set():
                        await self._drained_lot.park()
            if session.may_send(_UNBIND) and not self._closed.is_set():
                session.send_request(Unbind(), _current_time(), timeout=self.config.unbind_timeout)
                self._refresh_timer()
                self._ring()
                with trio.move_on_after(self.config.unbind_timeout + 1.0):
                    await self._closed.wait()
            if not self._closed.is_set():
                self._close_reason = self._close_reason or "closed by the application"
                session.close()
                self._dispatch(_current_time())
        await self._done.wait()

    # --- tasks -----------------------------------------------------------------------

    async def _reader(self) -> None:
        session = self._session
        receive = self._stream.receive_some
        while True:
            try:
                data = await receive(_RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                if session.state is not _CLOSED:
                    self._close_reason = self._close_reason or f"receive failed: {exc}"
                    session.close()
                    self._dispatch(_current_time())
                return
            now = _current_time()
            # SSLStream gives bytearray; the session only appends it to its buffer.
            session.receive_data(cast(bytes, data), now)
            self._dispatch(now)
            self._ring()
            if not data:
                return
            self._refresh_timer()

    async def _writer(self) -> None:
        session = self._session
        stream = self._stream
        lot = self._writer_lot
        with trio.CancelScope() as scope:
            self._writer_scope = scope
            while True:
                if not self._write_rung:
                    await lot.park()
                self._write_rung = False
                if self._unflushed_submits:
                    self._metrics.submits_sent(self._unflushed_submits)
                    self._unflushed_submits = 0
                    self._metrics.in_flight(self._window.used)
                data = session.data_to_send()
                self._unwritten = 0
                if data:
                    try:
                        await stream.send_all(data)
                    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                        if session.state is not _CLOSED:
                            self._close_reason = self._close_reason or f"send failed: {exc}"
                            session.close()
                            self._dispatch(_current_time())
                        break
                if self._closing:
                    break
        if session.state is not _CLOSED:
            self._close_reason = self._close_reason or "closed"
            session.close()
            self._dispatch(_current_time())
        if self._graceful:
            with trio.move_on_after(self.config.unbind_timeout):
                await stream.aclose()
        await trio.aclose_forcefully(stream)
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    async def _timer(self) -> None:
        session = self._session
        while True:
            at = session.next_timer()
            self._timer_at = math.inf if at is None else at
            with trio.CancelScope(deadline=self._timer_at) as scope:
                self._timer_scope = scope
                await trio.sleep_forever()
            self._timer_scope = None
            now = _current_time()
            session.poll(now)
            self._dispatch(now)
            self._ring()

    async def _deliverer(self) -> None:
        queue = self._inbound_queue
        lot = self._inbound_lot
        error_status = self.config.deliver_error_status
        patience = self.config.deliver_timeout
        deferred = self.config.ack_inbound and (
            self._inbound is not None or self._inbound_sink is not None
        )
        if self._inbound_sink is not None:
            await self._deliver_in_batches(self._inbound_sink, deferred)
            return
        # Counted per stretch, added to the metrics when it ends (and when this stops).
        counts = _InboundCounts()
        try:
            handled = 0
            while True:
                while not queue:
                    handled = 0
                    counts.flush(self._metrics)
                    await lot.park()
                handled += 1
                if handled > _INBOUND_STRETCH:
                    # A long run of receipts: let the writer send the answers so far, so
                    # the SMSC, whose deliver window they hold, goes on meanwhile.
                    handled = 0
                    counts.flush(self._metrics)
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    continue
                pdu, arrived = queue.popleft()
                item, pending = self._read_inbound(pdu, arrived, deferred, counts)
                taken = False
                channel = self._inbound
                if channel is not None:
                    try:
                        channel.send_nowait(item)
                        taken = True
                    except trio.WouldBlock:
                        counts.flush(self._metrics)  # the application may take a while
                        with trio.move_on_at(arrived + patience):
                            await channel.send(item)
                            taken = True
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
                if not taken or self._inbound_refused:
                    self._note_taken(taken, patience)
                self._settle(pdu, pending, 0 if taken else error_status, counts)
        finally:
            counts.flush(self._metrics)

    async def _deliver_in_batches(self, sink: InboundSink, deferred: bool) -> None:
        """The deliverer with an :data:`InboundSink`: what is queued goes in one call,
        up to a stretch at a time, then every PDU of it is answered (or its answer
        left to :meth:`Inbound.ack`)."""
        queue = self._inbound_queue
        lot = self._inbound_lot
        counts = _InboundCounts()
        try:
            while True:
                while not queue:
                    counts.flush(self._metrics)
                    await lot.park()
                batch: list[Inbound] = []
                pendings: list[_PendingAck | None] = []
                while queue and len(batch) < _INBOUND_STRETCH:
                    pdu, arrived = queue.popleft()
                    item, pending = self._read_inbound(pdu, arrived, deferred, counts)
                    batch.append(item)
                    pendings.append(pending)
                taken = True
                try:
                    sink(batch)
                except Exception:
                    # The application's fault, not the SMSC's: these are answered with
                    # the error status (the SMSC keeps them) and the bind goes on.
                    self._log.exception("on_inbound raised; answering its batch with an error")
                    taken = False
                status = 0 if taken else self.config.deliver_error_status
                for item, pending in zip(batch, pendings, strict=True):
                    self._settle(item.pdu, pending, status, counts)
                # Counted before the answers leave (a scrape after them finds them);
                # then the writer sends them: the SMSC, whose deliver window they
                # hold, goes on meanwhile.
                counts.flush(self._metrics)
                await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            counts.flush(self._metrics)

    def _settle(
        self,
        pdu: DeliverSm | DataSm,
        pending: _PendingAck | None,
        status: int,
        counts: _InboundCounts,
    ) -> None:
        """Answer a message handed over (ESME_ROK) or not (``status``); or, taken with
        its answer deferred, leave it to :meth:`Inbound.ack` until its deadline."""
        if pending is None or status:
            self._answer_inbound(pdu, status, counts)
            if pending is not None:
                pending.done = True
        else:
            self._unacked.append(pending)
            if len(self._unacked) == 1:
                self._ack_lot.unpark()

    async def _ack_deadlines(self) -> None:
        """Answer with the error status every deferred ack not given in time, in arrival order."""
        unacked = self._unacked
        error_status = self.config.deliver_error_status
        while True:
            while not unacked:
                await self._ack_lot.park()
            first = unacked[0]
            if first.done:
                unacked.popleft()
                continue
            if _current_time() < first.deadline:
                await trio.sleep_until(first.deadline)
                continue
            unacked.popleft()
            first.done = True
            self._log.warning(
                "application did not acknowledge an inbound message in time",
                answer=status_name(error_status),
                sequence=first.pdu.sequence_number,
            )
            self._answer_inbound(first.pdu, error_status)

    def _answer_inbound(
        self, pdu: DeliverSm | DataSm, status: int, counts: _InboundCounts | None = None
    ) -> None:
        """Answer ``pdu`` with ``status``; an ESME_ROK deliver_sm_resp is counted in
        ``counts`` when given (the deliverer's stretch), else at once."""
        response_id = pdu.command_id | _RESPONSE_BIT
        session = self._session
        if session.may_send(response_id):
            session.acknowledge(pdu, status)
            if status == 0 and pdu.__class__ is DeliverSm:
                if counts is None:
                    self._metrics.deliver_resps_ok(1)
                else:
                    counts.ok_resps += 1
            else:
                self._metrics.pdu(SENT, response_id, status)
            self._ring()

    # --- events ----------------------------------------------------------------------

    def _dispatch(self, now: float) -> None:
        """Apply what the session's pending events come to (:meth:`Triage.sort`)."""
        events = self._session.events()
        if not events:
            return
        triage = self._triage
        batch = triage.sort(events, now, self._paused_until)
        metrics = self._metrics
        ok = triage.ok
        if ok:
            metrics.accepted(ok)
            if triage.ok_submit_resps:
                metrics.submit_resps_ok(triage.ok_submit_resps)
            metrics.latencies(triage.latencies)
        if triage.rejected:
            metrics.rejected(triage.rejected)
        if triage.unknown:
            metrics.unknown(triage.unknown)
        if triage.eventful:
            self._apply_eventful(triage, now)
        window = self._window
        used = window.used
        metrics.in_flight(used)
        if batch and self._sink is not None:
            self._sink(batch)
        if used < window.size:
            self._wake_room_waiters()
        if not used and self._drained_lot:
            self._drained_lot.unpark_all()

    def _apply_eventful(self, triage: Triage, now: float) -> None:
        """What is rare on the read path: pauses, noted events, outcomes for waiters."""
        if triage.pauses:
            self._paused_until = triage.paused_until
        if triage.throttles or triage.pauses:
            self._note_pauses(triage.throttles, triage.pauses)
        for event in triage.noted:
            self._on_event(event, now)
        for outcome in triage.answered:
            waiter = outcome.context
            outcome.context = None
            waiter.outcome = outcome
            waiter.event.set()

    def _on_event(self, event: Event, now: float) -> None:
        """What the bind does itself about an event :class:`Triage` noted."""
        log = self._log
        if isinstance(event, ResponseReceived):
            response = event.response
            self._metrics.pdu(RECEIVED, response.command_id, response.command_status)
        elif isinstance(event, RequestReceived):
            pdu = event.pdu
            if isinstance(pdu, DeliverSm | DataSm):
                if len(self._inbound_queue) >= MAX_QUEUED_INBOUND:
                    status = self.config.deliver_error_status
                    self._session.respond(pdu, status)
                    self._metrics.pdu(SENT, pdu.command_id | _RESPONSE_BIT, status)
                    self._note_taken(False, 0.0)
                    return
                self._inbound_queue.append((pdu, now))
                if self._inbound_lot:
                    self._inbound_lot.unpark()
            else:
                log.info("request from the SMSC ignored", command=pdu.command_name)
        elif isinstance(event, Bound):
            self.peer_system_id = event.system_id
            self._open = True
            self._metrics.state(event.state.value)
            log.info(
                "bound",
                state=event.state.value,
                smsc_system_id=event.system_id,
                host=self.config.host,
                port=self.config.port,
            )
            self._settled.set()
            self._refresh_timer()
        elif isinstance(event, BindFailed):
            self._metrics.bind_failure(event.status)
            self._bind_error = BindRejectedError(self.name, self.config.system_id, event.status)
            log.error(
                "bind refused by the SMSC",
                status=status_name(event.status),
                system_id=self.config.system_id,
                bind_type=self.config.bind_type.value,
                host=self.config.host,
                port=self.config.port,
            )
            self._settled.set()
        elif isinstance(event, Unbound):
            self._graceful = True
            self._close_reason = self._close_reason or "unbound"
            self._stop_taking(now)
            self._metrics.state("UNBOUND")
            log.info("unbound", status=status_name(event.status))
        elif isinstance(event, PeerUnbound):
            self._graceful = True
            self._close_reason = self._close_reason or "unbound by the SMSC"
            self._stop_taking(now)
            self._metrics.state("UNBOUND")
            log.warning("the SMSC unbound", in_flight=self._window.used)
        elif isinstance(event, LinkDead):
            self._close_reason = self._close_reason or event.reason
            log.warning("link dead", reason=event.reason)
        elif isinstance(event, ConnectionClosed):
            self._stop_taking(now)
            self._metrics.state("CLOSED")
            self._metrics.in_flight(0)
            if not self._settled.is_set():
                self._bind_error = LinkLostError(self.name, self._close_reason or "closed")
                self._settled.set()
            self._closed.set()
            self._inbound_queue.clear()
        elif isinstance(event, ProtocolError):
            request = event.request
            if request is None:
                log.warning("undecodable PDU from the SMSC", error=str(event.error))
            else:
                log.warning(
                    "undecodable response: outcome unknown",
                    command=request.pdu.command_name,
                    sequence=request.sequence_number,
                    error=str(event.error),
                )
        elif isinstance(event, RequestRejected):
            log.warning(
                "SMSC request refused in this state",
                command=event.pdu.command_name,
                status=status_name(event.status),
            )
        elif isinstance(event, UnexpectedResponse):
            response = event.response
            log.warning(
                "response to no outstanding request (late after a timeout?)",
                command=response.command_name,
                sequence=response.sequence_number,
                status=status_name(response.command_status),
                smsc_message_id=getattr(response, "message_id", None),
            )

    def _stop_taking(self, now: float) -> None:
        """The link is ending: refuse new requests, wake waiters, let the writer close."""
        self._open = False
        self._wake_room_waiters()
        if not self._closing:
            self._closing = True
            self._ring()
            scope = self._writer_scope
            if scope is not None:
                # Flush the last bytes (unbind_resp, a final generic_nack) if the peer
                # reads them soon; a peer that stopped reading must not hold us.
                scope.deadline = min(scope.deadline, now + self.config.unbind_timeout)

    def _note_pauses(self, throttles: list[int], pauses: list[Pause]) -> None:
        metrics = self._metrics
        for status in throttles:
            metrics.throttled(status)
        for pause in pauses:
            if pause.cause == "throttled":
                self._log.warning(
                    "SMSC throttling: bind paused",
                    status=status_name(pause.value),
                    pause_s=pause.seconds,
                )
            else:
                self._log.warning(
                    "SMSC congested: bind paused",
                    congestion_state=pause.value,
                    pause_s=pause.seconds,
                )

    def _note_taken(self, taken: bool, patience: float) -> None:
        """Log refusals per episode, not per message: an overloaded app would flood the log."""
        refused = self._inbound_refused
        if taken:
            if refused:
                self._log.info("application takes inbound messages again", refused=refused)
                self._inbound_refused = 0
            return
        if not refused:
            self._log.warning(
                "application did not take an inbound message in time; answering with an error",
                answer=status_name(self.config.deliver_error_status),
                waited_s=patience,
                app_channel=self._inbound is not None,
            )
        self._inbound_refused = refused + 1

    def _read_inbound(
        self, pdu: DeliverSm | DataSm, arrived: float, deferred: bool, counts: _InboundCounts
    ) -> tuple[Inbound, _PendingAck | None]:
        """``pdu`` as the application gets it (with its deferred answer), counted."""
        pending = (
            _PendingAck(self, pdu, arrived + self.config.deliver_timeout) if deferred else None
        )
        item = read_inbound(pdu, self.name, arrived, pending.answer if pending else None)
        receipt = item.receipt
        if receipt is not None:  # the common case, counted here without a call
            by_state = counts.receipts
            by_state[receipt.state] = by_state.get(receipt.state, 0) + 1
        else:
            self._count_other_inbound(item, counts)
        return item, pending

    def _count_other_inbound(self, item: Inbound, counts: _InboundCounts) -> None:
        """An MO message counted, or an unreadable receipt logged."""
        if item.receipt_error is not None:
            self._log.warning("unreadable delivery receipt", error=str(item.receipt_error))
        elif not item.is_receipt:
            counts.mo += 1

    # --- plumbing --------------------------------------------------------------------

    def _ring(self) -> None:
        """Wake the writer (once per batch: the flag stays up until it runs)."""
        self._write_rung = True
        lot = self._writer_lot
        if lot:
            lot.unpark()

    def _wake_room_waiters(self) -> None:
        if self._room_waiters:
            if self._open:
                free = self._window.size - self._window.used
                self._room_lot.unpark(count=free)
            else:
                self._room_lot.unpark_all()
        signal = self._room_signal
        if signal:
            signal.unpark_all()

    def _set_timer(self, at: float) -> None:
        self._timer_at = at
        scope = self._timer_scope
        if scope is not None:
            scope.deadline = at

    def _refresh_timer(self) -> None:
        at = self._session.next_timer()
        if at is not None and at < self._timer_at:
            self._set_timer(at)


@asynccontextmanager
async def open_bind(
    config: EsmeConfig,
    *,
    controller: RateController | None = None,
    on_outcomes: OutcomeSink | None = None,
    inbound: trio.MemorySendChannel[Inbound] | None = None,
    on_inbound: InboundSink | None = None,
    room_signal: trio.lowlevel.ParkingLot | None = None,
) -> AsyncIterator[Bind]:
    """Connect, bind, and yield the bound :class:`Bind`; unbind gracefully on exit.

    Raises :class:`~smpp_engine.esme.errors.ConnectError` (refused, timeout, TLS),
    :class:`~smpp_engine.esme.errors.BindRejectedError` (the SMSC said no; logged
    at error level and counted) or :class:`~smpp_engine.esme.errors.LinkLostError`
    (the connection ended before the bind was answered). The link may end while
    the body runs: requests then raise :class:`NotBoundError`, those in flight come
    back UNKNOWN, and :meth:`Bind.wait_closed` returns.
    """
    stream = await open_stream(config)
    bind = Bind(
        config,
        stream,
        controller=controller,
        on_outcomes=on_outcomes,
        inbound=inbound,
        on_inbound=on_inbound,
        room_signal=room_signal,
    )
    error: EsmeError | None = None
    async with open_unwrapping_nursery() as nursery:
        nursery.start_soon(bind._run)
        try:
            error = await bind._handshake()
        finally:
            if error is not None or not bind.is_open:
                with trio.CancelScope(shield=True):
                    await bind.aclose(drain=False)
        if error is None:
            finished = False
            try:
                yield bind
                finished = True
            finally:
                with trio.CancelScope(shield=True):
                    await bind.aclose(drain=finished)
    if error is not None:
        raise error
