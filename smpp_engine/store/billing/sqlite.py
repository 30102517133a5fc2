"""The billing repository (:class:`billing_core.BillingRepository`) in SQLite.

Each method is one job on the store's worker thread: a read is a few indexed
statements in one snapshot, a write one ``BEGIN IMMEDIATE`` transaction. Money
is decimal TEXT and is added up in Python with Decimal (SQLite would add it as
floats). The utility an MSISDN without an account talks to is the store's
default one (see :attr:`SqliteBilling.billing_utility`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from billing_core import (
    CAP_COUNTED,
    AccountClosed,
    Ledger,
    NoticeContext,
    NoticeKind,
    NoticeRecord,
    Outcome,
    Payment,
    PaymentPosting,
    Period,
    PeriodCloseSummary,
    ReadingContext,
    UtilitySettings,
    close_accounts,
    fixed_charges_since,
)

from ..errors import NoBillingUtilityError, StoreError
from ..messages.model import NewMessage
from ..messages.sqlite_accept import accept_messages
from ..sqlite_worker import SqliteWorker, in_snapshot, in_transaction
from . import import_rules as imports
from . import rows, rules
from .codec import iso_time, parse_date, parse_time, stored_text
from .importing import ImportBatch, ImportProblem, Restate
from .model import CLOSE_BATCH, FAILED_STATES, ReplyLease, SavedAnswer, StoredNotice

__all__ = ["SqliteBilling"]

T = TypeVar("T")

_NAME = "sqlite"

_READING_COLUMNS = (
    "id, register_id, value, taken_at, received_at, source, status, period, mo_message_id"
)
_ACCOUNT_REGISTERS = """
SELECT g.id FROM billing_registers AS g
JOIN billing_meters AS m ON m.id = g.meter_id
JOIN billing_service_points AS p ON p.id = m.service_point_id
WHERE p.account_number = ?
"""
# Per register, through the index, newest first: a LIMIT, not a scan of its history.
_LAST_ACCEPTED = f"""
SELECT {_READING_COLUMNS} FROM billing_readings
WHERE register_id = ? AND status = 'accepted'
ORDER BY taken_at DESC, id DESC LIMIT {rows.HISTORY_LIMIT}
"""
_PENDING = f"""
SELECT {_READING_COLUMNS} FROM billing_readings
WHERE status = 'awaiting_confirmation' AND register_id IN ({_ACCOUNT_REGISTERS})
"""
_METERS = """
SELECT m.id, m.serial, m.service_point_id, p.service, m.digits, m.decimals, m.multiplier,
       m.status, g.id, g.zone
FROM billing_service_points AS p
JOIN billing_meters AS m ON m.service_point_id = p.id
JOIN billing_registers AS g ON g.meter_id = m.id
WHERE p.account_number = ?
ORDER BY m.position, m.id, g.position, g.id
"""
_TARIFFS = """
SELECT id, service, zone, valid_from, valid_to, pricing FROM billing_tariffs
WHERE utility_id = ? AND (valid_to IS NULL OR valid_to > ?)
  AND service IN (SELECT p.service FROM billing_service_points AS p WHERE p.account_number = ?)
ORDER BY service, valid_from, id
"""
_ACCOUNT = """
SELECT a.number, a.language, a.time_zone, a.closed,
       a.opening, a.charges, a.penalties, a.payments, a.advance, u.settings
FROM billing_accounts AS a JOIN billing_utilities AS u ON u.id = a.utility_id
WHERE a.number = ?
"""
_DEFAULT_UTILITY = """
SELECT settings FROM billing_utilities
WHERE id = coalesce(?, (SELECT id FROM billing_utilities ORDER BY is_default DESC, id LIMIT 1))
"""
_NOTICE_COLUMNS = (
    "id, kind, account_number, msisdn, text, created_at, send_at, service, state, "
    "delivered_at, amount"
)
# A notice counts (as a warning under way, or against the caps) unless its
# message is known not to have reached the phone.
_FAILED_LIST = ", ".join(repr(s.value) for s in sorted(FAILED_STATES))
_NOT_FAILED = (
    "NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = billing_notices.message_id "
    f"AND m.state IN ({_FAILED_LIST}))"
)


def _meter_rows(c: sqlite3.Connection, number: str) -> list[list[Any]]:
    meters: dict[int, list[Any]] = {}
    for r in c.execute(_METERS, (number,)):
        meter = meters.get(r[0])
        if meter is None:
            meter = meters[r[0]] = [*r[:8], []]
        meter[8].append((r[8], r[9]))
    return list(meters.values())


def _ledger(c: sqlite3.Connection, number: str) -> Ledger | None:
    totals = c.execute(
        "SELECT opening, charges, penalties, payments, advance FROM billing_accounts "
        "WHERE number = ?",
        (number,),
    ).fetchone()
    if totals is None:
        return None
    items = c.execute(
        "SELECT period, principal, penalty, due_date FROM billing_open_items "
        "WHERE account_number = ?",
        (number,),
    ).fetchall()
    return rows.ledger(totals, items)


_INSERT_MO = """
INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent, account_number,
                        reply, rejection, balance_after)
VALUES (:mo_message_id, :msisdn, :text, :received_at, :status, :intent, :account_number, :reply,
        :rejection, :balance_after)
ON CONFLICT (mo_message_id) DO NOTHING
"""
_INSERT_READING = """
INSERT INTO billing_readings (register_id, value, taken_at, received_at, source, status, period,
                              mo_message_id)
