"""The SMS self-service: a consumer's MO message in, the billing answer queued out.

Per message: one store round trip loads what the billing core needs, the pure
core computes the outcome, the reply is queued with interactive priority (so it
overtakes any bulk campaign), the outcome is saved, and only then does the SMSC
hear that the MO message was taken. A crash anywhere before that makes the SMSC
deliver the MO again; the reply's idempotency key (from the MO id) and the
store's unique MO id make the second pass send nothing twice and bill nothing
twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
import trio

from billing_core import (
    BillingRepository,
    Outcome,
    OutcomeStatus,
    UtilitySettings,
    account_hint,
    process_sms,
)
from throttling import Priority

from ..pipeline import MoMessage
from ..protocol import sender_address
from ..store import Accepted, NewMessage, StoreError

__all__ = ["ReplyQueue", "SmsSelfService"]

_log = structlog.get_logger("smpp_engine.billing")

# A reply that could not go out within an hour answers a question nobody is
# waiting on any more; it expires rather than arriving at night.
_REPLY_VALIDITY = 3600.0


class ReplyQueue(Protocol):
    """Where replies go: the pipeline's durable accept."""

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]: ...


class SmsSelfService:
    """Answers one utility's consumers. ``take`` is the pipeline's ``on_mo`` callback.

    ``workers`` messages are processed at once; ``backlog`` more wait, beyond
    which an MO is refused for now (the SMSC offers it again later). ``clock``
    is the billing core's "now" (the reading window, due dates); a reply's
    validity counts from the MO's arrival.
    """

    def __init__(
        self,
        repository: BillingRepository,
        settings: UtilitySettings,
        replies: ReplyQueue,
        *,
        route: str,
        clock: Callable[[], float] = time.time,
        workers: int = 8,
        backlog: int = 10_000,
    ) -> None:
        if workers < 1 or backlog < 1:
            raise ValueError(f"workers and backlog must be at least 1, got {workers}, {backlog}")
        self.repository = repository
        self.settings = settings
        self.replies = replies
        self.route = route
        self.clock = clock
        self.workers = workers
        self._send, self._receive = trio.open_memory_channel[MoMessage](backlog)
        self._sender = sender_address(settings.sender_id) if settings.sender_id else None

    def take(self, message: MoMessage) -> None:
        """Queue an MO message for a worker, or refuse it for now when the queue is full."""
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            _log.warning("billing queue full: MO refused for now", source=message.source)
            message.ack(ok=False)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Process queued MO messages with ``workers`` tasks until cancelled."""
        async with trio.open_nursery() as nursery:
            for _ in range(self.workers):
                nursery.start_soon(self._work)
            task_status.started()

    async def _work(self) -> None:
        async for message in self._receive.clone():
            try:
                await self.handle(message)
            except StoreError as exc:
                # The database is away: nothing was billed; the SMSC will try again.
                _log.warning("MO not processed: store unavailable", error=str(exc))
                message.ack(ok=False)
                continue
            except Exception:
                # A fault of ours must not stop every other consumer's answers: the
                # SMSC keeps this message, and the log says what went wrong.
                _log.exception("MO not processed: unexpected error", mo_id=message.mo_id)
                message.ack(ok=False)
                continue
            message.ack()

    async def handle(self, message: MoMessage) -> Outcome:
        """Compute, queue the reply, save; the MO's ack is the caller's (see :meth:`_work`)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        msisdn = message.source.lstrip("+")
        context = await self.repository.load_context(
            msisdn=msisdn,
            account_number=account_hint(message.text, self.settings),
            mo_message_id=message.mo_id,
            now=now,
        )
        outcome = process_sms(context, message.text, mo_message_id=message.mo_id, now=now)
        if outcome.status is OutcomeStatus.ALREADY_PROCESSED:
            return outcome
        reply = outcome.reply
        if reply is not None:
            # Queued before the outcome is saved: a crash in between makes the SMSC
            # deliver the MO again, and the same idempotency key sends nothing twice.
            await self.replies.accept([self._reply_message(message, reply.text, reply.parts)])
        if not await self.repository.save_outcome(outcome):
            _log.info("MO already processed by a concurrent delivery", mo_id=message.mo_id)
        if outcome.status is OutcomeStatus.FAILED:
            _log.error("MO could not be billed", mo_id=message.mo_id, error=str(outcome.error))
        return outcome

    def _reply_message(self, message: MoMessage, text: str, parts: int) -> NewMessage:
        if self._sender is not None:
            ton, npi, source = self._sender
        else:  # answer from the number the consumer wrote to
            ton, npi, source = sender_address(message.destination)
        return NewMessage(
            smsc=self.route,
            source=source,
            source_ton=ton,
            source_npi=npi,
            destination=message.source,
            text=text,
            parts=parts,
            priority=int(Priority.INTERACTIVE),
            idempotency_key=f"reply:{message.mo_id}",
            expires_at=message.received_at + _REPLY_VALIDITY,
        )
