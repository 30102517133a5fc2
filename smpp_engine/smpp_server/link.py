"""One client connection to the SMPP server face: reader, writer and accepter tasks
around a sans-IO session playing the SMSC.

The :class:`~smpp_engine.protocol.Session` (role SMSC) frames and decodes every
PDU, enforces the bind states, answers enquire_link and unbind by itself, nacks
malformed PDUs (keeping the connection when the stream can still be framed) and
numbers our deliver_sm. The reader hands each received chunk to it and acts on
the events; submits go to the accepter, which stores everything queued by then
in one accept and only then answers each with its id (so a client never holds
an id of a message that was not kept: a store failure is ESME_RSYSERR). While
a bind has ``window`` submits unanswered the reader stops reading: the client's
further requests wait in the socket (back-pressure). The writer sends
everything queued with one ``send_all``. A connection not bound within
``bind_timeout`` is closed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import structlog
import trio

from ..protocol import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    CommandId,
    CommandStatus,
    ConnectionClosed,
    DataSm,
    DeliverSm,
    LinkDead,
    Pdu,
    PduError,
    PeerUnbound,
    ProtocolError,
    RequestAbandoned,
    RequestReceived,
    RequestRejected,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionError,
    SessionState,
    SubmitMulti,
    SubmitSm,
    Tag,
    UnsuccessSme,
    status_name,
)
from ..protocol.log_fields import error_fields, printable
from ..store import NewMessage
from .accounts import Account, BindKind
from .submits import SubmitRefusedError, messages_of

if TYPE_CHECKING:
    from .server import SmppServer

__all__ = ["Link"]

_log = structlog.get_logger("smpp_engine.smpp_server")

RECEIVE_SIZE = 256 * 1024
_C = CommandId
_S = CommandStatus
_BINDS = frozenset({_C.bind_transmitter.value, _C.bind_receiver.value, _C.bind_transceiver.value})
_SUBMITS = frozenset({_C.submit_sm.value, _C.data_sm.value, _C.submit_multi.value})
_CLOSED = SessionState.CLOSED
#: Refusals a password guess gets: answered late (see protocol.failed_binds).
_CREDENTIAL_REFUSALS = frozenset({_S.ESME_RINVPASWD.value, _S.ESME_RINVSYSID.value})


class Pending:
    """A submit waiting for the store: the request and the messages it stores."""

    __slots__ = ("messages", "pdu")

    def __init__(self, pdu: SubmitSm | DataSm | SubmitMulti, messages: list[NewMessage]) -> None:
        self.pdu = pdu
        self.messages = messages


class Link:
    """One TCP (or TLS) connection from a client ESME."""

    def __init__(self, server: SmppServer, stream: trio.abc.Stream, number: int, peer: str) -> None:
        now = trio.current_time()
        config = server.config
        self.server = server
        self.stream = stream
        self.number = number
        self.peer = peer
        self.host = peer.rsplit(":", 1)[0]
        self.session = Session(
            Role.SMSC,
            window_size=config.deliver_window,
            response_timeout=config.response_timeout,
            enquire_link_interval=config.enquire_link_interval,
            now=now,
        )
        self.account: Account | None = None
        self.kind: BindKind | None = None
        #: The bind's interface_version: below 0x34 the client takes no TLVs.
        self.interface_version = 0
        self.out = bytearray()
        self._pending: list[Pending] = []
        #: Submits taken from the socket and not answered yet.
        self._unanswered = 0
        self._wake = trio.Event()
        self._work = trio.Event()
        self._room = trio.Event()
        self._closing = False
        self._unbound = False
        self._bind_by = now + config.bind_timeout
        self._binds: list[BindTransmitter | BindReceiver | BindTransceiver] = []

    # --- state ---------------------------------------------------------------------

    @property
    def window(self) -> int:
        return self.account.credential.window if self.account is not None else 1

    @property
    def deliver_room(self) -> int:
        """deliver_sm this link can take now (0 unless bound to receive)."""
        if self._closing or self.kind is None or not self.kind.receives or self._unbound:
            return 0
        if not self.session.may_send(_C.deliver_sm.value):
            return 0
        window = self.session.window
        return window.size - window.used

    def send_deliver(self, pdu: DeliverSm, context: Any) -> bool:
        """Queue ``pdu`` (its outcome comes back to the server with ``context``); False
        when this link cannot take it now."""
        if self.deliver_room <= 0:
            return False
        try:
            self.session.send_request(pdu, trio.current_time(), context=context)
        except (SessionError, PduError) as exc:
            _log.warning("deliver_sm not sent", connection=self.number, error=str(exc))
            return False
        self._wake.set()
        return True

    # --- tasks ---------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader)
                nursery.start_soon(self._accepter)
                await self._writer()
                nursery.cancel_scope.cancel()
        finally:
            self._closing = True
            self.session.close()
            self._handle(trio.current_time())
            self.server.link_closed(self)
            await trio.aclose_forcefully(self.stream)

    async def _reader(self) -> None:
        receive = self.stream.receive_some
        session = self.session
        while not self._closing:
            while self._unanswered >= self.window and not self._closing:
                self._room = trio.Event()
                await self._room.wait()
            try:
                data = bytes(await receive(RECEIVE_SIZE))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            now = trio.current_time()
            session.receive_data(data, now)
            self._handle(now)
            while self._binds:
                await self._on_bind(self._binds.pop(0))
                self._handle(trio.current_time())
            if not data or session.state is _CLOSED:
                self._finish()
                return

    async def _writer(self) -> None:
        session = self.session
        send_all = self.stream.send_all
        while True:
            data = session.data_to_send()
            if data:
                self.out += data
            if self.out:
                chunk = bytes(self.out)
                self.out.clear()
                try:
                    await send_all(chunk)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                continue
            if self._closing:
                return
            self._wake = trio.Event()
            deadline = session.next_timer() or math.inf
            bind_by = self._bind_by if self.account is None else math.inf
            with trio.move_on_at(min(deadline, bind_by)):
                await self._wake.wait()
            now = trio.current_time()
            if self.account is None and now >= bind_by:
                self.server.bind_timeouts += 1
                _log.info("bind timeout", connection=self.number, peer=self.peer)
                self._finish()
                continue
            if now >= deadline:
                session.poll(now)
                self._handle(now)

    async def _accepter(self) -> None:
        while True:
            while not self._pending:
                self._work = trio.Event()
                await self._work.wait()
            # At most a window's worth at once: what one read brought beyond it waits
            # its turn, as the requests still in the socket do.
            window = self.window
            batch, self._pending = self._pending[:window], self._pending[window:]
            assert self.account is not None
            answers = await self.server.accept(self.account, batch)
            for item, (status, fields) in zip(batch, answers, strict=True):
                try:
                    self.session.respond(item.pdu, status, **fields)
                except (SessionError, PduError) as exc:  # the session closed meanwhile
                    _log.info("answer not sent", connection=self.number, error=str(exc))
            self._unanswered -= len(batch)
            self._room.set()
            self._wake.set()
            if self._unbound and not self._unanswered:
                self._finish()

    def _finish(self) -> None:
        self._closing = True
        self._wake.set()
        self._room.set()

    # --- events --------------------------------------------------------------------

    def _handle(self, now: float) -> None:
        """Act on every event the session has; what it wants sent goes to the writer."""
        session = self.session
        while True:
            events = session.events()
            if not events:
                break
            for event in events:
                if type(event) is RequestReceived:
                    self._on_request(event.pdu, now)
                elif type(event) is ResponseReceived:
                    self.server.deliver_answered(
                        event.request.context, event.response.command_status
                    )
                else:
                    self._on_event(event)
        self._wake.set()

    def _on_request(self, pdu: Pdu, now: float) -> None:
        cid = pdu.command_id
        if cid in _SUBMITS:
            self._on_submit(pdu, now)  # type: ignore[arg-type]
        elif cid in _BINDS:
            self._binds.append(pdu)  # type: ignore[arg-type]
        elif pdu.RESPONSE is not None:
            # query_sm, cancel_sm, replace_sm: not offered by the gateway.
            self.session.respond(pdu, _S.ESME_RINVCMDID)

    def _on_submit(self, pdu: SubmitSm | DataSm | SubmitMulti, now: float) -> None:
        account = self.account
        assert account is not None  # the session lets submits through only when bound
        server = self.server
        wall = server.clock()
        if not account.take(wall):
            server.throttled += 1
            server.telemetry.limited(account.system_id, _S.ESME_RTHROTTLED)
            self.session.respond(pdu, _S.ESME_RTHROTTLED)
            return
        try:
            messages = messages_of(pdu, account, server.config.priority, wall, server.routing)
        except SubmitRefusedError as exc:
            server.telemetry.rejected.inc()
            self.session.respond(pdu, exc.status)
            _log.debug("submit refused", connection=self.number, reason=exc.reason)
            return
        self._pending.append(Pending(pdu, messages))
        self._unanswered += 1
        self._work.set()

    async def _on_bind(self, pdu: BindTransmitter | BindReceiver | BindTransceiver) -> None:
        server = self.server
        kind = BindKind.of(pdu.command_id)
        found = await server.check_bind(pdu.system_id, pdu.password, kind)
        if isinstance(found, int):
            status = found
            if status in _CREDENTIAL_REFUSALS:
                delay = server.failed_binds.record(
                    self.host, trio.current_time(), server.failed_bind_delay, 30.0
                )
                await trio.sleep(delay)
            self.session.respond(pdu, status)
            server.telemetry.bind_refused(pdu.system_id, status)
            _log.info(
                "bind refused",
                connection=self.number,
                peer=self.peer,
                system_id=printable(pdu.system_id),
                bind=kind.value,
                status=status_name(status),
            )
            return
        if self._closing:
            return
        tlvs = {Tag.sc_interface_version: 0x34} if pdu.interface_version >= 0x34 else {}
        self.session.respond(pdu, 0, system_id=server.system_id, tlvs=tlvs)
        self.account = found
        self.kind = kind
        self.interface_version = pdu.interface_version
        found.binds += 1
        server.link_bound(self)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, RequestTimedOut | RequestAbandoned):
            self.server.deliver_unanswered(event.request.context)
        elif isinstance(event, Bound):
            _log.info(
                "bound",
                connection=self.number,
                system_id=printable(event.system_id),
                bind=event.state.value,
                peer=self.peer,
            )
        elif isinstance(event, PeerUnbound):
            # The unbind_resp is queued; answers to submits taken before it still go out.
            self._unbound = True
            self.server.link_unbound(self)
            if not self._unanswered:
                self._finish()
        elif isinstance(event, ProtocolError):
            _log.info("protocol error", connection=self.number, **error_fields(event.error))
        elif isinstance(event, RequestRejected):
            _log.debug("request rejected", connection=self.number, status=status_name(event.status))
        elif isinstance(event, LinkDead):
            _log.info("link dead", connection=self.number, reason=event.reason)
        elif isinstance(event, ConnectionClosed):
            self._finish()


def submit_answer(
    pdu: SubmitSm | DataSm | SubmitMulti, ids: list[str], failed: list[UnsuccessSme]
) -> dict[str, Any]:
    """The fields of the response to ``pdu`` whose messages got ``ids``."""
    if isinstance(pdu, SubmitMulti):
        return {"message_id": ids[0], "unsuccess_smes": failed}
    return {"message_id": ids[0]}
