"""The store interface the billing service needs: a repository Protocol.

Every method is one round trip (one query, or one transaction). Implementations
(SQLite, PostgreSQL) live in the store layer; the core only defines the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .context import ReadingContext
from .model import Payment
from .notice_plan import NoticeContext
from .notices import NoticeRecord
from .outcome import Outcome
from .payments import Ledger, PaymentPosting


class BillingRepository(Protocol):
    """What the billing service reads and writes."""

    async def load_context(
        self,
        *,
        msisdn: str,
        account_number: str | None,
        mo_message_id: str,
        now: datetime,
    ) -> ReadingContext:
        """Everything one SMS needs, in one query (see :class:`ReadingContext`).

        ``account_number`` is :func:`account_hint`'s answer. ``account`` is loaded
        when the MSISDN is bound to it, or, when none is named (or the named one is
        not bound) and the MSISDN has exactly one binding, for that binding. Its
        meters with their registers; per register the last accepted readings
        (oldest first, about 13) and the latest reading awaiting confirmation;
        the tariff versions of its services valid since the oldest of those last
        readings; its ledger (balance and open items). ``mo_already_processed``
        says whether an outcome for ``mo_message_id`` is stored.
        """
        ...

    async def save_outcome(self, outcome: Outcome) -> bool:
        """Persist ``outcome`` in one transaction (see :class:`Outcome`).

        The MO id is a unique key: when it is stored already (two redeliveries
        racing), nothing is written and False is returned, and the reply must
        not be sent.
        """
        ...

    async def load_ledger(self, account_number: str) -> Ledger:
        """The account's balance, open items per period and advance."""
        ...

    async def save_payment(self, posting: PaymentPosting) -> bool:
        """Store the payment, its allocation and the new open items in one transaction.

        False (nothing written) when the payment's ``reference`` is stored already.
        """
        ...

    async def find_payment(self, reference: str) -> Payment | None:
        """The payment stored with ``reference``, if any."""
        ...

    async def load_notice_context(self, account_number: str, *, now: datetime) -> NoticeContext:
        """What :func:`plan_notices` needs about the account, in one query."""
        ...

    async def save_notices(self, notices: Sequence[NoticeRecord]) -> list[int]:
        """Store planned notices; their ids, in order.

        A notice's SMPP message ids, delivery state and delivery time are those of
        the gateway message that carries it, read from the message store.
        """
        ...