VALUES (:register_id, :value, :taken_at, :received_at, :source, :status, :period, :mo_message_id)
"""
_UPDATE_READING = (
    "UPDATE billing_readings SET status = :status, status_reason = :status_reason WHERE id = :id"
)
_UPDATE_BINDING = """
UPDATE billing_bindings SET opted_out = :opted_out
WHERE msisdn = :msisdn AND account_number = :account_number
"""
_INSERT_CHARGE = """
INSERT INTO billing_charges (account_number, period, service, meter_id, start_on, end_on, due_date,
                             amount, lines, mo_message_id, kind, billed_at)
VALUES (:account_number, :period, :service, :meter_id, :start_on, :end_on, :due_date, :amount,
        :lines, :mo_message_id, :kind, :billed_at)
"""
# The fixed charges billed to an account since a period (through the unique index).
_FIXED_BILLED = """
SELECT service, period FROM billing_charges
WHERE account_number = ? AND kind = 'fixed' AND period >= ?
"""
_UPDATE_TOTALS = """
UPDATE billing_accounts SET opening = :opening, charges = :charges, penalties = :penalties,
                            payments = :payments, advance = :advance
WHERE number = :number
"""
_INSERT_ITEM = """
INSERT INTO billing_open_items (account_number, period, principal, penalty, due_date)
VALUES (:account_number, :period, :principal, :penalty, :due_date)
"""
_INSERT_PAYMENT = """
INSERT INTO billing_payments (reference, account_number, amount, paid_on, period, advance)
VALUES (:reference, :account_number, :amount, :paid_on, :period, :advance)
"""
_INSERT_ALLOCATION = """
INSERT INTO billing_payment_allocations (payment_id, line, period, part, amount, due_date)
VALUES (:payment_id, :line, :period, :part, :amount, :due_date)
"""
_INSERT_NOTICE = """
INSERT INTO billing_notices (kind, account_number, msisdn, text, created_at, send_at, service,
                             state, delivered_at, amount, payment_reference)
VALUES (:kind, :account_number, :msisdn, :text, :created_at, :send_at, :service, :state,
        :delivered_at, :amount, :payment_reference)
"""


def _text(rows: Iterable[rules.Row]) -> list[rules.Row]:
    """Rows with their values as SQLite keeps them (see :func:`.codec.stored_text`)."""
    return [{column: stored_text(value) for column, value in row.items()} for row in rows]


def _ledgers(c: sqlite3.Connection, numbers: Sequence[str]) -> dict[str, Ledger]:
    """The stored ledgers of ``numbers`` (those stored), read in the write transaction."""
    found = {number: _ledger(c, number) for number in numbers}
    return {number: ledger for number, ledger in found.items() if ledger is not None}


def _fixed_stored(c: sqlite3.Connection, keys: Sequence[rules.FixedKey]) -> set[rules.FixedKey]:
    """Those of ``keys`` (account, service, period) whose fixed charge is stored."""
    return {
        key
        for key in keys
        if c.execute(
            "SELECT 1 FROM billing_charges WHERE account_number = ? AND service = ? "
            "AND period = ? AND kind = 'fixed'",
            key,
        ).fetchone()
    }


def _write_ledgers(c: sqlite3.Connection, ledgers: rules.LedgerRows) -> None:
    accounts = _text(ledgers.accounts)
    c.executemany(_UPDATE_TOTALS, accounts)
    c.executemany("DELETE FROM billing_open_items WHERE account_number = :number", accounts)
    c.executemany(_INSERT_ITEM, _text(ledgers.open_items))


def _save_outcome(c: sqlite3.Connection, o: Outcome) -> rules.AnswerRows | None:
    """Save ``o``; None when its MO was saved before. Its rows as written."""
    if not c.execute(_INSERT_MO, _text([rules.mo_row(o)])[0]).rowcount:
        return None
    try:
        write = rules.answer_rows(
            o, _ledgers(c, rules.charged_accounts(o)), _fixed_stored(c, rules.fixed_keys(o))
        )
    except rows.UnknownAccountError as exc:
        raise StoreError(_NAME, f"save_outcome: {exc}") from exc
    c.executemany(_INSERT_READING, _text(write.readings))
    c.executemany(_UPDATE_READING, write.status_changes)
    c.executemany(_UPDATE_BINDING, write.bindings)
    c.executemany(_INSERT_CHARGE, _text(write.charges))
    _write_ledgers(c, write.ledgers)
    return write


def _save_payment(c: sqlite3.Connection, posting: PaymentPosting) -> PaymentPosting | None:
    """The posting as stored, None when the reference is stored already."""
    payment = posting.payment
    if c.execute(
        "SELECT 1 FROM billing_payments WHERE reference = ?", (payment.reference,)
    ).fetchone():
        return None
    stored = _ledger(c, payment.account_number)
    if stored is None:
        raise rows.UnknownAccountError(payment.account_number)
    posting = rules.payment_as_stored(posting, stored)
    write = rules.payment_rows(posting, stored)
    payment_id = c.execute(_INSERT_PAYMENT, _text([write.payment])[0]).lastrowid
    c.executemany(
        _INSERT_ALLOCATION, _text({**a, "payment_id": payment_id} for a in write.allocations)
    )
    _write_ledgers(c, write.ledgers)
    return posting


def _insert_notices(
    c: sqlite3.Connection, notices: Sequence[NoticeRecord], payment_reference: str | None
) -> list[int]:
    ids = []
    for row in _text(rules.notice_rows(notices, payment_reference)):
        cursor = c.execute(_INSERT_NOTICE, row)
        assert cursor.lastrowid is not None
        ids.append(cursor.lastrowid)
    return ids


def _save_answer(
    c: sqlite3.Connection,
    outcome: Outcome,
    reply: NewMessage | None,
    now: float,
    lease: ReplyLease | None,
    *,
    restate: Restate | None = None,
) -> SavedAnswer:
    write = _save_outcome(c, outcome)
    if write is None:
        return SavedAnswer(saved=False)
    if write.restated is not None and reply is not None and restate is not None:
        reply = restate(write.dropped, write.restated)
    if reply is None:
        return rules.saved_answer(None, None, lease)
    (accepted,) = accept_messages(c, [reply], now, lease=lease)
    c.execute(
        "UPDATE billing_mo SET reply_message_id = ? WHERE mo_message_id = ?",
        (accepted.message_id, outcome.mo_message_id),
    )
    return rules.saved_answer(reply, accepted, lease)


# Notices of the window by kind and their message's state: those stored after the
# last notice whose message was queued before the window. It is found by walking
# the primary key back from the newest notice, which costs the window's notices,
# not the table's. Messages are queued at the clock's time (a run with a past
# --now stores notices of that time and queues them now), and in the order their
# notices were stored, but for a notice left unqueued by an interrupted run and
# queued by a later one. Each notice's message is looked up by its key (a join
# may hash the whole messages table).
_NOTICE_STATES = """
SELECT n.kind,
    coalesce((SELECT m.state FROM messages AS m WHERE m.id = n.message_id), 'unqueued'),
    count(*)
