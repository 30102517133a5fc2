"""The SMPP session state machine, sans-IO (in the style of h11 and wsproto).

One :class:`Session` per connection, playing one :class:`Role`: the ESME client
and the SMSC simulator use the same class. The I/O layer

- passes received bytes to :meth:`Session.receive_data` (``b""`` at EOF) and then
  takes :class:`Event` objects from :meth:`Session.next_event` until it returns None;
- sends what :meth:`Session.data_to_send` returns, many PDUs at once;
- calls :meth:`Session.poll` at :meth:`Session.next_timer` (or later) and drains
  events again;
- closes the socket once the state is CLOSED, after sending the last bytes (a
  final generic_nack may be waiting), and at the latest on :class:`ConnectionClosed`.

The session answers by itself, even when the submit window is full: the peer's
enquire_link, the peer's unbind, requests not allowed in the current state or
from the peer's side (ESME_RINVBNDSTS, or ESME_RALYBND for a bind when bound),
unknown command_ids (generic_nack ESME_RINVCMDID), malformed PDUs (their own
response with the decoder's status) and framing errors (generic_nack
ESME_RINVCMDLEN, then CLOSED). Which PDU is allowed in which state and from which
side follows the operation matrix of SMPP 5.0 (table 2-1), which corrects 3.4's
(replace_sm in BOUND_TRX; data_sm follows the TX/RX direction; enquire_link and
generic_nack in every open state).

Every request of ours ends in exactly one terminal event: :class:`ResponseReceived`,
:class:`Bound` / :class:`BindFailed` (bind), :class:`Unbound` (unbind), or with
outcome UNKNOWN :class:`RequestTimedOut`, :class:`RequestAbandoned` (still
outstanding at close) or :class:`ProtocolError` with ``request`` set (its response
could not be decoded). The only exception is the session's own keep-alive
enquire_link, which is never reported. Requests without a response (outbind,
alert_notification) are not tracked at all.

Public names: ``Role``, ``SessionState``, ``Session``, ``SessionError``,
``CommandNotAllowedError``, ``BOUND_STATES``, ``DEFAULT_WINDOW_SIZE``,
``DEFAULT_RESPONSE_TIMEOUT``, ``DEFAULT_ENQUIRE_LINK_INTERVAL`` and the events
``Event``, ``RequestReceived``, ``ResponseReceived``, ``UnexpectedResponse``,
``RequestRejected``, ``Bound``, ``BindFailed``, ``Unbound``, ``PeerUnbound``,
``RequestTimedOut``, ``RequestAbandoned``, ``ProtocolError``, ``LinkDead``,
``ConnectionClosed``.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Any

from .codec import HEADER, HEADER_SIZE, encode_pdu
from .errors import PduError
from .pdus import (
    BY_COMMAND_ID,
    RESPONSE_BIT,
    CommandId,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    Unbind,
    UnbindResp,
)
from .status import CommandStatus, status_name
from .stream import DEFAULT_MAX_COMMAND_LENGTH, PduStream
from .window import EncodedInFlight, InFlight, Window

DEFAULT_WINDOW_SIZE = 10
DEFAULT_RESPONSE_TIMEOUT = 30.0
DEFAULT_ENQUIRE_LINK_INTERVAL = 30.0


class Role(enum.Enum):
    """Which side of the link this session plays."""

    ESME = "ESME"
    SMSC = "SMSC"


class SessionState(enum.Enum):
    OPEN = "OPEN"
    #: An ESME received outbind (or an SMSC sent it); a bind_receiver is expected.
    OUTBOUND = "OUTBOUND"
    BOUND_TX = "BOUND_TX"
    BOUND_RX = "BOUND_RX"
    BOUND_TRX = "BOUND_TRX"
    #: unbind answered; only closing the connection remains.
    UNBOUND = "UNBOUND"
    CLOSED = "CLOSED"


BOUND_STATES = frozenset({SessionState.BOUND_TX, SessionState.BOUND_RX, SessionState.BOUND_TRX})


# --- errors ----------------------------------------------------------------------


class SessionError(Exception):
    """A call the session cannot honour in its current state."""


class CommandNotAllowedError(SessionError):
    """This side may not send this command in this state (or right now)."""

    def __init__(self, role: Role, state: SessionState, command_id: int, why: str = "") -> None:
        self.role = role
        self.state = state
        self.command_id = command_id
        name = _command_name(command_id)
        detail = f": {why}" if why else ""
        super().__init__(f"{role.value} may not send {name} in state {state.value}{detail}")


# --- events ----------------------------------------------------------------------


@dataclass(slots=True)
class Event:
    """Base of everything :meth:`Session.next_event` returns."""


@dataclass(slots=True)
class RequestReceived(Event):
    """A request of the peer for the application; answer it with :meth:`Session.respond`.

    bind requests at an SMSC come this way too: the SMSC application checks the
    credentials and responds; a successful bind_resp binds the session. outbind and
    alert_notification have no response.
    """

    pdu: Pdu


@dataclass(slots=True)
class ResponseReceived(Event):
    """The peer answered one of our requests (``response`` may be a generic_nack)."""

    request: InFlight
    response: Pdu


@dataclass(slots=True)
class UnexpectedResponse(Event):
    """A response matching none of our outstanding requests; otherwise ignored."""

    response: Pdu


@dataclass(slots=True)
class RequestRejected(Event):
    """The session answered a peer's request with an error by itself (wrong state or side)."""

    pdu: Pdu
    status: int


