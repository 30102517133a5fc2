"""What saving an SMS's answer, a payment or notices writes: the same on both stores.

The money rules are billing_core's (:func:`~billing_core.charge_ledgers`,
:func:`~billing_core.post_payment`). A store reads the ledgers a save changes
under a lock (PostgreSQL: ``FOR UPDATE`` in the save's transaction; SQLite: its
write transaction), these functions apply the core to them, and the store
writes the rows they give back in that same transaction: no rule is written in
SQL, nor once per store.

A row is a dict named by column with Python values (Decimal money, aware
datetimes, dates, ``YYYY-MM`` period text), so that both stores write the same
rows: SQLite with ``executemany`` and named parameters, its values in the text
forms of :func:`.codec.stored_text`; PostgreSQL as arrays of the
tables' own row types (asyncpg fills a record from a dict by column name),
whose lengths the planner sees.

Idempotency: an SMS's MO row is written first and is the gate (stored already:
nothing else is written); a payment whose reference is stored changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from billing_core import (
    AccountClosed,
    Charge,
    ChargeKind,
    DeliveryState,
    Ledger,
    NoticeRecord,
    Outcome,
    PaymentPosting,
    Reading,
    UtilitySettings,
    charge_ledgers,
    post_payment,
)

from ..messages.accept import Lease, claimed_on_accept
from ..messages.model import Accepted, NewMessage
from .model import SavedAnswer
from .rows import UnknownAccountError, charge_lines_json, period_text

__all__ = [
    "KEYS_KEPT",
    "WARNINGS_LOOKED_AT",
    "AnswerRows",
    "CloseRows",
    "FixedKey",
    "LedgerRows",
    "PaymentRows",
    "Row",
    "answer_rows",
    "capped_since",
    "charged_accounts",
    "close_rows",
    "fixed_keys",
    "ledger_rows",
    "mo_row",
    "notice_rows",
    "payment_as_stored",
    "payment_rows",
    "saved_answer",
    "warned_since",
]

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LedgerRows:
    """Ledgers as they stand after a save: each account's totals (``billing_accounts``),
    and every open item of those accounts (the others are gone)."""

    accounts: list[Row]
    open_items: list[Row]


def ledger_rows(ledgers: Mapping[str, Ledger]) -> LedgerRows:
    accounts: list[Row] = []
    items: list[Row] = []
    for number, ledger in sorted(ledgers.items()):
        b = ledger.balance
        accounts.append(
            {
                "number": number,
                "opening": b.opening,
                "charges": b.charges,
                "penalties": b.penalties,
                "payments": b.payments,
                "advance": ledger.advance,
            }
        )
        items.extend(
            {
                "account_number": number,
                "period": str(i.period),
                "principal": i.principal,
                "penalty": i.penalty,
                "due_date": i.due_date,
            }
            for i in ledger.open_items
        )
    return LedgerRows(accounts, items)


def mo_row(o: Outcome) -> Row:
    """The MO's ``billing_mo`` row: its id is the unique key that stops redeliveries."""
    return {
        "mo_message_id": o.mo_message_id,
        "msisdn": o.msisdn,
        "text": o.text,
        "received_at": o.received_at,
        "status": o.status.value,
        "intent": None if o.intent is None else o.intent.value,
        "account_number": o.account_number,
        "reply": None if o.reply is None else o.reply.text,
        "rejection": None if o.rejection is None else o.rejection.reason.value,
        "balance_after": o.balance_after,
    }


def charged_accounts(o: Outcome) -> list[str]:
    """The accounts whose ledgers ``o`` changes, in the order they are locked."""
    return sorted({c.account_number for c in o.charges})


#: A fixed charge's unique key, as stored: (account number, service, period).
FixedKey = tuple[str, str, str]


def _fixed_key(c: Charge) -> FixedKey:
    return (c.account_number, c.service.value, str(c.period))


def fixed_keys(o: Outcome) -> list[FixedKey]:
    """The keys of ``o``'s fixed charges: the store reads which are stored already
    under the ledgers' lock (see :func:`answer_rows`)."""
    return [_fixed_key(c) for c in o.charges if c.kind is ChargeKind.FIXED]