FROM billing_notices AS n
WHERE n.id > coalesce((
    SELECT b.id FROM billing_notices AS b
    WHERE (SELECT q.created_at FROM messages AS q WHERE q.id = b.message_id) < ?
    ORDER BY b.id DESC LIMIT 1), 0)
GROUP BY 1, 2
"""


class SqliteBilling(rows.UtilitySettingsCache):
    """The :class:`BillingRepository` part of :class:`~.sqlite.SqliteStore`."""

    _worker: SqliteWorker

    async def load_settings(self, utility_id: str | None = None) -> UtilitySettings:
        """A utility's settings (the default one when ``utility_id`` is None)."""

        def work(c: sqlite3.Connection) -> str | None:
            row = c.execute(_DEFAULT_UTILITY, (utility_id or self.billing_utility,)).fetchone()
            return None if row is None else str(row[0])

        text = await self._worker.run("load_settings", work)
        if text is None:
            raise NoBillingUtilityError(_NAME, "load_settings", utility_id or self.billing_utility)
        return self._settings_cache().get(text)

    async def load_context(
        self, *, msisdn: str, account_number: str | None, mo_message_id: str, now: datetime
    ) -> ReadingContext:
        cache = self._settings_cache()
        default = self.billing_utility

        def read(c: sqlite3.Connection) -> ReadingContext:
            bindings = c.execute(
                "SELECT msisdn, account_number, opted_out FROM billing_bindings "
                "WHERE msisdn = ? ORDER BY account_number",
                (msisdn,),
            ).fetchall()
            seen = c.execute(
                "SELECT 1 FROM billing_mo WHERE mo_message_id = ?", (mo_message_id,)
            ).fetchone()
            numbers = [b[1] for b in bindings]
            number = account_number if account_number in numbers else None
            if number is None and len(numbers) == 1:
                number = numbers[0]
            account = c.execute(_ACCOUNT, (number or (numbers[0] if numbers else ""),)).fetchone()
            if account is None:
                row = c.execute(_DEFAULT_UTILITY, (default,)).fetchone()
                if row is None:
                    raise NoBillingUtilityError(_NAME, "load_context")
                settings = cache.get(row[0])
                return rows.reading_context(
                    settings, msisdn, bindings, seen is not None, None, None, (), (), (), ()
                )
            settings = cache.get(account[9])
            if number is None:  # bound to several, none named: the settings of the first
                return rows.reading_context(
                    settings, msisdn, bindings, seen is not None, None, None, (), (), (), ()
                )
            items = c.execute(
                "SELECT period, principal, penalty, due_date FROM billing_open_items "
                "WHERE account_number = ?",
                (number,),
            ).fetchall()
            meters = _meter_rows(c, number)
            readings = c.execute(_PENDING, (number,)).fetchall()
            for meter in meters:
                for register_id, _zone in meter[8]:
                    readings += c.execute(_LAST_ACCEPTED, (register_id,)).fetchall()
            tariffs = c.execute(
                _TARIFFS, (settings.utility_id, rows.since_for_tariffs(readings, now), number)
            ).fetchall()
            fixed = c.execute(_FIXED_BILLED, (number, str(fixed_charges_since(now)))).fetchall()
            return rows.reading_context(
                settings,
                msisdn,
                bindings,
                seen is not None,
                account[:4],
                account[4:9],
                items,
                meters,
                readings,
                tariffs,
                fixed,
            )

        return await self._worker.run("load_context", lambda c: in_snapshot(c, lambda: read(c)))

    async def save_outcome(self, outcome: Outcome) -> bool:
        if not outcome.persists:
            raise ValueError("an ALREADY_PROCESSED outcome is not saved")
        return await self._worker.run(
            "save_outcome",
            lambda c: in_transaction(c, lambda: _save_outcome(c, outcome) is not None),
        )

    async def load_ledger(self, account_number: str) -> Ledger:
        ledger = await self._worker.run(
            "load_ledger", lambda c: in_snapshot(c, lambda: _ledger(c, account_number))
        )
        if ledger is None:
            raise rows.UnknownAccountError(account_number)
        return ledger

    async def save_payment(self, posting: PaymentPosting) -> bool:
        stored = await self._worker.run(
            "save_payment", lambda c: in_transaction(c, lambda: _save_payment(c, posting))
        )
        return stored is not None

    async def find_payment(self, reference: str) -> Payment | None:
        def work(c: sqlite3.Connection) -> Payment | None:
            row = c.execute(
                "SELECT id, account_number, amount, paid_on, reference, period "
                "FROM billing_payments WHERE reference = ?",
                (reference,),
            ).fetchone()
            return None if row is None else rows.payment(row)

        return await self._worker.run("find_payment", work)

    async def load_notice_context(self, account_number: str, *, now: datetime) -> NoticeContext:
        cache = self._settings_cache()
        month_ago = iso_time(rules.capped_since(now))

        def read(c: sqlite3.Connection) -> NoticeContext | None:
            account = c.execute(_ACCOUNT, (account_number,)).fetchone()
            if account is None:
                return None
            settings = cache.get(account[9])
            warned_since = iso_time(rules.warned_since(settings, now))
            bindings = c.execute(
                "SELECT msisdn, account_number, opted_out FROM billing_bindings "
                "WHERE account_number = ? ORDER BY msisdn",
                (account_number,),
            ).fetchall()
            items = c.execute(
                "SELECT period, principal, penalty, due_date FROM billing_open_items "
                "WHERE account_number = ?",
                (account_number,),
            ).fetchall()
            charges = c.execute(
                "SELECT period, service, amount FROM billing_charges WHERE account_number = ? "
                "AND period IN (SELECT DISTINCT period FROM billing_charges "
                "WHERE account_number = ? ORDER BY period DESC LIMIT ?)",
                (account_number, account_number, rows.AVERAGE_MONTHS + 12),
            ).fetchall()
            warned = [
                r[0]
                for r in c.execute(
                    "SELECT DISTINCT service FROM billing_notices WHERE account_number = ? "
                    f"AND kind = ? AND {_NOT_FAILED} AND created_at >= ? "
                    "AND service IS NOT NULL",
                    (account_number, NoticeKind.DISCONNECTION_WARNING.value, warned_since),
                )
            ]
            capped = c.execute(
                "SELECT msisdn, coalesce(send_at, created_at) FROM billing_notices "
                f"WHERE account_number = ? AND kind = ? AND {_NOT_FAILED} "
                "AND coalesce(send_at, created_at) >= ?",
                (account_number, NoticeKind.DEBT.value, month_ago),
            ).fetchall()
            last = c.execute(
                f"SELECT max(period) FROM billing_readings WHERE status = 'accepted' "
                f"AND register_id IN ({_ACCOUNT_REGISTERS})",
                (account_number,),
            ).fetchone()
            verifications = c.execute(
                f"SELECT {_VERIFICATION_COLUMNS} {_VERIFICATIONS} AND p.account_number = ? "
                "ORDER BY m.position, m.id",
                (account_number,),
            ).fetchall()
            return rows.notice_context(
                settings,
                account[:4],
                bindings,
                account[4:9],
                items,
                charges,
                warned,
                capped,
                last[0],
                [v[1:] for v in verifications],
            )

        context = await self._worker.run(
            "load_notice_context", lambda c: in_snapshot(c, lambda: read(c))
        )
        if context is None:
            raise rows.UnknownAccountError(account_number)
        return context

    async def load_notice_contexts(
        self, settings: UtilitySettings, *, now: datetime, after: str = "", limit: int = CLOSE_BATCH
    ) -> list[NoticeContext]:
        page = partial(_notice_page, settings=settings, now=now, after=after, limit=limit)
        return await self._worker.run(
            "load_notice_contexts", lambda c: in_snapshot(c, lambda: page(c))
        )

    async def save_run_notices(
        self, notices: Sequence[NoticeRecord], accounts: Sequence[str]
    ) -> list[NoticeRecord]:
        def write(c: sqlite3.Connection) -> list[NoticeRecord]:
            c.executemany(_INSERT_KEYED_NOTICE, _text(rules.notice_rows(notices, None)))
            found = c.execute(
                f"SELECT {_NOTICE_COLUMNS}, notice_key FROM billing_notices "
                f"WHERE account_number {_IN} AND notice_key IS NOT NULL "
                "AND message_id IS NULL ORDER BY id",
                (_each(accounts),),
            ).fetchall()
            return [rows.keyed_notice(r) for r in found]

        return await self._worker.run(
            "save_run_notices", lambda c: in_transaction(c, lambda: write(c))
        )

    async def save_notices(self, notices: Sequence[NoticeRecord]) -> list[int]:
        return await self._worker.run(
            "save_notices", lambda c: in_transaction(c, lambda: _insert_notices(c, notices, None))
        )

    async def save_payment_with_notices(
        self,
        posting: PaymentPosting,
        confirmations: Callable[[PaymentPosting], Sequence[NoticeRecord]],
    ) -> bool:
        def write(c: sqlite3.Connection) -> bool:
            stored = _save_payment(c, posting)
            if stored is None:
                return False
            _insert_notices(c, confirmations(stored), posting.payment.reference)
            return True

        return await self._worker.run("save_payment", lambda c: in_transaction(c, lambda: write(c)))

    async def unqueued_notices(self, payment_reference: str) -> list[NoticeRecord]:
        def read(c: sqlite3.Connection) -> list[NoticeRecord]:
            found = c.execute(
                f"SELECT {_NOTICE_COLUMNS} FROM billing_notices "
                "WHERE payment_reference = ? AND message_id IS NULL ORDER BY id",
                (payment_reference,),
            ).fetchall()
            return [rows.notice(r) for r in found]

        return await self._worker.run("unqueued_notices", read)

    async def link_notices(self, links: Sequence[tuple[int, int]]) -> None:
        pairs = [(message_id, notice_id) for notice_id, message_id in links]

        def write(c: sqlite3.Connection) -> None:
            c.executemany("UPDATE billing_notices SET message_id = ? WHERE id = ?", pairs)

        await self._worker.run("link_notices", lambda c: in_transaction(c, lambda: write(c)))

    async def load_notice(self, notice_id: int) -> StoredNotice | None:
        def read(c: sqlite3.Connection) -> StoredNotice | None:
            found = c.execute(
                f"SELECT {_NOTICE_COLUMNS}, message_id FROM billing_notices WHERE id = ?",
                (notice_id,),
            ).fetchone()
            return None if found is None else StoredNotice(rows.notice(found[:11]), found[11])

        return await self._worker.run("load_notice", read)

    async def recent_notices(self, account_number: str, *, limit: int) -> list[StoredNotice]:
        def read(c: sqlite3.Connection) -> list[StoredNotice]:
            found = c.execute(
                f"SELECT {_NOTICE_COLUMNS}, message_id FROM billing_notices "
                "WHERE account_number = ? ORDER BY id DESC LIMIT ?",
                (account_number, limit),
            ).fetchall()
            return [StoredNotice(rows.notice(r[:11]), r[11]) for r in found]

        return await self._worker.run("recent_notices", read)

    async def sent_warnings(
        self,
        *,
        since: datetime,
        utility_id: str | None = None,
        account_number: str | None = None,
    ) -> list[StoredNotice]:
        def read(c: sqlite3.Connection) -> list[StoredNotice]:
            if account_number is not None:
                # One account's, through billing_notices_account.
                return [
                    StoredNotice(rows.keyed_notice(r[:12]), r[12])
                    for r in c.execute(
                        f"SELECT {_NOTICE_COLUMNS}, notice_key, message_id FROM billing_notices "
                        "WHERE account_number = ? AND kind = 'disconnection_warning' "
                        "AND created_at >= ? AND message_id IS NOT NULL ORDER BY id",
                        (account_number, iso_time(since)),
                    ).fetchall()
                ]
            found = c.execute(
                f"SELECT {_NOTICE_COLUMNS}, notice_key, message_id FROM billing_notices "
                "WHERE kind = 'disconnection_warning' AND message_id IS NOT NULL "
                "AND created_at >= ? AND account_number IN (SELECT number FROM billing_accounts "
                "WHERE utility_id = coalesce(?, (SELECT id FROM billing_utilities "
                "ORDER BY is_default DESC, id LIMIT 1))) ORDER BY id",
                (iso_time(since), utility_id or self.billing_utility),
            ).fetchall()
            return [StoredNotice(rows.keyed_notice(r[:12]), r[12]) for r in found]

        return await self._worker.run("sent_warnings", read)

    async def notice_states(self, *, since: datetime) -> dict[tuple[str, str], int]:
        def read(c: sqlite3.Connection) -> dict[tuple[str, str], int]:
            found = c.execute(_NOTICE_STATES, (since.timestamp(),)).fetchall()
            return {(kind, state): int(n) for kind, state, n in found}

        return await self._worker.run("notice_states", read)

    async def reply_message_id(self, mo_message_id: str) -> int | None:
        def read(c: sqlite3.Connection) -> int | None:
            found = c.execute(
                "SELECT reply_message_id FROM billing_mo WHERE mo_message_id = ?",
                (mo_message_id,),
            ).fetchone()
            return None if found is None else found[0]

        return await self._worker.run("reply_message_id", read)

    async def save_answer(
        self,
        outcome: Outcome,
        reply: NewMessage | None,
        *,
        now: float,
        lease: ReplyLease | None,
        restate: Restate | None = None,
    ) -> SavedAnswer:
        if not outcome.persists:
            raise ValueError("an ALREADY_PROCESSED outcome is not saved")
        return await self._worker.run(
            "save_answer",
            lambda c: in_transaction(
                c, lambda: _save_answer(c, outcome, reply, now, lease, restate=restate)
            ),
        )

    async def close_period(
        self,
        period: Period,
        *,
        now: datetime,
        utility_id: str | None = None,
        batch_size: int = CLOSE_BATCH,
    ) -> PeriodCloseSummary:
        settings = await self.load_settings(utility_id)
        summary = PeriodCloseSummary(period)
        after: str | None = ""
        while after is not None:
            batch = partial(
                _close_batch,
                settings=settings,
                period=period,
                after=after,
                size=batch_size,
                now=now,
            )
            closed, after = await self._worker.run("close_period", partial(_in_transaction, batch))
            summary = summary.add(closed)
        return summary

    async def copy_billing_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not table.startswith("billing_"):
            raise ValueError(f"table: not a billing table: {table!r}")
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        await self._worker.run(
            "copy_billing_rows",
            lambda c: in_transaction(c, lambda: c.executemany(statement, rows)),
        )

    async def write_billing_import(
        self, batch: ImportBatch
    ) -> tuple[dict[str, int], list[ImportProblem]]:
        """Write checked import rows in one transaction (see :mod:`.importing`)."""
        return await self._worker.run(
            "billing_import", lambda c: in_transaction(c, lambda: _write_import(c, batch))
        )