@dataclass(slots=True)
class Bound(Event):
    """The session is bound: on the ESME when bind_resp arrives, on the SMSC once sent.

    ``system_id`` is the peer's: the SMSC's from bind_resp, the ESME's from its bind.
    ``request`` is our bind (None on the SMSC side).
    """

    state: SessionState
    system_id: str
    request: InFlight | None = None


@dataclass(slots=True)
class BindFailed(Event):
    """Our bind was refused (``response`` may be a generic_nack). The state is OPEN again."""

    status: int
    request: InFlight
    response: Pdu


@dataclass(slots=True)
class Unbound(Event):
    """Our unbind was answered; the state is UNBOUND: close the connection."""

    status: int
    request: InFlight


@dataclass(slots=True)
class PeerUnbound(Event):
    """The peer unbound; the session answered unbind_resp and is UNBOUND: close."""


@dataclass(slots=True)
class RequestTimedOut(Event):
    """No response before the deadline; the slot is free; the outcome is UNKNOWN."""

    request: InFlight


@dataclass(slots=True)
class RequestAbandoned(Event):
    """Still outstanding when the session closed; the outcome is UNKNOWN."""

    request: InFlight


@dataclass(slots=True)
class ProtocolError(Event):
    """The peer sent a PDU we could not decode; it was answered already.

    When it was a response to one of our requests, ``request`` is that request: it
    left the window and its outcome is UNKNOWN. ``error.framing`` means the stream
    is lost and the session is CLOSED.
    """

    error: PduError
    request: InFlight | None = None


@dataclass(slots=True)
class LinkDead(Event):
    """The session gave up on the link (no keep-alive answer, generic_nack with
    sequence 0, framing error, EOF while bound, no answer to bind); it is CLOSED."""

    reason: str


@dataclass(slots=True)
class ConnectionClosed(Event):
    """The last event of every session: the state is CLOSED."""


# --- the operation matrix -----------------------------------------------------------

_C = CommandId
_S = SessionState
_E = Role.ESME
_M = Role.SMSC
_BOTH = (_E, _M)
_OPEN_STATES = (_S.OPEN, _S.OUTBOUND, _S.BOUND_TX, _S.BOUND_RX, _S.BOUND_TRX, _S.UNBOUND)
_BOUND = (_S.BOUND_TX, _S.BOUND_RX, _S.BOUND_TRX)

