"""What a bind makes of its session's events: pure, no trio and no I/O, the time passed in.

The session ends every request of ours in one terminal event
(:mod:`smpp_engine.protocol.session`); :meth:`Triage.sort` reads a batch of
events and decides, by this table, what became of each request and what the
answer means for the bind's rate:

====================================  =====================  ==============================
event                                 outcome                and
====================================  =====================  ==============================
ResponseReceived, ESME_ROK            ACCEPTED, message_id   latency; the controller hears
                                                             ``accepted``; congestion_state
                                                             (submit_sm_resp) may pause
ResponseReceived, other (generic_     REJECTED, the status   ESME_RTHROTTLED, ESME_RMSGQFUL
nack too)                                                    pause, once an episode; noted
RequestTimedOut                       UNKNOWN, timeout
RequestAbandoned                      UNKNOWN, link_lost
ProtocolError with a request          UNKNOWN, undecodable   noted
those three for bind, unbind,         none: the session
enquire_link (they take no slot)      ends the link itself
anything else                         none                   noted
====================================  =====================  ==============================

``noted`` keeps, in arrival order, the events the bind acts on itself: its
state changes (Bound, Unbound, ConnectionClosed...), the SMSC's requests
(deliver_sm), undecodable PDUs, and the answers it counts one by one (all but
a submit_sm_resp with ESME_ROK, which are counted in bulk). Their order
matters: a deliver_sm read just before the link closed is dropped with it.

A sort runs once per read on the bind's hot path: it allocates one outcome per
request ended and one list for the batch; its other fields are kept from sort to
sort, and :attr:`Triage.eventful` spares the bind looking at four empty lists.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final, Literal, NamedTuple

from throttling import CongestionAware, RateController

from ..protocol import (
    CommandId,
    Event,
    ProtocolError,
    RequestAbandoned,
    RequestTimedOut,
    ResponseReceived,
    Tag,
)
from .outcomes import Outcome, SubmitOutcome, UnknownReason

__all__ = ["Pause", "Triage"]

_GENERIC_NACK: Final = CommandId.generic_nack.value
_SUBMIT_SM_RESP: Final = CommandId.submit_sm_resp.value
_CONGESTION_STATE: Final = Tag.congestion_state.value
_ACCEPTED: Final = Outcome.ACCEPTED
_REJECTED: Final = Outcome.REJECTED
_UNKNOWN: Final = Outcome.UNKNOWN
_TIMEOUT: Final = UnknownReason.TIMEOUT
_LINK_LOST: Final = UnknownReason.LINK_LOST
_UNDECODABLE: Final = UnknownReason.UNDECODABLE_RESPONSE


class Pause(NamedTuple):
    """A pause the bind began: ``seconds`` long, for a throttle answer (``value`` its
    command_status) or a congestion report (``value`` the congestion_state)."""

    cause: Literal["throttled", "congested"]
    value: int
    seconds: float


class Triage:
    """One bind's reading of its session's events; :meth:`sort` fills the fields below.

    ``controller`` is the bind's rate controller (pure, told the time); it hears
    every accepted answer and decides every pause. Outcomes whose context is an
    instance of ``direct`` (exactly that class: the bind's own waiters) go to
    :attr:`answered` instead of the batch :meth:`sort` returns.
    """

    __slots__ = (
        "_accepted",
        "_congestion",
        "_controller",
        "_direct",
        "_latency",
        "answered",
        "bind",
        "eventful",
        "latencies",
        "noted",
        "ok",
        "ok_submit_resps",
        "paused_until",
        "pauses",
        "rejected",
        "throttles",
        "unknown",
    )

    def __init__(self, bind: str, controller: RateController, direct: type) -> None:
        self.bind = bind
        self._controller = controller
        # Bound once: a bound method made per sort would be an allocation per read.
        self._accepted = controller.accepted
        self._congestion = (
            controller.congestion if isinstance(controller, CongestionAware) else None
        )
        self._direct = direct
        #: Outcomes for contexts of the ``direct`` class, in order.
        self.answered: list[SubmitOutcome] = []
        #: Answers ESME_ROK (any request), and of them submit_sm_resp.
        self.ok = 0
        self.ok_submit_resps = 0
        self.rejected = 0
        self.unknown = 0
        #: Seconds from send to answer, per accepted answer.
        self.latencies: list[float] = []
        self._latency = self.latencies.append
        #: The command_status of every throttle answer (each one counted).
        self.throttles: list[int] = []
        #: The pauses begun, in order.
        self.pauses: list[Pause] = []
        #: Trio time until which the bind holds new requests back, after the sort.
        self.paused_until = -math.inf
        #: The events the bind acts on itself, in order (see the module's table).
        self.noted: list[Event] = []
        #: Whether any of answered, throttles, pauses and noted holds anything: the
        #: bind's read path checks this one flag, not four lists.
        self.eventful = False

    def sort(self, events: Iterable[Event], now: float, paused_until: float) -> list[SubmitOutcome]:
        """Read ``events`` at ``now`` (the bind held new requests until ``paused_until``);
        return the outcomes for the sink, in order. The fields say the rest."""
        if self.eventful:
            self._forget()
        latencies = self.latencies
        if latencies:
            latencies.clear()
        name = self.bind
        direct = self._direct
        latency = self._latency
        accepted_now = self._accepted
        noted = self.noted
        answered = self.answered
        batch: list[SubmitOutcome] = []
        ok = ok_submit_resps = rejected = unknown = 0
        for event in events:
            cls = event.__class__
            if cls is ResponseReceived:
                assert isinstance(event, ResponseReceived)
                inflight = event.request
                response = event.response
                status = response.command_status
                command_id = response.command_id
                if status == 0 and command_id != _GENERIC_NACK:
                    ok += 1
                    if command_id == _SUBMIT_SM_RESP:
                        ok_submit_resps += 1
                        if response.tlvs and self._congestion is not None:
                            paused_until = self._congested(
                                response.tlvs.get(_CONGESTION_STATE), now, paused_until
                            )
                    else:
                        noted.append(event)
                    latency(now - inflight.sent_at)
                    accepted_now(now)
                    outcome = SubmitOutcome(
                        _ACCEPTED,
                        inflight.context,
                        inflight.pdu,
                        name,
                        getattr(response, "message_id", None),
                        0,
                    )
                else:
                    rejected += 1
                    noted.append(event)
                    outcome = SubmitOutcome(
                        _REJECTED, inflight.context, inflight.pdu, name, None, status
                    )
                    if outcome.throttled:
                        paused_until = self._throttled(status, now, paused_until)
            elif cls is RequestTimedOut or cls is RequestAbandoned:
                assert isinstance(event, RequestTimedOut | RequestAbandoned)
                inflight = event.request
                if not inflight.takes_slot:
                    continue
                unknown += 1
                reason = _TIMEOUT if cls is RequestTimedOut else _LINK_LOST
                outcome = SubmitOutcome(
                    _UNKNOWN, inflight.context, inflight.pdu, name, None, None, reason
                )
            else:
                noted.append(event)
                if cls is not ProtocolError:
                    continue
                assert isinstance(event, ProtocolError)
                request = event.request
                if request is None or not request.takes_slot:
                    continue
                unknown += 1
                outcome = SubmitOutcome(
                    _UNKNOWN, request.context, request.pdu, name, None, None, _UNDECODABLE
                )
            if outcome.context.__class__ is direct:
                answered.append(outcome)
            else:
                batch.append(outcome)
        self.ok = ok
        self.ok_submit_resps = ok_submit_resps
        self.rejected = rejected
        self.unknown = unknown
        if noted or answered:
            self.eventful = True
        return batch

    def _forget(self) -> None:
        self.answered.clear()
        self.throttles.clear()
        self.pauses.clear()
        self.noted.clear()
        self.eventful = False

    def _throttled(self, status: int, now: float, paused_until: float) -> float:
        self.eventful = True
        self.throttles.append(status)
        if now < paused_until:
            # Answers to requests sent before the pause began belong to the same
            # episode: they must not stretch the pause again.
            return paused_until
        pause = self._controller.throttled(status, now)
        self.pauses.append(Pause("throttled", status, pause))
        self.paused_until = now + pause
        return self.paused_until

    def _congested(self, state: object, now: float, paused_until: float) -> float:
        """SMPP 5.0 congestion_state on a submit_sm_resp: the controller may pause the bind."""
        if not isinstance(state, int):
            return paused_until
        assert self._congestion is not None
        try:
            pause = self._congestion(state, now)
        except ValueError:  # 101-255 are reserved: an SMSC sending them tells us nothing
            return paused_until
        if pause > 0 and now + pause > paused_until:
            self.eventful = True
            self.pauses.append(Pause("congested", state, pause))
            self.paused_until = now + pause
            return self.paused_until
        return paused_until