def charge_rows(
    charges: Iterable[Charge], mo_message_id: str | None, billed_at: datetime | None
) -> list[Row]:
    """Charges as stored; ``billed_at`` tells the penalties from when a charge billed
    after its due date is owed."""
    return [
        {
            "account_number": c.account_number,
            "period": str(c.period),
            "service": c.service.value,
            "meter_id": c.meter_id,
            "start_on": c.start,
            "end_on": c.end,
            "due_date": c.due_date,
            "amount": c.amount,
            "lines": charge_lines_json(c.lines),
            "mo_message_id": mo_message_id,
            "kind": c.kind.value,
            "billed_at": billed_at,
        }
        for c in charges
    ]


@dataclass(frozen=True, slots=True)
class AnswerRows:
    """An SMS's changes beyond its MO row: new readings, stored readings whose status
    changes (by ``id``), bindings opted out or in, charges, and the ledgers after."""

    readings: list[Row]
    status_changes: list[Row]
    bindings: list[Row]
    charges: list[Row]
    ledgers: LedgerRows
    #: The outcome's charges left out: billed already (see :func:`answer_rows`).
    dropped: tuple[Charge, ...] = ()
    #: The charged account's ledger as saved, when its balance is not the one the
    #: outcome computed (a charge left out, or the ledger changed since it was loaded).
    restated: Ledger | None = None


def answer_rows(
    o: Outcome, stored: Mapping[str, Ledger], fixed_stored: Collection[FixedKey] = ()
) -> AnswerRows:
    """What ``o`` writes, its charges put on the ``stored`` ledgers (read under a lock).

    ``fixed_stored`` are those of :func:`fixed_keys` stored already, read under the
    same lock: a reading saved meanwhile billed that fixed charge, so this one
    does not (``dropped``). The reply computed before then shows a balance the
    ledger does not hold, as it does when another change was saved since the
    ledger was loaded: ``restated`` is the ledger saved, for the reply to say.
    """
    for number in charged_accounts(o):
        if number not in stored:
            raise UnknownAccountError(number)
    charges = [
        c for c in o.charges if c.kind is not ChargeKind.FIXED or _fixed_key(c) not in fixed_stored
    ]
    after = charge_ledgers(stored, charges)
    charged = o.account_number
    saved = None
    if o.charges and charged is not None:
        saved = after.get(charged) or stored.get(charged)
    opt = o.opt_out
    return AnswerRows(
        readings=reading_rows(o.readings),
        status_changes=[
            {"id": s.reading_id, "status": s.status.value, "status_reason": s.reason}
            for s in o.status_changes
        ],
        bindings=[]
        if opt is None
        else [
            {"msisdn": opt.msisdn, "account_number": n, "opted_out": opt.opted_out}
            for n in opt.account_numbers
        ],
        charges=charge_rows(charges, o.mo_message_id, o.received_at),
        ledgers=ledger_rows(after),
        dropped=tuple(c for c in o.charges if c not in charges),
        restated=None if saved is None or saved.balance.amount == o.balance_after else saved,
    )


@dataclass(frozen=True, slots=True)
class CloseRows:
    """What closing a period writes for a batch of accounts: estimated readings,
    charges, accrued penalties (``billing_penalties``) and the ledgers after."""

    readings: list[Row]
    charges: list[Row]
    penalties: list[Row]
    ledgers: LedgerRows


def reading_rows(readings: Iterable[Reading]) -> list[Row]:
    return [
        {
            "register_id": r.register_id,
            "value": r.value,
            "taken_at": r.taken_at,
            "received_at": r.received_at,
            "source": r.source.value,
            "status": r.status.value,
            "period": str(r.period),
            "mo_message_id": r.mo_message_id,
        }
        for r in readings
    ]


