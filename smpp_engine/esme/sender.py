"""Send one text many times and report what became of it: what ``smpp-engine send`` runs.

The report counts SMPP submits, that is segments: a text of three parts sent
twice is six submitted. Receipts are per segment too (each part has its own
message id and receipt), so accepted and receipts compare one to one.

A submit the SMSC answers "throttled" or "queue full" is not refused: it is sent
again once the bind's pause is over (``retried`` counts those answers), up to a
number of times, after which it counts as rejected. A load test against an SMSC
that throttles now and then thus measures what it accepts, not how often it said
"slow down".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
import trio

from throttling import RateController

from ..protocol import (
    DEFAULT_PROFILE,
    Concatenation,
    MessageIdError,
    MessageIdPolicy,
    Pdu,
    Receipt,
    ReferenceAllocator,
    Segment,
    SubmitSm,
    TextProfile,
    destination_address,
    plan_text,
    receipt_id_key,
    response_id_key,
    sender_address,
    split_text,
)
from ._nurseries import open_unwrapping_nursery
from .bind import open_bind
from .config import BindType, EsmeConfig
from .errors import NotBoundError
from .inbound import Inbound
from .outcomes import Outcome, SubmitOutcome

__all__ = ["SendReport", "send_texts"]

_log = structlog.get_logger("smpp_engine.esme")
_UDHI = 0x40
#: How many throttle answers one submit may get before it counts as rejected.
DEFAULT_THROTTLE_RETRIES = 10


@dataclass(slots=True)
class SendReport:
    """Counts of submits (segments) by outcome, final receipts by stat word, wall time;
    ``retried``: throttle answers whose submit was sent again."""

    submitted: int = 0
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    receipts: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    retried: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Exactly the keys submitted, accepted, rejected, unknown, retried, receipts,
        elapsed_s."""
        return {
            "submitted": self.submitted,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unknown": self.unknown,
            "retried": self.retried,
            "receipts": dict(sorted(self.receipts.items())),
            "elapsed_s": round(self.elapsed_s, 3),
        }


class _Tracker:
    """Counts outcomes and matches receipts to accepted submits by message id.

    A receipt can beat its submit_sm_resp: it is held until the response lands. A
    throttled submit goes to ``resend`` with its count of throttle answers (the
    request's context), its outcome not counted yet.
    """

    def __init__(
        self,
        report: SendReport,
        policy: MessageIdPolicy,
        on_progress: Callable[[SendReport], None] | None,
        resend: trio.MemorySendChannel[tuple[Pdu, int]],
        throttle_retries: int,
    ) -> None:
        self.report = report
        self.policy = policy
        self.on_progress = on_progress
        self.resend = resend
        self.throttle_retries = throttle_retries
        self.awaiting: set[str] = set()
        self.early: dict[str, str] = {}
        self.finished: set[str] = set()
        self.outcomes = 0
        self.expected = math.inf  # submits whose outcome is due, known once sending ends
        self.outcomes_done = trio.Event()
        self.receipts_done = trio.Event()

    def on_outcomes(self, batch: list[SubmitOutcome]) -> None:
        report = self.report
        settled = 0
        for outcome in batch:
            if outcome.outcome is Outcome.ACCEPTED:
                report.accepted += 1
                self._accepted(outcome.message_id or "")
            elif outcome.throttled and outcome.context < self.throttle_retries:
                report.retried += 1
                self.resend.send_nowait((outcome.request, outcome.context + 1))
                continue
            elif outcome.outcome is Outcome.REJECTED:
                report.rejected += 1
            else:
                report.unknown += 1
            settled += 1
        self.outcomes += settled
        self._check()

    def resend_failed(self) -> None:
        """A throttled submit could not go again (the link is gone): its last answer
        was a refusal, and stands."""
        self.report.rejected += 1
        self.outcomes += 1
        self._check()

    def on_receipt(self, receipt: Receipt) -> None:
        if receipt.intermediate or not receipt.state.final:
            return
        try:
            key = receipt_id_key(receipt.message_id, self.policy)
        except MessageIdError as exc:
            _log.warning("receipt id does not fit the message id policy", error=str(exc))
            return
        if key in self.awaiting:
            self.awaiting.remove(key)
            self._count(key, receipt.state.stat_word)
        elif key not in self.finished:
            self.early.setdefault(key, receipt.state.stat_word)

    def sending_done(self, submitted: int) -> None:
        self.expected = submitted
        self._check()

    def _accepted(self, message_id: str) -> None:
        try:
            key = response_id_key(message_id, self.policy)
        except MessageIdError as exc:
            _log.warning("submit_sm_resp id does not fit the message id policy", error=str(exc))
            return
        word = self.early.pop(key, None)
        if word is not None:
            self._count(key, word)
        else:
            self.awaiting.add(key)

    def _count(self, key: str, word: str) -> None:
        self.finished.add(key)
        receipts = self.report.receipts
        receipts[word] = receipts.get(word, 0) + 1
        self._check()

    def _check(self) -> None:
        if self.outcomes >= self.expected:
            self.outcomes_done.set()
            if not self.awaiting:
                self.receipts_done.set()
        if self.on_progress is not None:
            self.on_progress(self.report)