# command -> ((states, issuers), ...): SMPP 5.0 table 2-1.
_MATRIX: dict[CommandId, tuple[tuple[tuple[SessionState, ...], tuple[Role, ...]], ...]] = {
    **{
        c: (((_S.OPEN, _S.OUTBOUND), (_E,)),)
        for c in (_C.bind_transmitter, _C.bind_receiver, _C.bind_transceiver)
    },
    **{
        c: (((_S.OPEN, _S.OUTBOUND), (_M,)),)
        for c in (_C.bind_transmitter_resp, _C.bind_receiver_resp, _C.bind_transceiver_resp)
    },
    _C.outbind: (((_S.OPEN,), (_M,)),),
    _C.unbind: ((_BOUND, _BOTH),),
    _C.unbind_resp: ((_BOUND, _BOTH),),
    _C.enquire_link: ((_OPEN_STATES, _BOTH),),
    _C.enquire_link_resp: ((_OPEN_STATES, _BOTH),),
    _C.generic_nack: ((_OPEN_STATES, _BOTH),),
    **{
        c: (((_S.BOUND_TX, _S.BOUND_TRX), (_E,)),)
        for c in (_C.submit_sm, _C.submit_multi, _C.query_sm, _C.cancel_sm, _C.replace_sm)
    },
    **{
        c: (((_S.BOUND_TX, _S.BOUND_TRX), (_M,)),)
        for c in (
            _C.submit_sm_resp,
            _C.submit_multi_resp,
            _C.query_sm_resp,
            _C.cancel_sm_resp,
            _C.replace_sm_resp,
        )
    },
    _C.deliver_sm: (((_S.BOUND_RX, _S.BOUND_TRX), (_M,)),),
    _C.deliver_sm_resp: (((_S.BOUND_RX, _S.BOUND_TRX), (_E,)),),
    _C.alert_notification: (((_S.BOUND_RX, _S.BOUND_TRX), (_M,)),),
    _C.data_sm: (((_S.BOUND_TX,), (_E,)), ((_S.BOUND_RX,), (_M,)), ((_S.BOUND_TRX,), _BOTH)),
    _C.data_sm_resp: (((_S.BOUND_TX,), (_M,)), ((_S.BOUND_RX,), (_E,)), ((_S.BOUND_TRX,), _BOTH)),
}


def _issuable(role: Role, state: SessionState) -> frozenset[int]:
    return frozenset(
        int(command)
        for command, rows in _MATRIX.items()
        for states, issuers in rows
        if state in states and role in issuers
    )


def _other(role: Role) -> Role:
    return _M if role is _E else _E


_ISSUABLE = {(role, state): _issuable(role, state) for role in Role for state in SessionState}
_RESPONSES_ONLY = {
    key: frozenset(c for c in ids if c & RESPONSE_BIT) for key, ids in _ISSUABLE.items()
}
_KEEPALIVE_IDS = frozenset(
    {_C.enquire_link.value, _C.enquire_link_resp.value, _C.generic_nack.value}
)
#: After our unbind: answers to the peer, and keep-alives; no new requests.
_WHILE_UNBINDING = _KEEPALIVE_IDS | frozenset(c.value for c in CommandId if c & RESPONSE_BIT)

_BIND_STATE = {
    _C.bind_transmitter.value: _S.BOUND_TX,
    _C.bind_receiver.value: _S.BOUND_RX,
    _C.bind_transceiver.value: _S.BOUND_TRX,
}
_BIND_RESPONSES = frozenset(c | RESPONSE_BIT for c in _BIND_STATE)
#: Session management: ours never take a window slot (they must go out even when it
#: is full); the peer's are handled by the session before the application sees any.
_MANAGEMENT = frozenset({*_BIND_STATE, _C.unbind.value, _C.enquire_link.value, _C.outbind.value})

_ENQUIRE_LINK = _C.enquire_link.value
_UNBIND = _C.unbind.value
_OUTBIND = _C.outbind.value
_GENERIC_NACK = _C.generic_nack.value
_CLOSED = _S.CLOSED
_pack_header = HEADER.pack


def _name(command_id: int) -> str:
    known = command_id in BY_COMMAND_ID
    return CommandId(command_id).name if known else f"0x{command_id:08x}"


# Requests without a response (outbind, alert_notification): never in the window.
_NO_RESPONSE = frozenset(cid for cid, cls in BY_COMMAND_ID.items() if cls.RESPONSE is None)
# The body of each response whose fields all keep their defaults (the bind
# responses are excluded: they carry the system_id and change the state), for
# ESME_ROK and for an error status (some responses then have no body at all).
_DEFAULT_BODIES: dict[int, tuple[bytes, bytes]] = {
    cid: (
        encode_pdu(cls())[HEADER_SIZE:],
        encode_pdu(cls(command_status=CommandStatus.ESME_RSYSERR))[HEADER_SIZE:],
    )
    for cid, cls in BY_COMMAND_ID.items()
    if cid & RESPONSE_BIT and cid not in _BIND_RESPONSES
}


def _command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"0x{command_id:08X}"


# --- the session -----------------------------------------------------------------