def close_rows(closed: Iterable[AccountClosed], now: datetime) -> CloseRows:
    """The rows of the accounts :func:`billing_core.close_accounts` changed (those that
    failed, or had nothing to change, write nothing), their charges billed ``now``."""
    changed = [c for c in closed if c.error is None and c.changes and c.ledger is not None]
    return CloseRows(
        readings=reading_rows(r for c in changed for r in c.readings),
        charges=charge_rows((x for c in changed for x in c.charges), None, now),
        penalties=[
            {
                "account_number": p.account_number,
                "period": str(p.period),
                "closed_period": str(p.closed),
                "through": p.through,
                "amount": p.amount,
            }
            for c in changed
            for p in c.penalties
        ],
        ledgers=ledger_rows({c.account_number: c.ledger for c in changed if c.ledger}),
    )


def saved_answer(
    reply: NewMessage | None, accepted: Accepted | None, lease: Lease | None
) -> SavedAnswer:
    """A saved SMS's answer: its reply as accepted (None: no reply), and the reply ready
    to submit when it was stored under ``lease`` (not when its key was stored before)."""
    if reply is None or accepted is None:
        return SavedAnswer(saved=True)
    reply_id = accepted.message_id
    if lease is None or accepted.duplicate:
        return SavedAnswer(saved=True, reply_id=reply_id)
    return SavedAnswer(saved=True, reply_id=reply_id, claimed=claimed_on_accept(reply, reply_id))


def payment_as_stored(posting: PaymentPosting, stored: Ledger) -> PaymentPosting:
    """The payment posted again on the ledger as stored now (read under a lock): a
    charge saved since the caller loaded its ledger is not lost."""
    return post_payment(stored, posting.payment)


@dataclass(frozen=True, slots=True)
class PaymentRows:
    """A payment (``billing_payments``), where it went (``billing_payment_allocations``,
    without the payment's id) and its account's ledger after it."""

    payment: Row
    allocations: list[Row]
    ledgers: LedgerRows


def payment_rows(posting: PaymentPosting, before: Ledger) -> PaymentRows:
    """The rows of ``posting`` made on the ledger ``before``: each allocation keeps the
    due date of the item it paid (the penalty of an item paid off runs to the payment)."""
    payment = posting.payment
    due = {item.period: item.due_date for item in before.open_items}
    return PaymentRows(
        payment={
            "reference": payment.reference,
            "account_number": payment.account_number,
            "amount": payment.amount,
            "paid_on": payment.paid_on,
            "period": period_text(payment.period),
            "advance": posting.allocation.advance,
        },
        allocations=[
            {
                "line": i,
                "period": str(line.period),
                "part": line.part.value,
                "amount": line.amount,
                "due_date": due.get(line.period),
            }
            for i, line in enumerate(posting.allocation.lines)
        ],
        ledgers=ledger_rows({payment.account_number: posting.ledger}),
    )


def notice_rows(notices: Iterable[NoticeRecord], payment_reference: str | None) -> list[Row]:
    """Notices as stored, in order. A notice is stored pending: its fate is read from
    the gateway message that carries it (see :func:`.billing_model.delivery_state`)."""
    return [
        {
            "kind": n.kind.value,
            "account_number": n.account_number,
            "msisdn": n.msisdn,
            "text": n.text,
            "created_at": n.created_at,
            "send_at": n.send_at,
            "service": None if n.service is None else n.service.value,
            "state": DeliveryState.PENDING.value,
            "delivered_at": n.delivered_at,
            "amount": n.amount,
            "payment_reference": payment_reference,
            "notice_key": n.key,
        }
        for n in notices
    ]


def warned_since(settings: UtilitySettings, now: datetime) -> datetime:
    """Disconnection warnings sent since then are under way (the notice context says
    so): a warning lasts as long as the procedure it starts may run."""
    cut = settings.notices.disconnection
    return now - timedelta(days=cut.days_to_pay + cut.days_to_suspension + 30)


def capped_since(now: datetime) -> datetime:
    """Debt reminders sent since then count against the frequency caps (the widest is
    a month's)."""
    return now - timedelta(days=30)


#: Notices stored by a run since then are looked up by key: a key names a month, or a
#: reminder day, so a run of that month finds its own and older ones no longer matter.
KEYS_KEPT = timedelta(days=62)

#: Disconnection warnings looked at for a notice context: the settings (known only
#: once loaded) then say which of them are still under way (see :func:`warned_since`).
WARNINGS_LOOKED_AT = timedelta(days=400)