# A run's notices: each key stored once (a notice stored before is left as it is).
_INSERT_KEYED_NOTICE = """
INSERT INTO billing_notices (kind, account_number, msisdn, text, created_at, send_at, service,
                             state, delivered_at, amount, payment_reference, notice_key)
VALUES (:kind, :account_number, :msisdn, :text, :created_at, :send_at, :service, :state,
        :delivered_at, :amount, :payment_reference, :notice_key)
ON CONFLICT (notice_key) WHERE notice_key IS NOT NULL DO NOTHING
"""
# The meters' verification dates (removed meters are not verified again).
_VERIFICATION_COLUMNS = "p.account_number, m.serial, p.service, m.verification_date"
_VERIFICATIONS = """
FROM billing_service_points AS p JOIN billing_meters AS m ON m.service_point_id = p.id
WHERE m.verification_date IS NOT NULL AND m.status <> 'removed'
"""
# A page of a utility's accounts, for a notices run (closed ones too: the run says so).
_NOTICE_ACCOUNTS = """
SELECT number, language, time_zone, closed, opening, charges, penalties, payments, advance
FROM billing_accounts WHERE utility_id = ? AND number > ? ORDER BY number LIMIT ?
"""


def _notice_page(
    c: sqlite3.Connection, *, settings: UtilitySettings, now: datetime, after: str, limit: int
) -> list[NoticeContext]:
    """The notice contexts of the next ``limit`` accounts after ``after``, read in the
    caller's snapshot: one statement per kind of row, each for the whole page."""
    accounts = c.execute(_NOTICE_ACCOUNTS, (settings.utility_id, after, limit)).fetchall()
    if not accounts:
        return []
    numbers = _each([a[0] for a in accounts])
    bindings = c.execute(
        "SELECT msisdn, account_number, opted_out FROM billing_bindings "
        f"WHERE account_number {_IN} ORDER BY account_number, msisdn",
        (numbers,),
    ).fetchall()
    phones = _each(sorted({b[0] for b in bindings}))
    since = rules.capped_since(now)
    counted = _each(sorted(k.value for k in CAP_COUNTED))
    charges = _decimal_sums4(
        c.execute(
            "SELECT account_number, period, service, amount FROM billing_charges "
            f"WHERE account_number {_IN}",
            (numbers,),
        )
    )
    return rows.notice_contexts(
        settings,
        rules.warned_since(settings, now),
        accounts,
        c.execute(
            "SELECT account_number, period, principal, penalty, due_date "
            f"FROM billing_open_items WHERE account_number {_IN}",
            (numbers,),
        ).fetchall(),
        bindings,
        _recent_periods(charges, rows.AVERAGE_MONTHS + 12),
        c.execute(
            "SELECT account_number, service, created_at FROM billing_notices "
            f"WHERE account_number {_IN} AND kind = ? AND {_NOT_FAILED} AND created_at >= ? "
            "AND service IS NOT NULL",
            (
                numbers,
                NoticeKind.DISCONNECTION_WARNING.value,
                iso_time(now - rules.WARNINGS_LOOKED_AT),
            ),
        ).fetchall(),
        c.execute(
            "SELECT msisdn, coalesce(send_at, created_at) FROM billing_notices "
            f"WHERE msisdn {_IN} AND kind {_IN} AND {_NOT_FAILED} "
            "AND coalesce(send_at, created_at) >= ?",
            (phones, counted, iso_time(since)),
        ).fetchall()
        + [
            (r[0], iso_time(datetime.fromtimestamp(r[1], UTC)))
            for r in c.execute(
                "SELECT destination, max(not_before, created_at) FROM messages "
                f"WHERE campaign_id IS NOT NULL AND destination {_IN} "
                f"AND max(not_before, created_at) >= ? AND state NOT IN ({_FAILED_LIST})",
                (phones, since.timestamp()),
            )
        ],
        c.execute(
            "SELECT p.account_number, max(r.period) FROM billing_service_points AS p "
            "JOIN billing_meters AS m ON m.service_point_id = p.id "
            "JOIN billing_registers AS g ON g.meter_id = m.id "
            "JOIN billing_readings AS r ON r.register_id = g.id AND r.status = 'accepted' "
            f"WHERE p.account_number {_IN} GROUP BY p.account_number",
            (numbers,),
        ).fetchall(),
        c.execute(
            "SELECT account_number, notice_key FROM billing_notices "
            f"WHERE account_number {_IN} AND notice_key IS NOT NULL AND created_at >= ?",
            (numbers, iso_time(now - rules.KEYS_KEPT)),
        ).fetchall(),
        c.execute(
            f"SELECT {_VERIFICATION_COLUMNS} {_VERIFICATIONS} AND p.account_number {_IN} "
            "ORDER BY p.account_number, m.position, m.id",
            (numbers,),
        ).fetchall(),
    )