async def send_texts(
    config: EsmeConfig,
    source: str,
    destination: str,
    text: str,
    count: int = 1,
    *,
    wait_receipts: float | None = None,
    concatenation: Concatenation = Concatenation.UDH8,
    profile: TextProfile = DEFAULT_PROFILE,
    data_coding: int | None = None,
    controller: RateController | None = None,
    id_policy: MessageIdPolicy = MessageIdPolicy.AS_IS,
    references: ReferenceAllocator | None = None,
    on_progress: Callable[[SendReport], None] | None = None,
    throttle_retries: int = DEFAULT_THROTTLE_RETRIES,
) -> SendReport:
    """Bind, send ``text`` ``count`` times from ``source`` to ``destination``, unbind.

    Long texts are split (``concatenation``, UDH with 8-bit references by default;
    ``references`` hands them out per destination). With ``wait_receipts``
    (seconds, 0 allowed) receipts are requested (registered_delivery=1) and
    waited for until every accepted submit has its final receipt or the time is
    up; a transmitter config gets a second, receiver bind for them. Addresses and
    the text are checked before connecting (:class:`~smpp_engine.protocol.PduError`,
    :class:`~smpp_engine.protocol.TextEncodeError`...); connect and bind failures
    raise the :mod:`smpp_engine.esme.errors` types. A link lost mid-way stops the
    sending; the report then shows fewer submitted. A submit answered "throttled"
    or "queue full" is sent again after the bind's pause, up to ``throttle_retries``
    times.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    if throttle_retries < 0:
        raise ValueError(f"throttle_retries must not be negative, not {throttle_retries}")
    if wait_receipts is not None and not (math.isfinite(wait_receipts) and wait_receipts >= 0):
        raise ValueError(
            f"wait_receipts must be a finite number of seconds >= 0, not {wait_receipts}"
        )
    src = sender_address(source)
    dst = destination_address(destination)
    plan = plan_text(text, profile, concatenation, data_coding=data_coding)
    if references is None:
        references = ReferenceAllocator(8 if concatenation is Concatenation.UDH8 else 16)
    single = (
        split_text(text, profile, concatenation, data_coding=data_coding)
        if plan.parts == 1
        else None
    )
    air_segments = plan.air_parts if concatenation is Concatenation.PAYLOAD else 1
    receipts_wanted = wait_receipts is not None
    registered_delivery = 1 if receipts_wanted else 0

    report = SendReport()
    # Unbounded: outcomes are taken on the bind's own task, which must never wait.
    resend_send, resend_receive = trio.open_memory_channel[tuple[Pdu, int]](math.inf)
    tracker = _Tracker(report, id_policy, on_progress, resend_send, throttle_retries)
    inbound_send: trio.MemorySendChannel[Inbound] | None = None
    inbound_receive: trio.MemoryReceiveChannel[Inbound] | None = None
    if receipts_wanted:
        inbound_send, inbound_receive = trio.open_memory_channel[Inbound](1024)

    async def take_receipts(channel: trio.MemoryReceiveChannel[Inbound]) -> None:
        async for item in channel:
            if item.receipt is not None:
                tracker.on_receipt(item.receipt)

    async def send_again(bind: Any) -> None:
        # bind.send waits out the pause the throttle answer began.
        async for pdu, throttled in resend_receive:
            try:
                await bind.send(pdu, throttled, segments=air_segments)
            except NotBoundError:
                tracker.resend_failed()

    started = trio.current_time()
    async with open_unwrapping_nursery() as nursery:
        if inbound_receive is not None:
            nursery.start_soon(take_receipts, inbound_receive)
        async with AsyncExitStack() as binds:
            if receipts_wanted and not config.bind_type.receives:
                await binds.enter_async_context(
                    open_bind(
                        replace(config, bind_type=BindType.RECEIVER, name=f"{config.name}-rx"),
                        inbound=inbound_send,
                    )
                )
            bind = await binds.enter_async_context(
                open_bind(
                    config,
                    controller=controller,
                    on_outcomes=tracker.on_outcomes,
                    inbound=inbound_send if config.bind_type.receives else None,
                )
            )
            nursery.start_soon(send_again, bind)
            try:
                for _ in range(count):
                    parts: list[Segment] = (
                        single
                        if single is not None
                        else split_text(
                            text,
                            profile,
                            concatenation,
                            reference=references.next(dst.addr),
                            data_coding=data_coding,
                        )
                    )
                    for part in parts:
                        pdu = SubmitSm(
                            source_addr_ton=src.ton,
                            source_addr_npi=src.npi,
                            source_addr=src.addr,
                            dest_addr_ton=dst.ton,
                            dest_addr_npi=dst.npi,
                            destination_addr=dst.addr,
                            esm_class=_UDHI if part.esm_class_udhi else 0,
                            registered_delivery=registered_delivery,
                            data_coding=part.data_coding,
                            short_message=part.short_message,
                            tlvs=dict(part.tlvs),
                        )
                        await bind.send(pdu, 0, segments=air_segments)
                        report.submitted += 1
            except NotBoundError as exc:
                _log.error(
                    "link lost while sending; stopping",
                    bind=config.name,
                    submitted=report.submitted,
                    error=str(exc),
                )
            tracker.sending_done(report.submitted)
            # Every submit ends in an outcome by its deadline, even on a dropped link.
            await tracker.outcomes_done.wait()
            if wait_receipts is not None:
                with trio.move_on_after(wait_receipts):
                    await tracker.receipts_done.wait()
        nursery.cancel_scope.cancel()
    report.elapsed_s = trio.current_time() - started
    return report
