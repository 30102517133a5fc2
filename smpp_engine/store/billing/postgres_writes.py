"""The SQL text of a billing save's writes on PostgreSQL, shared by the statements that
save an SMS's answer (in a transaction, or alone when nothing changed since it was
loaded) and a payment."""

from __future__ import annotations

from collections.abc import Sequence

from .rules import AnswerRows, Row

__all__ = ["change_arrays", "change_ctes", "ledger_writes"]


def _among(column: str, parameter: str, row_type: str, field: str) -> str:
    """``column`` is one of the ``field`` values of the rows of ``parameter``.

    Said beside a join on the same rows: these statements also run on plans made
    once (see :mod:`..postgres_plans`), and a plan made on the statistics of empty
    or small tables may join them by reading a whole index; a list of keys makes
    that read a lookup of each key, whichever join is chosen."""
    return f"{column} = ANY (ARRAY(SELECT k.{field} FROM unnest({parameter}::{row_type}[]) AS k))"


def ledger_writes(accounts: str, items: str, guard: str) -> str:
    """Common table expressions writing a save's ledgers (see rules.LedgerRows:
    ``accounts`` and ``items`` name the parameters) when ``guard`` holds: the totals,
    the open items upserted, those of periods no longer owed deleted (disjoint rows)."""
    return f"""
totals AS (
    UPDATE billing_accounts AS a
    SET opening = t.opening, charges = t.charges, penalties = t.penalties,
        payments = t.payments, advance = t.advance
    FROM unnest({accounts}::billing_accounts[]) AS t
    WHERE a.number = t.number AND {_among("a.number", accounts, "billing_accounts", "number")}
      AND {guard}
), items_gone AS (
    DELETE FROM billing_open_items AS o
    USING unnest({accounts}::billing_accounts[]) AS t
    WHERE o.account_number = t.number
      AND {_among("o.account_number", accounts, "billing_accounts", "number")}
      AND {guard} AND NOT EXISTS (
        SELECT 1 FROM unnest({items}::billing_open_items[]) AS n
        WHERE n.account_number = o.account_number AND n.period = o.period)
), items_kept AS (
    INSERT INTO billing_open_items (account_number, period, principal, penalty, due_date)
    SELECT account_number, period, principal, penalty, due_date
    FROM unnest({items}::billing_open_items[])
    WHERE {guard}
    ON CONFLICT (account_number, period) DO UPDATE
    SET principal = EXCLUDED.principal, penalty = EXCLUDED.penalty, due_date = EXCLUDED.due_date
)"""


def change_ctes(parameters: Sequence[str], guard: str = "true") -> str:
    """Common table expressions writing an SMS's changes beyond its MO row (see
    rules.AnswerRows), when ``guard`` holds: ``parameters`` name the readings,
    the status changes, the bindings, the charges, and the ledgers' accounts and
    open items, in that order."""
    readings, statuses, bindings, charges, accounts, items = parameters
    return f"""
readings AS (
    INSERT INTO billing_readings (register_id, value, taken_at, received_at, source, status,
                                  period, mo_message_id)
    SELECT register_id, value, taken_at, received_at, source, status, period, mo_message_id
    FROM unnest({readings}::billing_readings[])
    WHERE {guard}
), statuses AS (
    UPDATE billing_readings AS r SET status = t.status, status_reason = t.status_reason
    FROM unnest({statuses}::billing_readings[]) AS t
    WHERE r.id = t.id AND {_among("r.id", statuses, "billing_readings", "id")} AND {guard}
), bindings AS (
    UPDATE billing_bindings AS b SET opted_out = t.opted_out
    FROM unnest({bindings}::billing_bindings[]) AS t
    WHERE b.msisdn = t.msisdn AND b.account_number = t.account_number
      AND {_among("b.msisdn", bindings, "billing_bindings", "msisdn")}
      AND {_among("b.account_number", bindings, "billing_bindings", "account_number")}
      AND {guard}
), charges AS (
    INSERT INTO billing_charges (account_number, period, service, meter_id, start_on, end_on,
                                 due_date, amount, lines, mo_message_id, kind, billed_at)
    SELECT account_number, period, service, meter_id, start_on, end_on, due_date, amount,
           lines, mo_message_id, kind, billed_at
    FROM unnest({charges}::billing_charges[])
    WHERE {guard}
), {ledger_writes(accounts, items, guard)}"""


def change_arrays(writes: Sequence[AnswerRows]) -> list[list[Row]]:
    """The parameters of :func:`change_ctes` for ``writes``: each kind of row of them all."""
    return [
        [row for w in writes for row in w.readings],
        [row for w in writes for row in w.status_changes],
        [row for w in writes for row in w.bindings],
        [row for w in writes for row in w.charges],
        [row for w in writes for row in w.ledgers.accounts],
        [row for w in writes for row in w.ledgers.open_items],
    ]