def _decimal_sums4(found: Iterable[Sequence[Any]]) -> list[tuple[str, str, str, str]]:
    """(account, period, service, amount) rows summed per account, period and service
    in Decimal (SQLite would add the TEXT money as floats)."""
    sums: dict[tuple[str, str, str], Decimal] = {}
    for number, period, service, amount in found:
        key = (number, period, service)
        sums[key] = sums.get(key, Decimal(0)) + Decimal(amount)
    return [(*key, str(total)) for key, total in sums.items()]


def _recent_periods(
    charges: Sequence[tuple[str, str, str, str]], months: int
) -> list[tuple[str, str, str, str]]:
    """The charge rows of each account's ``months`` latest charged periods."""
    periods: dict[str, set[str]] = {}
    for number, period, _service, _amount in charges:
        periods.setdefault(number, set()).add(period)
    kept = {number: set(sorted(p)[-months:]) for number, p in periods.items()}
    return [r for r in charges if r[1] in kept[r[0]]]


_INSERT_PENALTY = """
INSERT INTO billing_penalties (account_number, period, closed_period, through, amount)
VALUES (:account_number, :period, :closed_period, :through, :amount)
"""
# A close's batch: the utility's open accounts after a number, in order.
_CLOSE_ACCOUNTS = """
SELECT number, language, time_zone, closed, opening, charges, penalties, payments, advance
FROM billing_accounts WHERE utility_id = ? AND number > ? AND NOT closed
ORDER BY number LIMIT ?
"""
_CLOSE_METERS = """
SELECT p.account_number, m.id, m.serial, m.service_point_id, p.service, m.digits, m.decimals,
       m.multiplier, m.status, g.id, g.zone
FROM billing_service_points AS p
JOIN billing_meters AS m ON m.service_point_id = p.id
JOIN billing_registers AS g ON g.meter_id = m.id
WHERE p.account_number IN (SELECT value FROM json_each(?))
ORDER BY p.account_number, m.position, m.id, g.position, g.id
"""


