"""Saving SMS answers in one statement when nothing they rest on changed since the load.

An SMS's outcome is computed on the ledger its context loaded. The save in a
transaction (``postgres._save_answers``) locks the ledger, reads it again and
puts the charges on it as it stands: five round trips, each as slow as a
statement when the gateway is busy. Almost always the ledger is the one loaded.
:func:`save_if_unchanged` then writes everything in one statement, which locks
the charged accounts and writes only when, under that lock, their totals and
open items are the ones loaded, no MO of the batch is stored, and no reply's
key is taken; otherwise it writes nothing and says so, and the caller saves in
the transaction, which restates what changed.

The statement runs on its own (one transaction), on a plan made once per
connection: its connection must plan generically (planning it for each call
would cost more than the round trips it saves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from billing_core import Ledger

from ..errors import StoreError
from ..messages.accept import message_rows
from ..messages.model import Accepted
from ..messages.postgres_accept import accept_ctes, accept_parameters
from . import rules
from .model import AnswerToSave, SavedAnswer
from .postgres_writes import change_arrays, change_ctes

__all__ = ["save_if_unchanged"]

_WRITE_IF = "(SELECT ok FROM unchanged)"

# $1 the charged accounts; $2 and $3 their ledgers as loaded (rules.LedgerRows);
# $4 the MO ids and $5 the replies' keys. The locked row is the newest; "fresh"
# says it is the one the statement's snapshot reads the open items with.
_SAVE_IF_UNCHANGED = (
    """
WITH locked AS (
    SELECT a.number, a.opening, a.charges, a.penalties, a.payments, a.advance,
           a.xmin = (SELECT b.xmin FROM billing_accounts AS b WHERE b.number = a.number)
               AS fresh
    FROM billing_accounts AS a WHERE a.number = ANY ($1::text[]) ORDER BY a.number FOR UPDATE
), unchanged AS (
    SELECT (SELECT count(*) FROM locked WHERE fresh) = cardinality($1::text[])
       AND NOT EXISTS (
           SELECT 1 FROM unnest($2::billing_accounts[]) AS b
           LEFT JOIN locked AS l ON l.number = b.number
           WHERE l.number IS NULL
              OR (l.opening, l.charges, l.penalties, l.payments, l.advance)
                 IS DISTINCT FROM (b.opening, b.charges, b.penalties, b.payments, b.advance))
       AND (SELECT count(*) FROM billing_open_items WHERE account_number = ANY ($1::text[]))
           = cardinality($3::billing_open_items[])
       AND NOT EXISTS (
           SELECT 1 FROM unnest($3::billing_open_items[]) AS b
           LEFT JOIN billing_open_items AS o
               ON o.account_number = b.account_number AND o.period = b.period
              AND o.account_number = ANY ($1::text[])
           WHERE o.account_number IS NULL
              OR (o.principal, o.penalty, o.due_date)
                 IS DISTINCT FROM (b.principal, b.penalty, b.due_date))
       AND NOT EXISTS (SELECT 1 FROM billing_mo WHERE mo_message_id = ANY ($4::text[]))
       AND NOT EXISTS (SELECT 1 FROM messages WHERE idempotency_key = ANY ($5::text[]))
       AS ok
),"""
    + accept_ctes("$6", "$7", "$8", "$9", _WRITE_IF, racing=False)
    + """,
-- $10 the MO rows (rules.mo_row), $11 per reply (in $6's order) the MO it answers.
-- No ON CONFLICT: an MO or a reply's key stored by a concurrent delivery once the
-- guard has looked fails the statement whole.
replies AS (
    SELECT m.mo_message_id, i.id
    FROM unnest($11::text[]) WITH ORDINALITY AS m (mo_message_id, n)
    JOIN fresh AS f ON f.ordinality = m.n
    JOIN inserted AS i ON i.id = f.new_id
), mo AS (
    INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent,
                            account_number, reply, rejection, balance_after, reply_message_id)
    SELECT t.mo_message_id, t.msisdn, t.text, t.received_at, t.status, t.intent,
           t.account_number, t.reply, t.rejection, t.balance_after, r.id
    FROM unnest($10::billing_mo[]) AS t
    LEFT JOIN replies AS r ON r.mo_message_id = t.mo_message_id
    WHERE """
    + _WRITE_IF
    + """
),"""
    + change_ctes(("$12", "$13", "$14", "$15", "$16", "$17"), _WRITE_IF)
    + """
SELECT """
    + _WRITE_IF
    + """ AS saved,
       ARRAY(SELECT i.id FROM fresh AS f JOIN inserted AS i ON i.id = f.new_id
             ORDER BY f.ordinality) AS reply_ids
"""
)


async def save_if_unchanged(
    connection: Any, answers: Sequence[AnswerToSave], loaded: Mapping[str, Ledger]
) -> list[SavedAnswer] | None:
    """Save ``answers`` (of different accounts, none a redelivery) in one statement on
    ``connection`` (outside a transaction, planning generically), their charges put on
    the ``loaded`` ledgers, when those are the ledgers stored. None when they are not,
    when an MO of the batch or a reply's key is stored already, or when one is stored
    while the statement runs: then nothing was saved."""
    numbers = sorted({n for a in answers for n in rules.charged_accounts(a.outcome)})
    if any(n not in loaded for n in numbers):
        return None
    writes = []
    for a in answers:
        charged = {n: loaded[n] for n in rules.charged_accounts(a.outcome)}
        write = rules.answer_rows(a.outcome, charged)
        if write.restated is not None:
            return None  # the reply would say another balance: the transaction restates it
        writes.append(write)
    replied = [(a, a.reply) for a in answers if a.reply is not None]
    keys = [reply.idempotency_key for _, reply in replied]
    if None in keys or len(set(keys)) != len(keys):
        return None  # a reply without a key of its own: the accept's rules decide
    rows: list[dict[str, Any]] = []
    for a, reply in replied:
        rows.extend(message_rows([reply], a.now, lease=a.lease))
    before = rules.ledger_rows({n: loaded[n] for n in numbers})
    try:
        found = await connection.fetchrow(
            _SAVE_IF_UNCHANGED,
            numbers,
            before.accounts,
            before.open_items,
            [a.outcome.mo_message_id for a in answers],
            keys,
            *accept_parameters([reply for _, reply in replied], rows),
            [rules.mo_row(a.outcome) for a in answers],
            [a.outcome.mo_message_id for a, _ in replied],
            *change_arrays(writes),
        )
    except asyncpg.UniqueViolationError:
        return None  # an MO or a reply stored meanwhile: the statement wrote nothing
    if not found["saved"]:
        return None
    if len(found["reply_ids"]) != len(replied):  # no reply is left out without an error
        raise StoreError("postgresql", "save_answer: a reply was not stored with its MO")
    ids = iter(found["reply_ids"])
    saved = []
    for a in answers:
        accepted = None if a.reply is None else Accepted(next(ids), duplicate=False)
        saved.append(rules.saved_answer(a.reply, accepted, a.lease))
    return saved
