"""The SMS self-service: a consumer's MO message in, the billing answer queued out.

Per message: one store round trip loads what the billing core needs, the pure
core computes the outcome, and one more saves the outcome together with the
reply (interactive priority, so it overtakes any bulk campaign). On PostgreSQL
the three are one call to the store's thread, the outcome computed there: each
hand-over between the gateway's thread and the store's costs as much as a
statement when the gateway is busy. With the pipeline as the reply queue the
reply is stored already claimed by this process and handed straight to its
route's dispatcher: no claim round trip, and a crash leaves it to the lease
like any claimed message. Only then does the SMSC hear that the MO message was
taken. A crash before that makes the SMSC deliver the MO again; the store's
unique MO id makes the second pass bill nothing and send nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog
import trio

from billing_core import (
    Charge,
    Intent,
    Ledger,
    Outcome,
    OutcomeStatus,
    ReadingContext,
    SmsParseError,
    TextSizer,
    UtilitySettings,
    account_hint,
    as_billed,
    process_sms,
)
from metrics import BILLING_REQUESTS, BILLING_ROUND_TRIP, counter_adder
from throttling import Priority

if TYPE_CHECKING:
    # Types only: the self-service of `billing sms` runs without the pipeline.
    from ..pipeline import MoMessage, RouteDispatcher

from ..protocol import DEFAULT_PROFILE, Concatenation, TextProfile, plan_text, sender_address
from ..routing import MessageFacts, MessageKind, RouteChoice, RoutingTable
from ..store import Accepted, BillingStore, NewMessage, ReplyLease, SavedAnswer, StoreError
from ..store.billing.model import AnswerToSave, ContextAsked

__all__ = ["ReplyQueue", "SmsSelfService"]

_log = structlog.get_logger("smpp_engine.billing")

# A reply that could not go out within an hour answers a question nobody is
# waiting on any more; it expires rather than arriving at night.
DEFAULT_REPLY_VALIDITY = 3600.0
# The same balance or help request within this many seconds is taken for an SMSC
# redelivery and answered once; later it is a new question.
DEFAULT_ASK_AGAIN_AFTER = 600.0
_READ_ONLY = frozenset({Intent.BALANCE, Intent.HELP})

_RESULTS = {
    Intent.READING: "reading",
    Intent.BALANCE: "balance",
    Intent.HELP: "help",
    Intent.STOP: "stop",
    Intent.START: "start",
    Intent.CONFIRM: "confirmation",
}
_RESULT_OF_STATUS = {
    OutcomeStatus.NOT_UNDERSTOOD: "parse_error",
    OutcomeStatus.REJECTED: "rejected",
    OutcomeStatus.FAILED: "rejected",
}
_counted = {
    result: counter_adder(BILLING_REQUESTS, result)
    for result in (*_RESULTS.values(), "rejected", "parse_error", "refused")
}


def _result(outcome: Outcome) -> str | None:
    """The ``result`` label an outcome is counted under; None: not counted (a redelivery)."""
    by_status = _RESULT_OF_STATUS.get(outcome.status)
    if by_status is not None:
        return by_status
    if outcome.intent is None:
        return None
    return _RESULTS[outcome.intent]


class ReplyQueue(Protocol):
    """Where queued messages go: the pipeline's durable accept (or a store's)."""

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]: ...


@runtime_checkable
class _RoutedQueue(Protocol):
    """A queue that knows its routes' dispatchers: the :class:`~..pipeline.Pipeline`
    (told apart by its shape, so this module loads without the pipeline)."""

    dispatchers: Mapping[str, RouteDispatcher]

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]: ...


@runtime_checkable
class _BatchStore(Protocol):
    """A store that answers several SMS at once (PostgreSQL's): their contexts loaded,
    their answers decided and saved in one call (see ``PostgresBilling.answer``).
    Told apart by its shape; any other answers each MO alone."""

    async def answer(
        self,
        asked: Sequence[ContextAsked],
        *,
        now: datetime,
        decide: Callable[[list[ReadingContext]], Sequence[AnswerToSave]],
    ) -> list[SavedAnswer]: ...


@dataclass(frozen=True, slots=True)
class _Asked:
    """An MO taken (``taken``: ``time.perf_counter()``), with the id its answer is
    stored under and the route its reply takes."""

    message: MoMessage
    taken: float
    mo_id: str
    choice: RouteChoice | None
    route: str


@dataclass(slots=True)
class _Answer:
    """An MO's outcome on its way to the store; ``outcome`` is restated when the save
    finds the ledger changed since it was loaded."""

    asked: _Asked
    outcome: Outcome
    lane: RouteDispatcher | None
    replied: bool
    to_save: AnswerToSave = field(init=False)

    @property
    def message(self) -> MoMessage:
        return self.asked.message


class SmsSelfService:
    """Answers one utility's consumers. ``take`` is the pipeline's ``on_mo`` callback.

    ``replies`` is the :class:`Pipeline`: replies go to its ``route`` dispatcher
    already claimed. Anything else: replies are stored QUEUED, for whichever
    dispatcher claims them. ``workers`` messages are processed at once, each alone.
    On a store that loads and saves several at once (PostgreSQL) ``batch_workers``
    tasks (at most ``workers``) each take the messages waiting when it is free, up
    to ``batch`` of different phones, and answer them with one context load and one
    save, in one call to the store (the outcomes are computed on its thread): the
    messages that arrive while a batch is in the store make the next one (a lone
    message goes at once, as a batch of one), which costs the gateway and the
    database less per message than more tasks answering smaller batches.
    ``backlog`` more wait, beyond which an MO is refused for now (the SMSC offers
    it again later).
    ``clock`` is the billing core's "now" (the reading window, due dates); a reply
    expires ``reply_validity`` seconds after the MO arrived.
    """

    def __init__(
        self,
        repository: BillingStore,
        settings: UtilitySettings,
        replies: ReplyQueue,
        *,
        route: str,
        clock: Callable[[], float] = time.time,
        workers: int = 8,
        batch: int = 16,
        batch_workers: int = 2,
        backlog: int = 10_000,
        reply_validity: float = DEFAULT_REPLY_VALIDITY,
        ask_again_after: float = DEFAULT_ASK_AGAIN_AFTER,
        routing: RoutingTable | None = None,
    ) -> None:
        if workers < 1 or backlog < 1 or batch < 1:
            raise ValueError(
                f"workers, batch and backlog must be at least 1, got {workers}, {batch}, {backlog}"
            )
        if not reply_validity > 0:
            raise ValueError(f"reply_validity must be above 0 seconds, got {reply_validity!r}")
        self.reply_validity = reply_validity
        if not ask_again_after > 0:
            raise ValueError(f"ask_again_after must be above 0 seconds, got {ask_again_after!r}")
        self.ask_again_after = ask_again_after
        self.repository = repository
        self.settings = settings
        self.replies = replies
        self.route = route
        self.clock = clock
        self.workers = workers
        self.batch = batch
        self.batch_workers = batch_workers
        self._batches = repository if isinstance(repository, _BatchStore) else None
        self._send, self._receive = trio.open_memory_channel[tuple["MoMessage", float]](backlog)
        self._sender = sender_address(settings.sender_id) if settings.sender_id else None
        self.routing = routing
        self._lanes: Mapping[str, RouteDispatcher] | None = None
        if isinstance(replies, _RoutedQueue):
            self._lanes = replies.dispatchers
            wanted = {route} | (set() if routing is None else routing.routes())
            if missing := sorted(wanted - set(self._lanes)):
                raise ValueError(f"route: the pipeline has no route named {missing[0]!r}")
        self._round_trip = BILLING_ROUND_TRIP.observe
        # Replies are sized as their route will split them.
        self._sizers: dict[str, TextSizer] = {route: route_sizer(replies, route)}

    def take(self, message: MoMessage) -> None:
        """Queue an MO message for a worker, or refuse it for now when the queue is full."""
        try:
            self._send.send_nowait((message, time.perf_counter()))
        except trio.WouldBlock:
            _log.warning("billing queue full: MO refused for now", source=message.source)
            _counted["refused"](1)
            message.ack(ok=False)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Process queued MO messages with ``workers`` tasks until cancelled."""
        tasks = self.workers
        if self._batches is not None and self.batch > 1:
            tasks = min(tasks, self.batch_workers)
        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(self._work)
            task_status.started()

    async def _work(self) -> None:
        receive = self._receive.clone()
        async for first in receive:
            # The MO waiting now join this one (no wait for more), up to ``batch``;
            # one of a phone already in the batch is answered after it, on the ledger
            # that the batch left.
            batch, later = [first], []
            phones = {first[0].source}
            # On a store that answers MO one at a time, the others stay for idle workers.
            limit = 1 if self._batches is None else self.batch
            while len(batch) < limit:
                try:
                    item = receive.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                if item[0].source in phones:
                    later.append(item)
                else:
                    phones.add(item[0].source)
                    batch.append(item)
            if self._batches is not None:
                later[:0] = await self._answer_batch(self._batches, batch)
            else:
                later[:0] = batch
            for message, taken in later:
                await self._answer_one(message, taken)

    async def _answer_one(self, message: MoMessage, taken: float) -> None:
        """Answer one MO, then ack it: taken when its outcome is durable, else refused."""
        try:
            await self.handle(message, taken=taken)
        except Exception as exc:
            _refuse(message, exc)
            return
        message.ack()

    async def _answer_batch(
        self, store: _BatchStore, batch: list[tuple[MoMessage, float]]
    ) -> list[tuple[MoMessage, float]]:
        """Answer MO of different phones with one call to the store (one context load,
        their outcomes, one save), acking each once its outcome is durable; those left
        to answer one by one are returned: an MO charging an account another of the
        batch charges (after the batch, it sees those charges), or all of them when a
        batch of several could not be saved. A lone MO that could not be is refused
        for now, as :meth:`_answer_one` refuses it."""
        clock = self.clock()
        now = datetime.fromtimestamp(clock, UTC)
        asked = [self._asked(message, taken, clock) for message, taken in batch]
        # Whatever reads the gateway's clocks or caches, read here, on the trio thread.
        stamps = {a.route: self._stamp(a.route) for a in asked}
        sizers = {a.route: self._sizer(a.route) for a in asked}
        decided: list[tuple[list[_Answer], list[tuple[MoMessage, float]]]] = []

        def decide(contexts: list[ReadingContext]) -> list[AnswerToSave]:
            # On the store's thread: the pure core's work alone.
            answers, left = self._outcomes(
                asked, contexts, batch, now, stamps=stamps, sizers=sizers
            )
            decided.append((answers, left))
            return [a.to_save for a in answers if a.outcome.persists]

        questions = [
            (a.message.source.lstrip("+"), account_hint(a.message.text, self.settings), a.mo_id)
            for a in asked
        ]
        try:
            saved = await store.answer(questions, now=now, decide=decide)
        except Exception as exc:
            if len(batch) == 1:
                _refuse(batch[0][0], exc)
                return []
            # Nothing of the batch was saved (one transaction): each MO is tried alone,
            # so that one that cannot be saved keeps no other from being answered.
            _log.warning("MO batch not saved: answered one by one", error=str(exc), size=len(batch))
            return batch
        answers, left = decided[0]
        saving = [a for a in answers if a.outcome.persists]
        for answer in answers:
            if answer.outcome.status is OutcomeStatus.ALREADY_PROCESSED:
                answer.message.ack()
        for answer, result in zip(saving, saved, strict=True):
            try:
                await self._finish(answer, result)
            except Exception:
                # Saved, but the reply could not be handed on: the lease recovers it;
                # the SMSC offers the MO again and the gate answers it as processed.
                _log.exception("MO saved, reply not handed on", mo_id=answer.message.mo_id)
                _counted["refused"](1)
                answer.message.ack(ok=False)
                continue
            answer.message.ack()
        return left

    def _outcomes(
        self,
        asked: list[_Asked],
        contexts: list[ReadingContext],
        batch: list[tuple[MoMessage, float]],
        now: datetime,
        *,
        stamps: dict[str, tuple[float, ReplyLease | None]],
        sizers: Mapping[str, TextSizer],
    ) -> tuple[list[_Answer], list[tuple[MoMessage, float]]]:
        """Each MO's outcome by the pure core, on its loaded context; those MO whose
        accounts another of the batch charges are left for later."""
        answers: list[_Answer] = []
        left: list[tuple[MoMessage, float]] = []
        touched: set[str] = set()
        for a, context, item in zip(asked, contexts, batch, strict=True):
            outcome = process_sms(
                context, a.message.text, mo_message_id=a.mo_id, now=now, sizer=sizers[a.route]
            )
            accounts = {c.account_number for c in outcome.charges}
            if outcome.account_number is not None:
                accounts.add(outcome.account_number)
            if accounts & touched:
                left.append(item)
                continue
            touched |= accounts
            answers.append(self._answer(a, outcome, now, stamps))
        return answers, left

    async def handle(self, message: MoMessage, *, taken: float | None = None) -> Outcome:
        """Compute, then save the outcome with its reply; the MO's ack is the caller's.

        ``taken`` (``time.perf_counter()``) is when the MO was taken: the round
        trip to the reply queued durably is observed from it.
        """
        clock = self.clock()
        now = datetime.fromtimestamp(clock, UTC)
        asked = self._asked(message, time.perf_counter() if taken is None else taken, clock)
        outcome = await self._process(message, asked.mo_id, now, self._sizer(asked.route))
        if outcome.status is OutcomeStatus.ALREADY_PROCESSED:
            return outcome
        answer = self._answer(asked, outcome, now, {})
        save = answer.to_save
        saved = await self.repository.save_answer(
            outcome, save.reply, now=save.now, lease=save.lease, restate=save.restate
        )
        return await self._finish(answer, saved)

    def _asked(self, message: MoMessage, taken: float, clock: float) -> _Asked:
        mo_id = self._question_id(message) or message.mo_id
        choice = self._reply_route(message, mo_id, clock)
        route = self.route if choice is None else choice.route
        return _Asked(message, taken, mo_id, choice, route)

    def _answer(
        self,
        asked: _Asked,
        outcome: Outcome,
        now: datetime,
        stamps: dict[str, tuple[float, ReplyLease | None]],
    ) -> _Answer:
        """What saving ``outcome`` takes: its reply, when and under which lease it is
        stored (``stamps``: the same for every answer of a route in one save)."""
        message, mo_id, choice, route = asked.message, asked.mo_id, asked.choice, asked.route
        reply = outcome.reply
        queued = None
        if reply is not None:
            queued = self._reply_message(message, mo_id, reply.text, reply.parts, choice)
        lane = None if self._lanes is None else self._lanes[route]
        stamp = stamps.get(route)
        if stamp is None:
            stamp = stamps[route] = self._stamp(route)
        answer = _Answer(asked, outcome, lane, queued is not None)

        def restate(dropped: Sequence[Charge], ledger: Ledger) -> NewMessage | None:
            # Saved on a ledger other than the one loaded (a concurrent first reading
            # billed our fixed charge, say): the reply says the balance as billed.
            answer.outcome = as_billed(outcome, dropped, ledger, self.settings, self._sizer(route))
            again = answer.outcome.reply
            if again is None:
                return None
            return self._reply_message(message, mo_id, again.text, again.parts, choice)

        answer.to_save = AnswerToSave(outcome, queued, stamp[0], stamp[1], restate)
        return answer

    def _stamp(self, route: str) -> tuple[float, ReplyLease | None]:
        """When a reply on ``route`` is stored, and the lease it is stored under."""
        lane = None if self._lanes is None else self._lanes[route]
        # The pipeline's clock: leases are compared with it when they are recovered.
        stored_at = time.time() if lane is None else lane.clock()
        lease = None if lane is None else ReplyLease(lane.owner, stored_at + lane.route.lease)
        return stored_at, lease

    async def _finish(self, answer: _Answer, saved: SavedAnswer) -> Outcome:
        """Hand a saved reply to its route (or wake it), count the outcome."""
        outcome, message, lane = answer.outcome, answer.message, answer.lane
        lease = answer.to_save.lease
        if not saved.saved:
            _log.info("MO already processed by a concurrent delivery", mo_id=message.mo_id)
            return outcome
        if lane is not None and lease is not None:
            handed = saved.claimed is not None and lane.hand_over(
                saved.claimed, owner=lease.owner, lease_until=lease.until
            )
            if saved.claimed is not None and not handed:
                # The route has stopped (or leases under another name since the reply was
                # stored): the reply waits, unflagged, for the next claim.
                await lane.store.release(
                    [saved.claimed.message_id], owner=lease.owner, now=lane.clock()
                )
            elif saved.claimed is None and saved.reply_id is not None:
                lane.wake()  # stored before, unclaimed: the dispatcher claims it
        if answer.replied:
            self._round_trip(time.perf_counter() - answer.asked.taken)
        result = _result(outcome)
        if result is not None:
            _counted[result](1)
        if outcome.status is OutcomeStatus.FAILED:
            _log.error("MO could not be billed", mo_id=message.mo_id, error=str(outcome.error))
        return outcome

    def _reply_route(self, message: MoMessage, mo_id: str, now: float) -> RouteChoice | None:
        """Where the routing table sends the reply to ``message`` (None: no table, the
        ``[billing]`` route). Chosen before the reply is written: its text is sized
        as that route splits it."""
        if self.routing is None:
            return None
        source = message.destination if self._sender is None else self._sender[2]
        facts = MessageFacts(message.source, source, MessageKind.REPLY, key=f"reply:{mo_id}")
        return self.routing.choose(facts, now)

    def _sizer(self, route: str) -> TextSizer:
        sizer = self._sizers.get(route)
        if sizer is None:
            sizer = self._sizers[route] = route_sizer(self.replies, route)
        return sizer

    async def _process(
        self, message: MoMessage, mo_id: str, now: datetime, sizer: TextSizer
    ) -> Outcome:
        """One store round trip for the context, then the pure core."""
        context = await self.repository.load_context(
            msisdn=message.source.lstrip("+"),
            account_number=account_hint(message.text, self.settings),
            mo_message_id=mo_id,
            now=now,
        )
        return process_sms(context, message.text, mo_message_id=mo_id, now=now, sizer=sizer)

    def _question_id(self, message: MoMessage) -> str | None:
        """For a question that changes nothing (balance, help), the MO id narrowed to the
        ``ask_again_after`` window it came in; None for anything else.

        The MO id is the same for the same text all day (SMPP gives MO messages
        no id of their own), which is right for a reading: it is billed once.
        A balance request is answered once per window: SMSC redeliveries come
        within it, and the same question later in the day is a new one.
        """
        try:
            intent = self.settings.grammar.parse(message.text).intent
        except SmsParseError:
            return None
        if intent not in _READ_ONLY:
            return None
        window = int(message.received_at // self.ask_again_after)
        return f"{message.mo_id}:{window}"

    def _reply_message(
        self, message: MoMessage, mo_id: str, text: str, parts: int, choice: RouteChoice | None
    ) -> NewMessage:
        if self._sender is not None:
            ton, npi, source = self._sender
        else:  # answer from the number the consumer wrote to
            ton, npi, source = sender_address(message.destination)
        return NewMessage(
            smsc=self.route if choice is None else choice.route,
            route_rule=None if choice is None else choice.rule,
            route_plan=() if choice is None else choice.plan,
            source=source,
            source_ton=ton,
            source_npi=npi,
            destination=message.source,
            text=text,
            parts=parts,
            priority=Priority.INTERACTIVE,
            idempotency_key=f"reply:{mo_id}",
            expires_at=message.received_at + self.reply_validity,
        )


def _refuse(message: MoMessage, exc: Exception) -> None:
    """Refuse ``message`` for now (the SMSC offers it again), saying why."""
    if isinstance(exc, StoreError):
        # The database is away: nothing was billed; the SMSC will try again.
        _log.warning("MO not processed: store unavailable", error=str(exc))
    else:
        # A fault of ours must not stop every other consumer's answers: the
        # SMSC keeps this message, and the log says what went wrong.
        _log.exception("MO not processed: unexpected error", mo_id=message.mo_id, exc_info=exc)
    _counted["refused"](1)
    message.ack(ok=False)


def route_sizer(queue: object, route: str) -> TextSizer:
    """How many SMS a text takes on ``route``: the billing core's sizer for that route."""
    profile, method = route_text(queue, route)
    return partial(plan_text, profile=profile, method=method)


def route_text(queue: object, route: str) -> tuple[TextProfile, Concatenation]:
    """How ``route`` writes text, when ``queue`` is the pipeline that knows; else the defaults."""
    if isinstance(queue, _RoutedQueue):
        dispatcher = queue.dispatchers.get(route)
        if dispatcher is not None:
            return dispatcher.route.text_profile, dispatcher.route.concatenation
    return DEFAULT_PROFILE, Concatenation.UDH8