def _close_batch(
    c: sqlite3.Connection,
    *,
    settings: UtilitySettings,
    period: Period,
    after: str,
    size: int,
    now: datetime,
) -> tuple[list[AccountClosed], str | None]:
    """Close ``period`` for the next ``size`` accounts after ``after``, in the caller's
    write transaction; the accounts closed and the last number (None: none left)."""
    accounts = c.execute(_CLOSE_ACCOUNTS, (settings.utility_id, after, size)).fetchall()
    if not accounts:
        return [], None
    numbers = _each([a[0] for a in accounts])
    month = str(period)
    meters: dict[int, list[Any]] = {}
    for r in c.execute(_CLOSE_METERS, (numbers,)):
        meter = meters.get(r[1])
        if meter is None:
            meter = meters[r[1]] = [*r[:9], []]
        meter[9].append((r[9], r[10]))
    readings: list[Any] = []
    for meter in meters.values():
        for register_id, _zone in meter[9]:
            readings += c.execute(_LAST_ACCEPTED, (register_id,)).fetchall()
    read = c.execute(
        "SELECT DISTINCT p.account_number, g.meter_id FROM billing_readings AS r "
        "JOIN billing_registers AS g ON g.id = r.register_id "
        "JOIN billing_meters AS m ON m.id = g.meter_id "
        "JOIN billing_service_points AS p ON p.id = m.service_point_id "
        f"WHERE p.account_number {_IN} AND r.status = 'accepted' AND r.period = ?",
        (numbers, month),
    ).fetchall()
    closed = close_accounts(
        rows.accounts_to_close(
            accounts,
            c.execute(
                "SELECT account_number, period, principal, penalty, due_date "
                f"FROM billing_open_items WHERE account_number {_IN}",
                (numbers,),
            ).fetchall(),
            c.execute(
                f"SELECT account_number, service FROM billing_service_points "
                f"WHERE account_number {_IN}",
                (numbers,),
            ).fetchall(),
            list(meters.values()),
            readings,
            c.execute(
                "SELECT id, service, zone, valid_from, valid_to, pricing FROM billing_tariffs "
                "WHERE utility_id = ? ORDER BY service, valid_from, id",
                (settings.utility_id,),
            ).fetchall(),
            read,
            c.execute(
                "SELECT account_number, service FROM billing_charges "
                f"WHERE account_number {_IN} AND kind = 'fixed' AND period = ?",
                (numbers, month),
            ).fetchall(),
            _decimal_sums(
                c.execute(
                    "SELECT account_number, period, amount FROM billing_penalties "
                    f"WHERE account_number {_IN}",
                    (numbers,),
                )
            ),
            c.execute(
                "SELECT p.account_number, a.period, p.paid_on, a.amount, a.due_date "
                "FROM billing_payment_allocations AS a "
                "JOIN billing_payments AS p ON p.id = a.payment_id "
                f"WHERE p.account_number {_IN} AND a.part = 'principal'",
                (numbers,),
            ).fetchall(),
            c.execute(
                # Billed after their due date (its day, at the latest: the exact local
                # day is the core's to tell).
                "SELECT account_number, period, billed_at, amount FROM billing_charges "
                f"WHERE account_number {_IN} AND billed_at IS NOT NULL "
                "AND due_date IS NOT NULL AND substr(billed_at, 1, 10) >= due_date",
                (numbers,),
            ).fetchall(),
        ),
        period,
        settings,
        now=now,
    )
    write = rules.close_rows(closed, now)
    c.executemany(_INSERT_READING, _text(write.readings))
    c.executemany(_INSERT_CHARGE, _text(write.charges))
    c.executemany(_INSERT_PENALTY, _text(write.penalties))
    _write_ledgers(c, write.ledgers)
    return closed, accounts[-1][0]


