"""One ESME connection to the simulator: a reader task, a writer task, a sans-IO session.

The :class:`~smpp_engine.protocol.Session` (role SMSC) frames and decodes every
PDU, enforces the bind states, answers enquire_link and unbind by itself and
numbers and tracks our deliver_sm. The reader passes it each chunk of bytes and
answers the requests it reports in one synchronous pass; the writer sends
everything queued since its last write with one ``send_all``.

A connection must bind within the scenario's ``smsc.bind_timeout`` (it is closed
otherwise, and counted). A bind refused for its credentials is answered only
after a delay that grows with the refusals to the peer's address
(:mod:`.failed_binds`): the connection is held meanwhile, the others are not.
No password is ever logged, not even one the codec refused as over-long.

submit_sm and data_sm are answered on a lean path: the response octets are
packed straight from the request's sequence number and the id, without building
a response object; the Session has already checked that the request is allowed
in this state, and the response is always allowed after it. Everything else is
answered through ``Session.respond``.
"""

from __future__ import annotations

import contextlib
import math
import socket
import struct
from collections import deque
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

import structlog
import trio

from throttling import TokenBucket

from ..protocol import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    CancelSm,
    CommandId,
    CommandNotAllowedError,
    CommandStatus,
    ConnectionClosed,
    DataSm,
    Event,
    LinkDead,
    Pdu,
    PduError,
    PeerUnbound,
    ProtocolError,
    QuerySm,
    ReplaceSm,
    RequestAbandoned,
    RequestReceived,
    RequestRejected,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionState,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
    Tag,
    Unbound,
    UnsuccessSme,
    encode_pdu,
    format_absolute,
    status_name,
)
from ..protocol.log_fields import error_fields as _error_fields
from ..protocol.log_fields import printable as _printable
from .receipts_scheduler import BEFORE_RESP
from .records import MessageRecord
from .routing import Outgoing
from .scenario import BindType
from .telemetry import IN, OUT, UNKNOWN, Tally

if TYPE_CHECKING:
    from .server import Simulator

_log = structlog.get_logger("smpp_engine.simulator")

RECEIVE_SIZE = 256 * 1024
#: Stop reading while this much is queued for a peer that does not read.
HIGH_WATER = 4 * 1024 * 1024
#: With a receipt sent before the response on another connection, the response
#: waits this long so that the receipt is written first.
BEFORE_RESP_GAP = 0.005

_C = CommandId
_S = CommandStatus
_SUBMIT_SM = _C.submit_sm.value
_SUBMIT_SM_RESP = _C.submit_sm_resp.value
_DATA_SM = _C.data_sm.value
_DATA_SM_RESP = _C.data_sm_resp.value
_DELIVER_SM = _C.deliver_sm.value
_CLOSED = SessionState.CLOSED
_BIND_TYPES = {
    _C.bind_transmitter.value: BindType.TRANSMITTER,
    _C.bind_receiver.value: BindType.RECEIVER,
    _C.bind_transceiver.value: BindType.TRANSCEIVER,
}
_HEADER = struct.Struct(">IIII")
_pack_header = _HEADER.pack
_RESP_PACKERS: dict[int, struct.Struct] = {}
_MESSAGE_ID_LIMIT = 64  # message_id C-octet string: 65 octets with the NUL
#: Refusals that a password guess gets: answered late (see failed_binds).
_CREDENTIAL_REFUSALS = frozenset({_S.ESME_RINVPASWD.value, _S.ESME_RINVSYSID.value})


def _response_octets(command_id: int, status: int, sequence: int, message_id: bytes) -> bytes:
    """submit_sm_resp / data_sm_resp octets (an error submit_sm_resp has no body)."""
    if status and command_id == _SUBMIT_SM_RESP:
        return _pack_header(16, command_id, status, sequence)
    size = len(message_id)
    packer = _RESP_PACKERS.get(size)
    if packer is None:
        packer = _RESP_PACKERS[size] = struct.Struct(f">IIII{size + 1}s")
    return packer.pack(packer.size, command_id, status, sequence, message_id)


