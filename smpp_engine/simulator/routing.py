"""Where deliver_sm (receipts and MO) go: a bound receiver of the account, or a queue.

Like a real SMSC, the simulator stores and forwards: a receipt for an account
with no receiver or transceiver bound waits (bounded; the overflow is dropped and
counted) and goes out when one binds. A deliver_sm answered with an error, or not
at all, is tried again after a delay, up to a number of attempts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from ..protocol import DeliverSm, MessageState, decode_pdu
from ..protocol.codec import HEADER, HEADER_SIZE

if TYPE_CHECKING:
    from .records import MessageRecord
    from .scheduler import Scheduler

Kind = Literal["receipt", "mo"]
_DELIVER_SM = DeliverSm.command_id


class Outgoing:
    """One deliver_sm the simulator sends, and what it is for."""

    __slots__ = (
        "_pdu",
        "attempts",
        "body",
        "final",
        "kind",
        "on_sent",
        "record",
        "state",
        "system_id",
    )

    def __init__(  # noqa: PLR0917 - built positionally on the receipt path
        self,
        pdu: DeliverSm | None,
        kind: Kind,
        system_id: str | None,
        record: MessageRecord | None = None,
        state: MessageState | None = None,
        final: bool = False,
        on_sent: Callable[[Outgoing], None] | None = None,
        body: bytes | None = None,
    ) -> None:
        if pdu is None and body is None:
            raise ValueError("an Outgoing needs its deliver_sm or its octets")
        self._pdu = pdu
        #: The deliver_sm encoded without its header, when it was built so: sent as
        #: it is, and decoded only if its :attr:`pdu` is asked for.
        self.body = body
        self.kind = kind
        #: The account it goes to; None: any receiver.
        self.system_id = system_id
        self.record = record
        self.state = state
        self.final = final
        self.attempts = 0
        self.on_sent = on_sent

    @property
    def pdu(self) -> DeliverSm:
        """The deliver_sm."""
        if self._pdu is None:
            assert self.body is not None
            wire = HEADER.pack(HEADER_SIZE + len(self.body), _DELIVER_SM, 0, 0) + self.body
            pdu = decode_pdu(wire)
            assert isinstance(pdu, DeliverSm)
            self._pdu = pdu
        return self._pdu


class Receiver(Protocol):
    """A connection that deliver_sm can be given to."""

    @property
    def system_id(self) -> str: ...

    @property
    def can_receive(self) -> bool: ...

    def enqueue(self, items: Sequence[Outgoing], now: float) -> None: ...


class Router:
    """Bound receivers per account, round robin among them, and the held deliveries."""

    __slots__ = (
        "_any",
        "_by_account",
        "_next",
        "_pending",
        "_pending_count",
        "dropped",
        "failed",
        "max_attempts",
        "max_pending",
        "retry_delay",
        "scheduler",
    )

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._by_account: dict[str, list[Receiver]] = {}
        self._any: list[Receiver] = []
        self._next = 0
        self._pending: dict[tuple[Kind, str | None], deque[list[Outgoing]]] = {}
        self._pending_count: dict[Kind, int] = {"receipt": 0, "mo": 0}
        self.max_pending: dict[Kind, int] = {"receipt": 100_000, "mo": 10_000}
        self.max_attempts = 3
        self.retry_delay: Callable[[], float] = lambda: 5.0
        #: Deliveries dropped because a queue was full, and after their last attempt.
        self.dropped: dict[Kind, int] = {"receipt": 0, "mo": 0}
        self.failed: dict[Kind, int] = {"receipt": 0, "mo": 0}

    # --- receivers -----------------------------------------------------------------

    def add_receiver(self, receiver: Receiver, now: float) -> None:
        """A receiver bound: it takes what waits for its account (and for anyone)."""
        self._by_account.setdefault(receiver.system_id, []).append(receiver)
        self._any.append(receiver)
        for key in (
            ("receipt", receiver.system_id),
            ("mo", receiver.system_id),
            ("receipt", None),
            ("mo", None),
        ):
            waiting = self._pending.pop(key, None)
            while waiting:
                items = waiting.popleft()
                self._pending_count[key[0]] -= len(items)
                receiver.enqueue(items, now)

    def remove_receiver(self, receiver: Receiver) -> None:
        group = self._by_account.get(receiver.system_id)
        if group is not None and receiver in group:
            group.remove(receiver)
            if not group:
                del self._by_account[receiver.system_id]
        if receiver in self._any:
            self._any.remove(receiver)

    def receivers(self, system_id: str | None) -> list[Receiver]:
        if system_id is None:
            return list(self._any)
        return list(self._by_account.get(system_id, ()))

    def pending(self) -> dict[Kind, int]:
        """Deliveries waiting for a receiver, per kind."""
        return dict(self._pending_count)

    # --- routing -------------------------------------------------------------------

    def route(self, items: Sequence[Outgoing], now: float, prefer: Receiver | None = None) -> bool:
        """Hand ``items`` (the parts of one message, in order) to one receiver of their
        account, ``prefer`` if it can take them; else hold them. True when handed over."""
        if not items:
            return True
        system_id = items[0].system_id
        receiver: Receiver | None = None
        if (
            prefer is not None
            and prefer.can_receive
            and (system_id is None or prefer.system_id == system_id)
        ):
            receiver = prefer
        else:
            group = self._any if system_id is None else self._by_account.get(system_id)
            if group:
                for _ in range(len(group)):
                    self._next += 1
                    candidate = group[self._next % len(group)]
                    if candidate.can_receive:
                        receiver = candidate
                        break
        if receiver is None:
            self.hold(items)
            return False
        receiver.enqueue(items, now)
        return True

    def hold(self, items: Sequence[Outgoing]) -> None:
        """Keep ``items`` until a receiver of their account binds (bounded)."""
        kind = items[0].kind
        if self._pending_count[kind] + len(items) > self.max_pending[kind]:
            self.dropped[kind] += len(items)
            return  # and no queue made for the account: a flood of names makes none
        key = (kind, items[0].system_id)
        waiting = self._pending.get(key)
        if waiting is None:
            waiting = self._pending[key] = deque()
        waiting.append(list(items))
        self._pending_count[kind] += len(items)

    def retry(self, item: Outgoing, now: float) -> None:
        """``item`` was refused or not answered: try again later, or give up."""
        item.attempts += 1
        if item.attempts >= self.max_attempts:
            self.failed[item.kind] += 1
            return
        self.scheduler.call_at(now + self.retry_delay(), self._retry_now, item)

    def _retry_now(self, item: Outgoing, now: float) -> None:
        self.route((item,), now)
