"""The fate of one request: accepted, rejected, or unknown, and how the caller hears of it.

UNKNOWN means the SMSC may or may not have taken the message: no answer before
the deadline, the link dropped with the request in flight, or an answer that
could not be decoded. The caller decides whether to retry (and counts the risk
of a duplicate); nothing is ever dropped silently.

Streaming sends report outcomes in batches, one list per chunk the bind read, to
an :data:`OutcomeSink`: a plain callable that must not block. :class:`OutcomeStream`
is a sink that queues the batches for a consumer task.
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio

from ..protocol import CommandStatus, Pdu, status_name

__all__ = ["Outcome", "OutcomeSink", "OutcomeStream", "SubmitOutcome", "UnknownReason"]


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class UnknownReason(enum.StrEnum):
    TIMEOUT = "timeout"
    LINK_LOST = "link_lost"
    UNDECODABLE_RESPONSE = "undecodable_response"


_THROTTLING = frozenset({CommandStatus.ESME_RTHROTTLED.value, CommandStatus.ESME_RMSGQFUL.value})


class SubmitOutcome:
    """What became of one request.

    ``message_id`` is the SMSC's id when ACCEPTED; ``command_status`` the SMSC's
    status when ACCEPTED (0) or REJECTED; ``reason`` why it is UNKNOWN.
    ``context`` is what the caller passed with the request, ``request`` the PDU
    sent and ``bind`` the name of the bind that carried it.
    """

    __slots__ = ("bind", "command_status", "context", "message_id", "outcome", "reason", "request")

    def __init__(  # noqa: PLR0917 - positional: built once per message on the hot path
        self,
        outcome: Outcome,
        context: Any,
        request: Pdu,
        bind: str,
        message_id: str | None = None,
        command_status: int | None = None,
        reason: UnknownReason | None = None,
    ) -> None:
        self.outcome = outcome
        self.context = context
        self.request = request
        self.bind = bind
        self.message_id = message_id
        self.command_status = command_status
        self.reason = reason

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def rejected(self) -> bool:
        return self.outcome is Outcome.REJECTED

    @property
    def unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN

    @property
    def status_name(self) -> str | None:
        """``ESME_RTHROTTLED``..., or None when there was no answer."""
        return None if self.command_status is None else status_name(self.command_status)

    @property
    def throttled(self) -> bool:
        """REJECTED with ESME_RTHROTTLED or ESME_RMSGQFUL: requeue it, it may go later."""
        return self.command_status in _THROTTLING

    def __repr__(self) -> str:
        detail = {
            Outcome.ACCEPTED: f"message_id={self.message_id!r}",
            Outcome.REJECTED: f"status={self.status_name}",
            Outcome.UNKNOWN: f"reason={self.reason}",
        }[self.outcome]
        return f"SubmitOutcome({self.outcome.name} {detail} context={self.context!r})"


#: Receives a fresh list of outcomes per batch; called from the bind's own tasks, so
#: it must return at once (append, count, hand over to a channel with send_nowait).
OutcomeSink = Callable[[list[SubmitOutcome]], None]


class OutcomeStream:
    """An :data:`OutcomeSink` that queues batches for a consumer: ``async for batch in it``.

    Unbounded on purpose: a bind must never block on its reader; the window
    bounds how many outcomes one bind can produce ahead of the consumer.
    """

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[list[SubmitOutcome]](math.inf)

    def __call__(self, outcomes: list[SubmitOutcome]) -> None:
        self._send.send_nowait(outcomes)

    async def receive(self) -> list[SubmitOutcome]:
        """The next batch (waits for one)."""
        return await self._receive.receive()

    def receive_nowait(self) -> list[SubmitOutcome]:
        """The next batch; raises :class:`trio.WouldBlock` when none is queued."""
        return self._receive.receive_nowait()

    def close(self) -> None:
        """No more batches: a consumer iterating ends once the queued ones are taken."""
        self._send.close()

    def __aiter__(self) -> AsyncIterator[list[SubmitOutcome]]:
        return self._receive.__aiter__()