class Connection:
    """One TCP connection from an ESME."""

    def __init__(self, sim: Simulator, stream: trio.SocketStream, number: int) -> None:
        now = trio.current_time()
        self.sim = sim
        self.stream = stream
        self.number = number
        smsc = sim.scenario.smsc
        self.session = Session(
            Role.SMSC,
            window_size=smsc.deliver_window,
            response_timeout=smsc.deliver_timeout,
            enquire_link_interval=smsc.enquire_link_interval,
            max_command_length=smsc.max_command_length,
            now=now,
        )
        self.out = bytearray()
        self.tally: Tally = {}
        self.system_id = ""
        #: The account's label on metrics (bounded: see Telemetry.account_label).
        self.metric_label = ""
        self.bind_type: BindType | None = None
        self.label = f"#{number}"
        self.bucket: TokenBucket | None = None
        self.connected_at = now
        self.host, self.peer = _peer(stream)
        #: Manual stall until this time (inf: until cleared).
        self.stalled_until = 0.0
        #: A refused bind's answer (and everything after it) waits until this time.
        self.held_until = 0.0
        self._gauge_state: str | None = None
        self._waiting: deque[Outgoing] = deque()
        self._wake = trio.Event()
        self._thaw = trio.Event()
        self._drained = trio.Event()
        self._closing = False
        self._wall = 0.0
        self.scope = trio.CancelScope()
        #: Closed if not bound by then (put off while a stall fault holds it).
        self._bind_by = now + smsc.bind_timeout
        self._stalled_seen = False

    # --- state ---------------------------------------------------------------------

    @property
    def can_receive(self) -> bool:
        """Bound as receiver or transceiver, and not going away."""
        return (
            not self._closing
            and self.bind_type is not None
            and self.bind_type.receives
            and self.session.may_send(_DELIVER_SM)
        )

    @property
    def stalled(self) -> bool:
        """A stall fault (the scenario's or a manual one) holds this connection."""
        return self.sim.behaviour.stall or self.stalled_until > trio.current_time()

    @property
    def frozen(self) -> bool:
        """Neither reading nor writing now: stalled, or holding a refused bind's answer."""
        held = self.held_until  # 0.0 but for a refused bind: no clock read on the hot path
        return self.stalled or (held > 0.0 and held > trio.current_time())

    def refresh(self) -> None:
        """Wake the tasks after a stall or a scenario change."""
        if not self.frozen:
            self._thaw.set()
        self._wake.set()

    def describe(self) -> dict[str, object]:
        return {
            "connection": self.number,
            "peer": self.peer,
            "system_id": self.system_id,
            "bind": self.bind_type.value if self.bind_type else None,
            "state": self.session.state.value,
            "stalled": self.stalled,
            "held": self.held_until > trio.current_time(),
            "deliver_in_flight": self.session.window.used,
            "deliver_waiting": len(self._waiting),
        }

    def configure_throttle(self, now: float) -> None:
        """(Re)build the per-bind rate limit from the account and scenario."""
        behaviour = self.sim.behaviour
        tps = self.sim.accounts.tps(self.system_id) or behaviour.throttle_tps
        if tps is None:
            self.bucket = None
        elif self.bucket is None or self.bucket.rate != tps:
            self.bucket = TokenBucket(tps, behaviour.throttle_burst, now=now)

    # --- tasks ---------------------------------------------------------------------

    async def run(self) -> None:
        try:
            with self.scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader)
                    await self._writer()
                    nursery.cancel_scope.cancel()
        finally:
            self._closing = True
            self.sim.connection_closed(self)
            # What this connection still owed goes to another receiver of the
            # account now, or waits for one: first the unanswered, then the unsent.
            now = trio.current_time()
            self.session.close()
            self._handle(now)
            waiting, self._waiting = list(self._waiting), deque()
            for item in waiting:
                self.sim.router.route((item,), now)
            await trio.aclose_forcefully(self.stream)

    async def _reader(self) -> None:
        receive = self.stream.receive_some
        session = self.session
        while not self._closing:
            if self.frozen:
                self._thaw = trio.Event()
                if self.frozen:
                    await self._thaw.wait()
                continue
            try:
                data = await receive(RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            now = trio.current_time()
            session.receive_data(data, now)
            self._handle(now)
            if not data or session.state is _CLOSED:
                self._finish()
                return
            if len(self.out) > HIGH_WATER:
                self._drained = trio.Event()
                await self._drained.wait()

    async def _writer(self) -> None:
        session = self.session
        send_all = self.stream.send_all
        while True:
            data = session.data_to_send()
            if data:
                self.out += data
            frozen = self.frozen
            if self.out and not frozen:
                if self.tally:  # counts of what the scheduler made us send
                    self.sim.telemetry.flush(self.tally)
                chunk = bytes(self.out)
                self.out.clear()
                self._drained.set()
                try:
                    await send_all(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                continue
            if self._closing:
                return
            self._wake = trio.Event()
            deadline = math.inf if frozen else (session.next_timer() or math.inf)
            bind_by = self._bind_deadline()
            held = self.held_until
            with trio.move_on_at(min(deadline, bind_by, held if held > 0 else math.inf)):
                await self._wake.wait()
            now = trio.current_time()
            if now >= bind_by and self.bind_type is None:
                self._bind_timeout()
                continue
            if held and now >= held:
                self.held_until = 0.0
                self.refresh()
            if now >= deadline:
                session.poll(now)
                self._handle(now)
                if session.state is _CLOSED:
                    self._finish()

    def _finish(self) -> None:
        self._closing = True
        self._wake.set()
        self._thaw.set()

    def _send_late(self, octets: bytes, now: float) -> None:
        if not self._closing:
            self.out += octets
            self._wake.set()

    # --- handling a batch ----------------------------------------------------------

    def _handle(self, now: float) -> None:
        """Act on every event the session has, then queue what it wants sent."""
        session = self.session
        out = self.out
        data = session.data_to_send()
        if data:
            out += data
        self._wall = self.sim.clock.wall(now)
        tally = self.tally
        while True:
            events = session.events()
            if not events:
                break
            for event in events:
                if type(event) is RequestReceived:
                    pdu = event.pdu
                    cid = pdu.command_id
                    key = (IN, cid, 0)
                    tally[key] = tally.get(key, 0) + 1
                    if cid == _SUBMIT_SM:
                        self._on_submit(pdu, now)  # type: ignore[arg-type]
                    else:
                        self._on_request(pdu, cid, now)
                elif type(event) is ResponseReceived:
                    self._on_deliver_response(event, now)
                else:
                    self._on_event(event, now)
        data = session.data_to_send()
        if data:
            out += data
        if tally:
            self.sim.telemetry.flush(tally)
        if out:
            self._wake.set()

    def _admit(self, now: float) -> int:
        """The command_status for a new message: throttling, then the error mix."""
        sim = self.sim
        behaviour = sim.behaviour
        bucket = self.bucket
        if bucket is not None and bucket.take(1.0, now=now) > 0:
            status = behaviour.throttle_status
            sim.telemetry.throttled(self.metric_label, status)
            sim.throttled += 1
            return status
        if behaviour.status is not None:
            return behaviour.status()
        return 0

    def _on_submit(self, pdu: SubmitSm | DataSm, now: float) -> None:
        """submit_sm and data_sm: the hot path."""
        sim = self.sim
        behaviour = sim.behaviour
        resp_id = _SUBMIT_SM_RESP if pdu.command_id == _SUBMIT_SM else _DATA_SM_RESP
        status = self._admit(now) if self.bucket is not None or behaviour.status else 0
        destination = pdu.destination_addr
        if not status:
            if behaviour.status_by_prefix is not None:
                status = behaviour.status_by_prefix(destination) or 0
            if not destination:
                status = _S.ESME_RINVDSTADR
        if status:
            sim.rejected += 1
            self._answer(_response_octets(resp_id, status, pdu.sequence_number, b""), now)
            key = (OUT, resp_id, status)
            self.tally[key] = self.tally.get(key, 0) + 1
            return
        receipts = sim.receipts
        outcome = receipts.constant_outcome or receipts.outcome(destination)
        number = sim.ids.next()
        message_id = sim.ids.encode(number)
        record = MessageRecord(
            number,
            message_id,
            self.system_id,
            self.label,
            pdu,
            now,
            self._wall,
            outcome[0],
            now + outcome[1],
        )
        sim.records.add(record)
        octets = _response_octets(resp_id, 0, pdu.sequence_number, message_id)
        key = (OUT, resp_id, 0)
        self.tally[key] = self.tally.get(key, 0) + 1
        registered = pdu.registered_delivery
        flags = receipts.plan(record, registered, now) if registered & 0x13 else 0
        self._answer_with_receipts(record, flags, octets, now)

    def _answer_with_receipts(
        self, record: MessageRecord, flags: int, octets: bytes, now: float
    ) -> None:
        if not flags:
            self._answer(octets, now)
            return
        receipts = self.sim.receipts
        if flags & BEFORE_RESP:
            receipts.send_now(record, flags, now, self)
            data = self.session.data_to_send()
            if data:
                self.out += data
            if self.can_receive:
                self._answer(octets, now)
            else:  # the receipt went to another connection (or waits): let it go first
                self._answer(octets, now, minimum=BEFORE_RESP_GAP)
            return
        self._answer(octets, now)
        receipts.send_now(record, flags, now, self)

    def _answer(self, octets: bytes, now: float, minimum: float = 0.0) -> None:
        """Queue a response now, or after the scenario's latency."""
        latency = self.sim.behaviour.latency
        delay = latency() if latency is not None else 0.0
        delay = max(delay, minimum)
        if delay <= 0:
            self.out += octets
        else:
            self.sim.scheduler.call_at(now + delay, self._send_late, octets)

    def _respond(self, request: Pdu, now: float, status: int = 0, **fields: Any) -> None:
        """Answer any other request through the session (which checks it), after latency."""
        cls = request.RESPONSE
        assert cls is not None
        response = cls(sequence_number=request.sequence_number, command_status=status, **fields)
        key = (OUT, response.command_id, status)
        self.tally[key] = self.tally.get(key, 0) + 1
        latency = self.sim.behaviour.latency
        delay = latency() if latency is not None else 0.0
        if delay <= 0:
            self.session.send_response(response)
            return
        try:
            octets = encode_pdu(response)
        except PduError:
            _log.exception("cannot encode response", response=response.command_name)
            return
        self.sim.scheduler.call_at(now + delay, self._send_late, octets)

    # --- other requests ------------------------------------------------------------

    def _on_request(self, pdu: Pdu, cid: int, now: float) -> None:
        if cid == _DATA_SM:
            assert isinstance(pdu, DataSm)
            self._on_submit(pdu, now)
        elif cid in _BIND_TYPES:
            assert isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver)
            self._on_bind(pdu, _BIND_TYPES[cid], now)
        elif isinstance(pdu, SubmitMulti):
            self._on_submit_multi(pdu, now)
        elif isinstance(pdu, QuerySm):
            self._on_query(pdu, now)
        elif isinstance(pdu, CancelSm):
            self._on_cancel(pdu, now)
        elif isinstance(pdu, ReplaceSm):
            self._on_replace(pdu, now)
        elif pdu.RESPONSE is not None:
            self._respond(pdu, now, _S.ESME_RINVCMDID)

    def _on_bind(
        self, pdu: BindTransmitter | BindReceiver | BindTransceiver, bind_type: BindType, now: float
    ) -> None:
        sim = self.sim
        status = sim.check_bind(pdu.system_id, pdu.password, bind_type)
        key = (OUT, pdu.command_id | 0x80000000, status)
        self.tally[key] = self.tally.get(key, 0) + 1
        if status:
            self.session.respond(pdu, status)
            known = status != _S.ESME_RINVSYSID
            sim.telemetry.bind_failed(
                sim.telemetry.account_label(pdu.system_id) if known else UNKNOWN, status
            )
            delay = 0.0
            if status in _CREDENTIAL_REFUSALS:
                smsc = sim.scenario.smsc
                delay = sim.failed_binds.record(
                    self.host, now, smsc.failed_bind_delay, smsc.failed_bind_delay_max
                )
                if delay > 0:
                    self.hold(now + delay)
            _log.info(
                "bind refused",
                connection=self.number,
                peer=self.peer,
                system_id=_printable(pdu.system_id),
                bind=bind_type.value,
                status=status_name(status),
                answer_after=delay,
            )
            return
        tlvs = {Tag.sc_interface_version: 0x34} if pdu.interface_version >= 0x34 else {}
        self.session.respond(pdu, 0, system_id=sim.scenario.smsc.system_id, tlvs=tlvs)
        self.bind_type = bind_type

    def _on_submit_multi(self, pdu: SubmitMulti, now: float) -> None:
        sim = self.sim
        status = self._admit(now)
        if status:
            sim.rejected += 1
            self._respond(pdu, now, status)
            return
        behaviour = sim.behaviour
        accepted: list[str] = []
        failed: list[UnsuccessSme] = []
        for address in pdu.dest_addresses:
            if not isinstance(address, SmeAddress):
                failed.append(UnsuccessSme(0, 0, "", _S.ESME_RINVDLNAME))
                continue
            code = 0
            if behaviour.status_by_prefix is not None:
                code = behaviour.status_by_prefix(address.destination_addr) or 0
            if not address.destination_addr:
                code = _S.ESME_RINVDSTADR
            if code:
                failed.append(UnsuccessSme(*address, code))
            else:
                accepted.append(address.destination_addr)
        if not accepted:
            sim.rejected += 1
            self._respond(pdu, now, _S.ESME_RINVDSTADR if not failed else failed[0][3])
            return
        receipts = sim.receipts
        state, delay = receipts.outcome(accepted[0])
        number = sim.ids.next()
        message_id = sim.ids.encode(number)
        record = MessageRecord(
            number, message_id, self.system_id, self.label, pdu, now, self._wall, state, now + delay
        )
        record.destinations = tuple(accepted)
        sim.records.add(record)
        flags = receipts.plan(record, pdu.registered_delivery, now)
        if flags & BEFORE_RESP:
            receipts.send_now(record, flags, now, self)
            flags = 0
        self._respond(pdu, now, 0, message_id=message_id.decode("ascii"), unsuccess_smes=failed)
        if flags:
            receipts.send_now(record, flags, now, self)

    def _find(self, message_id: str, source_addr: str, now: float) -> MessageRecord | int:
        """The record an ancillary request names, or the status to refuse it with."""
        sim = self.sim
        number = sim.ids.parse(message_id)
        record = sim.records.get(number) if number is not None else None
        if record is None or (sim.accounts_configured and record.system_id != self.system_id):
            return _S.ESME_RINVMSGID
        if source_addr and source_addr != record.source:
            return _S.ESME_RINVSRCADR
        return record

    def _on_query(self, pdu: QuerySm, now: float) -> None:
        found = self._find(pdu.message_id, pdu.source_addr, now)
        if isinstance(found, int):
            self._respond(pdu, now, found)
            return
        state = found.state(now)
        final_date = ""
        error_code = 0
        if found.is_final(now):
            moment = self.sim.clock.datetime(min(found.done_at, now)).replace(tzinfo=UTC)
            final_date = format_absolute(moment)
            error_code = self.sim.receipts.error_code(state)
        self._respond(
            pdu,
            now,
            0,
            message_id=pdu.message_id,
            final_date=final_date,
            message_state=int(state),
            error_code=error_code,
        )

    def _on_cancel(self, pdu: CancelSm, now: float) -> None:
        found = self._find(pdu.message_id, pdu.source_addr, now)
        if isinstance(found, int):
            self._respond(pdu, now, found)
            return
        if pdu.destination_addr and pdu.destination_addr not in found.all_destinations():
            self._respond(pdu, now, _S.ESME_RINVDSTADR)
            return
        if found.is_final(now):
            self._respond(pdu, now, _S.ESME_RCANCELFAIL)
            return
        found.cancelled = True
        found.done_at = now
        self._respond(pdu, now)

    def _on_replace(self, pdu: ReplaceSm, now: float) -> None:
        found = self._find(pdu.message_id, pdu.source_addr, now)
        if isinstance(found, int):
            self._respond(pdu, now, found)
            return
        if found.is_final(now):
            self._respond(pdu, now, _S.ESME_RREPLACEFAIL)
            return
        found.replacement = pdu.short_message or _payload(pdu)
        self._respond(pdu, now)

    # --- our deliver_sm ------------------------------------------------------------

    def enqueue(self, items: Sequence[Outgoing], now: float) -> None:
        """Send ``items`` (receipts, MO parts) in order, as the window allows."""
        waiting = self._waiting
        session = self.session
        router = self.sim.router
        for item in items:
            if waiting or not session.has_room:
                if len(waiting) >= router.max_pending[item.kind]:
                    router.dropped[item.kind] += 1  # a peer that never answers
                    continue
                waiting.append(item)
            else:
                self._send_outgoing(item, now)
        self._wake.set()

    def _send_outgoing(self, item: Outgoing, now: float) -> None:
        try:
            if item.body is not None:
                self.session.send_encoded_request(_DELIVER_SM, item.body, now, context=item)
            else:
                self.session.send_request(item.pdu, now, context=item)
        except CommandNotAllowedError:  # unbinding: another receiver, or later
            self.sim.router.route((item,), now)
            return
        except PduError as exc:
            _log.warning("deliver_sm cannot be encoded", kind=item.kind, error=str(exc))
            return
        key = (OUT, _DELIVER_SM, 0)
        self.tally[key] = self.tally.get(key, 0) + 1
        if item.on_sent is not None:
            item.on_sent(item)

    def _pump(self, now: float) -> None:
        waiting = self._waiting
        session = self.session
        while waiting and session.has_room:
            self._send_outgoing(waiting.popleft(), now)

    def _on_deliver_response(self, event: ResponseReceived, now: float) -> None:
        response = event.response
        status = response.command_status
        key = (IN, response.command_id, status)
        self.tally[key] = self.tally.get(key, 0) + 1
        item = event.request.context
        if status and isinstance(item, Outgoing):
            self.sim.router.retry(item, now)
        self._pump(now)

    # --- session events ------------------------------------------------------------

    def _on_event(self, event: Event, now: float) -> None:
        sim = self.sim
        if isinstance(event, Bound):
            self.system_id = event.system_id
            self.metric_label = sim.telemetry.account_label(event.system_id)
            assert self.bind_type is not None
            self.label = f"{self.system_id}/{self.bind_type.short}#{self.number}"
            self._set_gauge(event.state.value)
            self.configure_throttle(now)
            sim.connection_bound(self, now)
            _log.info(
                "bound",
                connection=self.number,
                system_id=_printable(self.system_id),
                bind=self.bind_type.value,
                peer=self.peer,
            )
        elif isinstance(event, RequestTimedOut):
            item = event.request.context
            if isinstance(item, Outgoing):
                sim.router.retry(item, now)
            self._pump(now)
        elif isinstance(event, RequestAbandoned):
            item = event.request.context
            if isinstance(item, Outgoing):
                sim.router.route((item,), now)
        elif isinstance(event, RequestRejected):
            tally = self.tally
            for key in (
                (IN, event.pdu.command_id, 0),
                (OUT, event.pdu.command_id | 0x80000000, event.status),
            ):
                tally[key] = tally.get(key, 0) + 1
        elif isinstance(event, PeerUnbound | Unbound):
            self._set_gauge(SessionState.UNBOUND.value)
            sim.connection_unbound(self)
            _log.info(
                "unbound",
                connection=self.number,
                system_id=_printable(self.system_id),
                by="peer" if isinstance(event, PeerUnbound) else "simulator",
            )
            self._finish()
        elif isinstance(event, ProtocolError):
            _log.info("protocol error", connection=self.number, **_error_fields(event.error))
        elif isinstance(event, LinkDead):
            _log.info("link dead", connection=self.number, reason=event.reason)
        elif isinstance(event, ConnectionClosed):
            self._set_gauge(None)
            self._finish()

    def _set_gauge(self, state: str | None) -> None:
        if self.metric_label and state != self._gauge_state:
            self.sim.telemetry.bind_state(self.metric_label, self._gauge_state, state)
            self._gauge_state = state

    # --- admission -----------------------------------------------------------------

    def _bind_deadline(self) -> float:
        """When an unbound connection is closed; inf once bound. A stall fault answers
        nothing by design: while it lasts there is no deadline, and after it the
        peer has a whole bind_timeout again."""
        if self.bind_type is not None:
            return math.inf
        if self.stalled:
            self._stalled_seen = True
            return math.inf
        if self._stalled_seen:
            self._stalled_seen = False
            now = trio.current_time()
            self._bind_by = max(self._bind_by, now + self.sim.scenario.smsc.bind_timeout)
        return self._bind_by

    def _bind_timeout(self) -> None:
        self.sim.bind_timeouts += 1
        _log.info("bind timeout", connection=self.number, peer=self.peer)
        self._finish()

    def hold(self, until: float) -> None:
        """Neither read nor write until ``until`` (a refused bind's delayed answer);
        the writer lets go then."""
        self.held_until = max(self.held_until, until)
        self._wake.set()

    # --- faults --------------------------------------------------------------------

    def stall(self, until: float) -> None:
        self.stalled_until = until
        self.refresh()

    def drop(self, reset: bool = False) -> None:
        if reset:
            with contextlib.suppress(OSError):
                self.stream.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
        self.scope.cancel()

    def unbind(self, now: float) -> bool:
        session = self.session
        if not session.is_bound or session.unbinding:
            return False
        session.unbind(now)
        self._wake.set()
        return True

    def send_raw(self, octets: bytes) -> None:
        self.out += octets
        self._wake.set()


def _payload(pdu: ReplaceSm) -> bytes:
    value = pdu.tlvs.get(Tag.message_payload)
    return value if isinstance(value, bytes) else b""


def _peer(stream: trio.SocketStream) -> tuple[str, str]:
    """The peer's host, and host:port."""
    try:
        host, port = stream.socket.getpeername()[:2]
    except (OSError, ValueError):
        return "?", "?"
    return str(host), f"{host}:{port}"