class Session:
    """One SMPP session over one connection, as ESME or SMSC. Pure: the time is passed in."""

    __slots__ = (
        "_bound_state",
        "_events",
        "_keepalive",
        "_last_received",
        "_may_receive",
        "_may_send",
        "_our_bind",
        "_out",
        "_peer_bind",
        "_state",
        "_stream",
        "_unbinding",
        "enquire_link_interval",
        "response_timeout",
        "role",
        "window",
    )

    def __init__(
        self,
        role: Role,
        *,
        window_size: int = DEFAULT_WINDOW_SIZE,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        enquire_link_interval: float | None = DEFAULT_ENQUIRE_LINK_INTERVAL,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        first_sequence: int = 1,
        now: float,
    ) -> None:
        self.role = role
        self.response_timeout = response_timeout
        #: Send enquire_link after this long without receiving anything; None: never.
        self.enquire_link_interval = enquire_link_interval
        self.window = Window(window_size, first_sequence=first_sequence)
        self._stream = PduStream(max_command_length)
        self._out = bytearray()
        self._events: deque[Event] = deque()
        self._state = _S.OPEN
        self._bound_state: SessionState | None = None
        self._our_bind: InFlight | None = None
        self._peer_bind: Pdu | None = None
        self._unbinding: InFlight | None = None
        self._keepalive: InFlight | None = None
        self._last_received = now
        self._may_send: frozenset[int] = frozenset()
        self._may_receive: frozenset[int] = frozenset()
        self._refresh()

    # --- introspection -------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def is_bound(self) -> bool:
        return self._state in BOUND_STATES

    @property
    def binding(self) -> bool:
        """A bind is under way (sent and unanswered, or received and not yet answered)."""
        return self._our_bind is not None or self._peer_bind is not None

    @property
    def unbinding(self) -> bool:
        """We sent unbind and wait for unbind_resp."""
        return self._unbinding is not None

    @property
    def has_room(self) -> bool:
        """Whether a request that takes a window slot (submit_sm...) can be sent now."""
        return self.window.has_room

    def may_send(self, command_id: int) -> bool:
        """Whether this side may send ``command_id`` now."""
        return command_id in self._may_send

    # --- sending -------------------------------------------------------------------

    def send_request(
        self, pdu: Pdu, now: float, *, context: Any = None, timeout: float | None = None
    ) -> InFlight:
        """Number ``pdu``, record it in the window, then queue its bytes.

        Raises :class:`CommandNotAllowedError` when this side may not send it now,
        :class:`~.window.WindowFull` when it takes a slot and none is free, and
        :class:`~.errors.PduError` when it cannot be encoded (nothing is queued).
        bind, unbind and enquire_link never take a slot. outbind and
        alert_notification have no response: they are numbered but not recorded.
        """
        cid = pdu.command_id
        if cid not in self._may_send or cid & RESPONSE_BIT:
            if cid & RESPONSE_BIT:
                raise SessionError(f"{pdu.command_name} is a response: use send_response")
            raise self._not_allowed(cid)
        window = self.window
        if pdu.RESPONSE is None:
            pdu.sequence_number = window.allocator.allocate()
            inflight = InFlight(pdu, pdu.sequence_number, now, now, context, False)
            self._out += encode_pdu(pdu)
            if cid == _OUTBIND:
                self._set_state(_S.OUTBOUND)
            return inflight
        inflight = window.register(
            pdu,
            now,
            self.response_timeout if timeout is None else timeout,
            context,
            takes_slot=cid not in _MANAGEMENT,
        )
        try:
            data = encode_pdu(pdu)
        except PduError:
            window.resolve(inflight.sequence_number)
            raise
        self._out += data
        if cid in _MANAGEMENT:
            if cid in _BIND_STATE:
                self._our_bind = inflight
                self._refresh()
            elif cid == _UNBIND:
                self._unbinding = inflight
                self._refresh()
        return inflight

    def send_encoded_request(
        self,
        command_id: int,
        body: bytes,
        now: float,
        *,
        context: Any = None,
        timeout: float | None = None,
    ) -> EncodedInFlight:
        """:meth:`send_request` for a request the caller has as octets.

        ``body`` is the PDU as :func:`~.codec.encode_pdu` writes it, without the
        header, which is written here with the sequence number this session gives
        it. Only requests that take a window slot (submit_sm, deliver_sm...) may be
        sent so. The request's :class:`~.pdus.Pdu` (``InFlight.pdu``, in events)
        is decoded from the octets only if something asks for it.

        Raises :class:`CommandNotAllowedError` and :class:`~.window.WindowFull`
        as :meth:`send_request` does.
        """
        if command_id not in self._may_send or command_id & RESPONSE_BIT:
            if command_id & RESPONSE_BIT:
                raise SessionError(f"{_name(command_id)} is a response: use send_response")
            raise self._not_allowed(command_id)
        if command_id in _MANAGEMENT or command_id in _NO_RESPONSE:
            raise SessionError(f"{_name(command_id)} cannot be sent as octets")
        inflight = self.window.register_encoded(
            command_id,
            body,
            now,
            self.response_timeout if timeout is None else timeout,
            context,
        )
        self._out += inflight.wire
        return inflight

    def unbind(self, now: float) -> InFlight:
        """Start a graceful unbind; :class:`Unbound` follows when the peer answers."""
        return self.send_request(Unbind(), now)

    def send_response(self, pdu: Pdu) -> None:
        """Queue a response to a request the peer sent (same sequence_number)."""
        cid = pdu.command_id
        if cid not in self._may_send or not cid & RESPONSE_BIT:
            if not cid & RESPONSE_BIT:
                raise SessionError(f"{pdu.command_name} is a request: use send_request")
            raise self._not_allowed(cid)
        if cid in _BIND_RESPONSES:
            self._send_bind_response(pdu)
            return
        self._out += encode_pdu(pdu)

    def respond(self, request: Pdu, status: int = 0, **fields: Any) -> Pdu:
        """Build, queue and return the response to the peer's ``request``."""
        cls = request.RESPONSE
        if cls is None:
            raise SessionError(f"{request.command_name} has no response")
        response = cls(sequence_number=request.sequence_number, command_status=status, **fields)
        cid = response.command_id
        if cid not in self._may_send:
            raise self._not_allowed(cid)
        if cid in _BIND_RESPONSES:
            self._send_bind_response(response)
        else:
            self._out += encode_pdu(response)
        return response

    def acknowledge(self, request: Pdu, status: int = 0) -> None:
        """Queue the response to the peer's ``request`` with every body field at its
        default (a deliver_sm_resp, say): :meth:`respond` without building the
        response, for answers sent once per inbound message."""
        cid = request.command_id | RESPONSE_BIT
        bodies = _DEFAULT_BODIES.get(cid)
        if bodies is None or cid not in self._may_send:
            self.respond(request, status)  # bind responses, errors: the full way
            return
        body = bodies[1] if status else bodies[0]
        self._out += _pack_header(HEADER_SIZE + len(body), cid, status, request.sequence_number)
        self._out += body

    def data_to_send(self) -> bytes:
        """Every byte queued since the last call (empty when there is nothing)."""
        if not self._out:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def close(self) -> None:
        """Mark the connection closed: outstanding requests come back as
        :class:`RequestAbandoned`, then :class:`ConnectionClosed`. Idempotent."""
        self._close(None)

    # --- receiving -----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Process received bytes; ``b""`` means the peer closed the connection."""
        if self._state is _CLOSED:
            return
        if not data:
            if self._state is _S.UNBOUND:
                self._close(None)
            else:
                pending = self._stream.buffered
                mid = f" in the middle of a PDU ({pending} octets pending)" if pending else ""
                self._close(f"peer closed the connection{mid} in state {self._state.value}")
            return
        self._last_received = now
        self._stream.feed(data)
        stream = self._stream
        events = self._events
        resolve = self.window.resolve
        while self._state is not _CLOSED:
            try:
                pdu = stream.next_pdu()
            except PduError as exc:
                self._on_pdu_error(exc)
                continue
            if pdu is None:
                return
            cid = pdu.command_id
            if cid & RESPONSE_BIT:
                inflight = resolve(pdu.sequence_number, cid)
                if inflight is not None and inflight.takes_slot:
                    events.append(ResponseReceived(inflight, pdu))
                else:
                    self._on_response(pdu, inflight)
            elif cid in self._may_receive:
                if cid in _MANAGEMENT:
                    self._on_session_request(pdu, cid)
                else:
                    events.append(RequestReceived(pdu))
            else:
                self._reject(pdu, cid)

    def next_event(self) -> Event | None:
        """The next event, or None until more data arrives or :meth:`poll` runs."""
        events = self._events
        return events.popleft() if events else None

    def events(self) -> list[Event]:
        """Every pending event at once."""
        out = list(self._events)
        self._events.clear()
        return out

    # --- timers --------------------------------------------------------------------

    def poll(self, now: float) -> None:
        """Expire overdue requests and keep the link alive; events follow via next_event.

        Every request past its deadline becomes :class:`RequestTimedOut`. An
        unanswered keep-alive or bind makes the link dead; an unanswered unbind
        closes the session. After ``enquire_link_interval`` without receiving
        anything in a bound state, an enquire_link is sent (one at a time).
        """
        if self._state is _CLOSED:
            return
        dead: str | None = None
        close = False
        for inflight in self.window.expire(now):
            if inflight is self._keepalive:
                self._keepalive = None
                dead = f"enquire_link unanswered for {now - inflight.sent_at:g} s"
                continue
            self._events.append(RequestTimedOut(inflight))
            if inflight is self._our_bind:
                self._our_bind = None
                dead = f"{inflight.pdu.command_name} unanswered for {now - inflight.sent_at:g} s"
            elif inflight is self._unbinding:
                self._unbinding = None
                close = True
        if dead is not None or close:
            self._close(dead)
            return
        idle = self._idle_deadline()
        if idle is not None and now >= idle:
            pdu = EnquireLink()
            self._keepalive = self.window.register(
                pdu, now, self.response_timeout, takes_slot=False
            )
            self._out += encode_pdu(pdu)

    def next_timer(self) -> float | None:
        """When :meth:`poll` next has something to do (same clock as ``now``), or None."""
        if self._state is _CLOSED:
            return None
        deadline = self.window.next_deadline()
        idle = self._idle_deadline()
        if idle is not None and (deadline is None or idle < deadline):
            return idle
        return deadline

    # --- internals -----------------------------------------------------------------

    def _idle_deadline(self) -> float | None:
        """When our keep-alive enquire_link is due, None when none is to be sent."""
        interval = self.enquire_link_interval
        if (
            interval is None
            or self._keepalive is not None
            or self._unbinding is not None
            or self._state not in BOUND_STATES
        ):
            return None
        return self._last_received + interval

    def _not_allowed(self, command_id: int) -> CommandNotAllowedError:
        why = ""
        if self._our_bind is not None:
            why = "a bind is awaiting its response"
        elif self._unbinding is not None:
            why = "unbind is under way"
        elif command_id & RESPONSE_BIT and command_id in _BIND_RESPONSES:
            why = "it answers no pending bind request"
        return CommandNotAllowedError(self.role, self._state, command_id, why)

    def _set_state(self, state: SessionState) -> None:
        if state in BOUND_STATES:
            self._bound_state = state
        self._state = state
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the precomputed command sets after any state or sub-state change."""
        role, state = self.role, self._state
        if state is _CLOSED:
            self._may_send = self._may_receive = frozenset()
            return
        send = _ISSUABLE[role, state]
        receive = _ISSUABLE[_other(role), state]
        if state is _S.UNBOUND and self._bound_state is not None:
            # Answers to requests that came before the unbind may still go out.
            send = send | _RESPONSES_ONLY[role, self._bound_state]
        if self._our_bind is not None:
            send = send & _KEEPALIVE_IDS
        elif self._unbinding is not None:
            send = send & _WHILE_UNBINDING
        self._may_send = send
        self._may_receive = receive

    def _queue(self, pdu: Pdu) -> None:
        self._out += encode_pdu(pdu)

    def _on_response(self, pdu: Pdu, inflight: InFlight | None) -> None:
        """A response that is not the plain answer to a slot-taking request."""
        events = self._events
        if inflight is None:
            if pdu.command_id == _GENERIC_NACK and pdu.sequence_number == 0:
                self._close(
                    "peer sent generic_nack with sequence 0 "
                    f"({status_name(pdu.command_status)}): it cannot frame our PDUs"
                )
            else:
                events.append(UnexpectedResponse(pdu))
            return
        if inflight is self._keepalive:
            self._keepalive = None
            return
        if inflight is self._our_bind:
            self._our_bind = None
            status = pdu.command_status
            if status == 0 and pdu.command_id != _GENERIC_NACK:
                state = _BIND_STATE[inflight.pdu.command_id]
                self._set_state(state)
                events.append(Bound(state, getattr(pdu, "system_id", ""), inflight))
            else:
                self._refresh()
                events.append(BindFailed(status, inflight, pdu))
            return
        if inflight is self._unbinding:
            self._unbinding = None
            self._set_state(_S.UNBOUND)
            events.append(Unbound(pdu.command_status, inflight))
            return
        events.append(ResponseReceived(inflight, pdu))

    def _on_session_request(self, pdu: Pdu, cid: int) -> None:
        if cid == _ENQUIRE_LINK:
            self._queue(EnquireLinkResp(sequence_number=pdu.sequence_number))
        elif cid == _UNBIND:
            self._queue(UnbindResp(sequence_number=pdu.sequence_number))
            self._set_state(_S.UNBOUND)
            self._events.append(PeerUnbound())
        elif cid == _OUTBIND:
            self._set_state(_S.OUTBOUND)
            self._events.append(RequestReceived(pdu))
        elif self._peer_bind is not None or self._our_bind is not None:
            # A bind while one is already being decided.
            self._reject(pdu, cid)
        else:
            self._peer_bind = pdu
            self._events.append(RequestReceived(pdu))

    def _send_bind_response(self, pdu: Pdu) -> None:
        bind = self._peer_bind
        if (
            bind is None
            or bind.sequence_number != pdu.sequence_number
            or bind.command_id | RESPONSE_BIT != pdu.command_id
        ):
            raise CommandNotAllowedError(
                self.role, self._state, pdu.command_id, "it answers no pending bind request"
            )
        self._out += encode_pdu(pdu)
        self._peer_bind = None
        if pdu.command_status == 0:
            state = _BIND_STATE[bind.command_id]
            self._set_state(state)
            self._events.append(Bound(state, getattr(bind, "system_id", "")))

    def _reject(self, pdu: Pdu, cid: int) -> None:
        """Answer a peer request that is not allowed now, from its side or in this state."""
        if cid in _BIND_STATE and self._state in BOUND_STATES:
            status = CommandStatus.ESME_RALYBND
        else:
            status = CommandStatus.ESME_RINVBNDSTS
        cls = pdu.RESPONSE or GenericNack
        self._queue(cls(sequence_number=pdu.sequence_number, command_status=status))
        self._events.append(RequestRejected(pdu, status))

    def _on_pdu_error(self, exc: PduError) -> None:
        seq = exc.sequence_number or 0
        if exc.framing:
            self._queue(GenericNack(sequence_number=seq, command_status=exc.status))
            self._events.append(ProtocolError(exc))
            self._close(f"framing error: {exc}")
            return
        cid = exc.command_id
        if cid is None or not cid & RESPONSE_BIT:
            known = BY_COMMAND_ID.get(cid) if cid is not None else None
            cls = (known.RESPONSE if known is not None else None) or GenericNack
            self._queue(cls(sequence_number=seq, command_status=exc.status))
            self._events.append(ProtocolError(exc))
            return
        # A response we cannot read: nack it (unless it is itself a generic_nack). If it
        # answers one of our requests, that request's outcome is unknown now.
        if cid != _GENERIC_NACK:
            self._queue(GenericNack(sequence_number=seq, command_status=exc.status))
        request = self.window.resolve(seq, cid)
        if request is not None and request is self._keepalive:
            self._keepalive = None  # the peer answered: the link is alive
            request = None
        self._events.append(ProtocolError(exc, request))
        if request is None:
            return
        if request is self._our_bind:
            self._our_bind = None
            self._close(f"{request.pdu.command_name}_resp cannot be decoded: {exc}")
        elif request is self._unbinding:
            self._unbinding = None
            self._close(None)

    def _close(self, reason: str | None) -> None:
        if self._state is _CLOSED:
            return
        self._state = _CLOSED
        self._refresh()
        events = self._events
        if reason is not None:
            events.append(LinkDead(reason))
        keepalive = self._keepalive
        for inflight in self.window.drain():
            if inflight is not keepalive:
                events.append(RequestAbandoned(inflight))
        self._keepalive = self._our_bind = self._unbinding = None
        self._peer_bind = None
        events.append(ConnectionClosed())