def _in_transaction(work: Callable[[sqlite3.Connection], T], c: sqlite3.Connection) -> T:
    return in_transaction(c, lambda: work(c))


def _decimal_sums(found: Iterable[Sequence[Any]]) -> list[tuple[str, str, str]]:
    """(account, period, amount) rows summed per account and period, in Decimal
    (SQLite would add the TEXT amounts as floats)."""
    sums: dict[tuple[str, str], Decimal] = {}
    for number, period, amount in found:
        sums[number, period] = sums.get((number, period), Decimal(0)) + Decimal(amount)
    return [(number, period, str(amount)) for (number, period), amount in sums.items()]


def _each(values: Sequence[object]) -> str:
    """``values`` for ``IN (SELECT value FROM json_each(?))``."""
    return json.dumps(list(values))


_IN = "IN (SELECT value FROM json_each(?))"


def _load_import(c: sqlite3.Connection, ask: imports.ImportLookups) -> imports.StoredImport:
    """What the import rules ask about, read in the import's write transaction."""
    meters: dict[int, tuple[str, str]] = {}
    for column, values in (
        ("m.serial", ask.serials),
        ("m.id", ask.meter_ids),
        ("p.account_number", ask.meter_accounts),
    ):
        meters.update(
            (r[0], (r[1], r[2]))
            for r in c.execute(
                "SELECT m.id, m.serial, p.account_number FROM billing_meters AS m "
                "JOIN billing_service_points AS p ON p.id = m.service_point_id "
                f"WHERE {column} {_IN}",
                (_each(values),),
            )
        )
    registers: dict[int, tuple[int, str]] = {}
    for column, ids in (("meter_id", list(meters)), ("id", ask.register_ids)):
        registers.update(
            (r[0], (r[1], r[2]))
            for r in c.execute(
                f"SELECT id, meter_id, zone FROM billing_registers WHERE {column} {_IN}",
                (_each(ids),),
            )
        )
    tariffs = {
        r[0]: (r[1], r[2], r[3], parse_date(r[4]), r[5] == "fixed")
        for r in c.execute(
            "SELECT id, utility_id, service, zone, valid_from, json_extract(pricing, '$.kind') "
            f"FROM billing_tariffs WHERE utility_id {_IN} OR id {_IN}",
            (_each(ask.tariff_utilities), _each(ask.tariff_ids)),
        )
    }
    readings = {
        (r[0], parse_time(r[1]), Decimal(r[2]))
        for r in c.execute(
            "SELECT r.register_id, r.taken_at, r.value FROM billing_readings AS r "
            "JOIN billing_registers AS g ON g.id = r.register_id "
            "JOIN billing_meters AS m ON m.id = g.meter_id "
            f"WHERE m.serial {_IN} AND r.taken_at {_IN}",
            (_each(ask.reading_serials), _each([iso_time(t) for t in ask.reading_times])),
        )
    }
    return imports.StoredImport(
        utilities={
            r[0]: bool(r[1]) for r in c.execute("SELECT id, is_default FROM billing_utilities")
        },
        accounts={
            r[0]
            for r in c.execute(
                f"SELECT number FROM billing_accounts WHERE number {_IN}", (_each(ask.accounts),)
            )
        },
        points={
            (r[1], r[2]): r[0]
            for r in c.execute(
                "SELECT id, account_number, service FROM billing_service_points "
                f"WHERE account_number {_IN}",
                (_each(ask.meter_accounts),),
            )
        },
        meters=meters,
        registers=registers,
        tariffs=tariffs,
        readings=readings,
        last_ids={
            table: c.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in imports.NUMBERED
        },
    )


# The import plan's rows (see billing_import_rules.ImportPlan), in the order their
# references need.
_IMPORT_WRITES = (
    (
        "utilities",
        "INSERT INTO billing_utilities (id, settings, is_default) "
        "VALUES (:id, :settings, :is_default) ON CONFLICT (id) DO UPDATE "
        "SET settings = excluded.settings, is_default = excluded.is_default",
    ),
    ("utility_defaults", "UPDATE billing_utilities SET is_default = :is_default WHERE id = :id"),
    (
        "accounts",
        "INSERT INTO billing_accounts (number, utility_id, language, time_zone, closed, opening, "
        "charges, penalties, payments, advance) VALUES (:number, :utility_id, :language, "
        ":time_zone, :closed, :opening, :charges, :penalties, :payments, :advance)",
    ),
    ("open_items", _INSERT_ITEM),
    (
        "account_changes",
        "UPDATE billing_accounts SET utility_id = :utility_id, language = :language, "
        "time_zone = :time_zone, closed = :closed WHERE number = :number",
    ),
    ("charges", _INSERT_CHARGE),
    (
        "bindings",
        "INSERT INTO billing_bindings (msisdn, account_number, opted_out) "
        "VALUES (:msisdn, :account_number, :opted_out) ON CONFLICT (msisdn, account_number) "
        "DO UPDATE SET opted_out = excluded.opted_out",
    ),
    (
        "service_points",
        "INSERT INTO billing_service_points (id, account_number, service) "
        "VALUES (:id, :account_number, :service)",
    ),
    (
        "meters",
        "INSERT INTO billing_meters (id, service_point_id, serial, digits, decimals, "
        "multiplier, status, position, verification_date) VALUES (:id, :service_point_id, "
        ":serial, :digits, :decimals, :multiplier, :status, :position, :verification_date)",
    ),
    (
        "meter_changes",
        "UPDATE billing_meters SET service_point_id = :service_point_id, digits = :digits, "
        "decimals = :decimals, multiplier = :multiplier, status = :status, "
        "verification_date = :verification_date WHERE id = :id",
    ),
    (
        "registers",
        "INSERT INTO billing_registers (id, meter_id, zone, position) "
        "VALUES (:id, :meter_id, :zone, :position)",
    ),
    ("register_changes", "UPDATE billing_registers SET position = :position WHERE id = :id"),
    (
        "tariffs",
        "INSERT INTO billing_tariffs (id, utility_id, service, zone, valid_from, valid_to, "
        "pricing) VALUES (:id, :utility_id, :service, :zone, :valid_from, :valid_to, :pricing)",
    ),
    ("readings", _INSERT_READING),
)


def _write_import(
    c: sqlite3.Connection, batch: ImportBatch
) -> tuple[dict[str, int], list[ImportProblem]]:
    plan = imports.decide(batch, _load_import(c, imports.lookups(batch)))
    for name, statement in _IMPORT_WRITES:
        c.executemany(statement, _text(getattr(plan, name)))
    return plan.written, plan.problems
