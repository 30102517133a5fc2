"""The billing repository (:class:`billing_core.BillingRepository`) on PostgreSQL.

Reads are one statement each, outside any transaction: scalar subqueries
build a JSON document (money as numeric text, times as ISO text) that the
shared decoder in :mod:`.rows` reads. ``load_context``, the first call
of every SMS, is a function of the schema (migration 3) so that its plan is
made once per connection: planning it per call would cost more than running it.

Writes follow :mod:`.rules`: a save locks the ledgers it changes
(``FOR UPDATE``), reads them, lets the billing core change them in Python and
writes the rows it gets back, each table's as one array parameter of the
table's row type (``unnest``), all in one transaction. An SMS's reply is
accepted by :mod:`..messages.postgres_accept`, as any message. An SMS answered
through ``answer`` whose ledgers are still the ones its context loaded is saved
in one statement instead (:mod:`.postgres_unchanged`). Runs on the bridge's loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast

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

from ..errors import NoBillingUtilityError
from ..messages.model import Accepted, NewMessage
from ..messages.postgres_accept import accept_messages
from ..postgres_plans import planned_once
from . import import_rules as imports
from . import rows, rules
from .codec import parse_time
from .importing import ImportBatch, ImportProblem, Restate
from .model import (
    CLOSE_BATCH,
    FAILED_STATES,
    AnswerToSave,
    ContextAsked,
    ReplyLease,
    SavedAnswer,
    StoredNotice,
)
from .postgres_unchanged import save_if_unchanged
from .postgres_writes import change_arrays, change_ctes, ledger_writes

__all__ = ["PostgresBilling"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_NAME = "postgresql"

# ISO text of a timestamptz, whatever the session's DateStyle.
_READING_JSON = (
    "json_build_array(r.id, r.register_id, r.value::text, r.taken_at, r.received_at, "
    "r.source, r.status, r.period, r.mo_message_id)"
)
_ACCOUNT_JSON = (
    "json_build_array(a.number, a.language, a.time_zone, a.closed, a.opening::text, "
    "a.charges::text, a.penalties::text, a.payments::text, a.advance::text)"
)
_ITEMS_JSON = """
(SELECT coalesce(json_agg(json_build_array(i.period, i.principal::text, i.penalty::text,
                                           i.due_date)), '[]')
 FROM billing_open_items AS i WHERE i.account_number = a.number)
"""

# The function (migration 3, replaced by 7) runs the one statement that loads a
# reading's context, with a generic plan: planned once per connection, not per SMS.
_LOAD_CONTEXT = "SELECT * FROM billing_load_context($1, $2, $3, $4, $5, $6)"
# Several SMS's contexts in one round trip: the same function for each (phone $1,
# account hint $2, MO id $3), in the order asked.
_LOAD_CONTEXTS = """
SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
    AS t (msisdn, account_number, mo_message_id, n)
CROSS JOIN LATERAL billing_load_context(t.msisdn, t.account_number, t.mo_message_id,
                                        $4, $5, $6) AS c
ORDER BY t.n
"""

# Those of the keys (account, service, period) whose fixed charge is stored: read
# under the ledgers' lock, in a statement of its own (so in a snapshot taken after
# the lock was granted).
_FIXED_STORED = """
SELECT c.account_number, c.service, c.period FROM billing_charges AS c
JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (account_number, service, period)
  ON c.account_number = k.account_number AND c.service = k.service AND c.period = k.period
WHERE c.kind = 'fixed'
"""

_SETTINGS = """
SELECT settings FROM billing_utilities
WHERE id = coalesce($1::text, (SELECT id FROM billing_utilities ORDER BY is_default DESC, id
                               LIMIT 1))
"""

_LEDGERS = f"""
SELECT {_ACCOUNT_JSON}::text, {_ITEMS_JSON}::text
FROM billing_accounts AS a WHERE a.number = ANY($1::text[]) ORDER BY a.number
"""

# The ledgers of the accounts $1 (text[]), locked in one order (no deadlock between
# saves) and read in the same statement: each as its account's JSON array, its open
# items, and whether those are fresh. The locked row is the newest, but the items
# are read in the statement's snapshot: when the row changed since that snapshot
# (the lock was waited for), they are read again (see _locked_ledgers).
_LOCKED = f"""
locked AS (
    SELECT a.*, a.xmin AS version FROM billing_accounts AS a
    WHERE a.number = ANY ($1::text[]) ORDER BY a.number FOR UPDATE
), ledgers AS (
    SELECT json_agg(json_build_array(
               {_ACCOUNT_JSON}, {_ITEMS_JSON},
               a.version = (SELECT b.xmin FROM billing_accounts AS b WHERE b.number = a.number))
           ORDER BY a.number)::text AS ledgers
    FROM locked AS a
)"""

# An SMS's MO row ($2, see rules.mo_row) is the gate: stored already, the save
# writes nothing more. The ledgers its charges change are locked and read with it.
_SAVE_MO = f"""
WITH mo AS (
    INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent,
                            account_number, reply, rejection, balance_after)
    SELECT mo_message_id, msisdn, text, received_at, status, intent, account_number, reply,
           rejection, balance_after
    FROM (SELECT ($2::billing_mo).*) AS t
    ON CONFLICT (mo_message_id) DO NOTHING
    RETURNING 1
), {_LOCKED}
SELECT EXISTS (SELECT 1 FROM mo) AS saved, (SELECT ledgers FROM ledgers) AS ledgers
"""

# A batch of SMS's MO rows ($2): the ids of those stored now (the others were stored
# before: their saves write nothing), and the ledgers of the accounts $1, locked.
_SAVE_MOS = f"""
WITH mo AS (
    INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent,
                            account_number, reply, rejection, balance_after)
    SELECT mo_message_id, msisdn, text, received_at, status, intent, account_number, reply,
           rejection, balance_after
    FROM unnest($2::billing_mo[])
    ON CONFLICT (mo_message_id) DO NOTHING
    RETURNING mo_message_id
), {_LOCKED}
SELECT ARRAY(SELECT mo_message_id FROM mo) AS saved, (SELECT ledgers FROM ledgers) AS ledgers
"""

# A payment's reference ($2) stored already, and its account's ledger ($1), locked.
_PAYMENT_LOCK = f"""
WITH {_LOCKED}
SELECT EXISTS (SELECT 1 FROM billing_payments WHERE reference = $2) AS stored,
       (SELECT ledgers FROM ledgers) AS ledgers
"""


# The rest of an SMS's changes (see rules.AnswerRows: $1 readings, $2 status
# changes, $3 bindings, $4 charges, $5 and $6 the ledgers) and its reply's id ($8)
# kept on its MO ($7): one statement. For a batch of SMS, each parameter holds the
# rows of all of them, and $7 and $8 are arrays (MO ids, their replies' ids).
_CHANGES = (
    "WITH"
    + change_ctes(("$1", "$2", "$3", "$4", "$5", "$6")).replace("{", "{{").replace("}", "}}")
    + """, reply AS ({reply}
)
SELECT 1
"""
)
_SAVE_CHANGES = _CHANGES.format(
    reply="""
    UPDATE billing_mo SET reply_message_id = $8
    WHERE mo_message_id = $7 AND $8::bigint IS NOT NULL"""
)
# The MO rows are found by their keys ("= ANY"), whatever join the plan made once
# chose: billing_mo grows with every MO and is not analyzed at import.
_SAVE_BATCH_CHANGES = _CHANGES.format(
    reply="""
    UPDATE billing_mo AS m SET reply_message_id = t.reply_id
    FROM unnest($7::text[], $8::bigint[]) AS t (mo_message_id, reply_id)
    WHERE m.mo_message_id = ANY ($7::text[]) AND m.mo_message_id = t.mo_message_id"""
)

_NOTICE_INSERT = """
INSERT INTO billing_notices (kind, account_number, msisdn, text, created_at, send_at, service,
                             state, delivered_at, amount, payment_reference)
SELECT kind, account_number, msisdn, text, created_at, send_at, service, state, delivered_at,
       amount, payment_reference
FROM unnest({rows}::billing_notices[]) WITH ORDINALITY AS t
{where} ORDER BY t.ordinality
"""
_INSERT_NOTICES = _NOTICE_INSERT.format(rows="$1", where="") + "RETURNING id"

_IF_PAID = "EXISTS (SELECT 1 FROM payment)"
# A payment (see rules.PaymentRows: $1 the payment, $2 its allocations, $3 and
# $4 the ledger) and its notices ($5). The reference is unique: a payment of that
# reference saved since the lock was taken stops every write.
_SAVE_PAYMENT = f"""
WITH payment AS (
    INSERT INTO billing_payments (reference, account_number, amount, paid_on, period, advance)
    SELECT reference, account_number, amount, paid_on, period, advance
    FROM (SELECT ($1::billing_payments).*) AS t
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
), allocations AS (
    INSERT INTO billing_payment_allocations (payment_id, line, period, part, amount, due_date)
    SELECT payment.id, t.line, t.period, t.part, t.amount, t.due_date
    FROM payment, unnest($2::billing_payment_allocations[]) AS t
), {ledger_writes("$3", "$4", _IF_PAID)}, notices AS (
    {_NOTICE_INSERT.format(rows="$5", where="WHERE " + _IF_PAID)}
)
SELECT EXISTS (SELECT 1 FROM payment)
"""

_NOTICE_COLUMNS = """
n.id, n.kind, n.account_number, n.msisdn, n.text, to_json(n.created_at) #>> '{}',
to_json(n.send_at) #>> '{}', n.service, n.state, to_json(n.delivered_at) #>> '{}',
n.amount::text
"""
_GET_NOTICE = f"""
SELECT {_NOTICE_COLUMNS}, n.message_id FROM billing_notices AS n WHERE n.id = $1
"""
_RECENT_NOTICES = f"""
SELECT {_NOTICE_COLUMNS}, n.message_id FROM billing_notices AS n
WHERE n.account_number = $1 ORDER BY n.id DESC LIMIT $2
"""
_SENT_WARNINGS = f"""
SELECT {_NOTICE_COLUMNS}, n.notice_key, n.message_id FROM billing_notices AS n
WHERE n.kind = 'disconnection_warning' AND n.message_id IS NOT NULL AND n.created_at >= $1
  AND n.account_number IN (SELECT number FROM billing_accounts WHERE utility_id = coalesce(
      $2, (SELECT id FROM billing_utilities ORDER BY is_default DESC, id LIMIT 1)))
ORDER BY n.id
"""
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
    coalesce((SELECT m.state FROM messages AS m WHERE m.id = n.message_id), 'unqueued') AS state,
    count(*) AS n
FROM billing_notices AS n
WHERE n.id > coalesce((
    SELECT b.id FROM billing_notices AS b
    WHERE (SELECT q.created_at FROM messages AS q WHERE q.id = b.message_id) < $1
    ORDER BY b.id DESC LIMIT 1), 0)
GROUP BY 1, 2
"""
# One account's, through billing_notices_account.
_ACCOUNT_WARNINGS = f"""
SELECT {_NOTICE_COLUMNS}, n.notice_key, n.message_id FROM billing_notices AS n
WHERE n.account_number = $1 AND n.kind = 'disconnection_warning' AND n.created_at >= $2
  AND n.message_id IS NOT NULL
ORDER BY n.id
"""
_UNQUEUED_NOTICES = f"""
SELECT {_NOTICE_COLUMNS} FROM billing_notices AS n
WHERE n.payment_reference = $1 AND n.message_id IS NULL ORDER BY n.id
"""
# A notice counts (as a warning under way, or against the caps) unless its
# message is known not to have reached the phone.
_FAILED_LIST = ", ".join(repr(s.value) for s in sorted(FAILED_STATES))
_NOT_FAILED = (
    "NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = billing_notices.message_id "
    f"AND m.state IN ({_FAILED_LIST}))"
)
_NOTICE_CONTEXT = f"""
WITH a AS (SELECT * FROM billing_accounts WHERE number = $1),
regs AS (
    SELECT g.id FROM billing_registers AS g
    JOIN billing_meters AS m ON m.id = g.meter_id
    JOIN billing_service_points AS p ON p.id = m.service_point_id
    WHERE p.account_number = $1
)
SELECT
    (SELECT u.settings FROM billing_utilities AS u WHERE u.id = (SELECT utility_id FROM a))
        AS settings,
    (SELECT json_build_array({_ACCOUNT_JSON}, {_ITEMS_JSON}) FROM a) AS account,
    (SELECT coalesce(json_agg(json_build_array(msisdn, account_number, opted_out)
                              ORDER BY msisdn), '[]')
     FROM billing_bindings WHERE account_number = $1) AS bindings,
    (SELECT coalesce(json_agg(json_build_array(c.period, c.service, c.amount::text)), '[]')
     FROM billing_charges AS c
     WHERE c.account_number = $1 AND c.period IN (
        SELECT DISTINCT period FROM billing_charges WHERE account_number = $1
        ORDER BY period DESC LIMIT $2)) AS charges,
    (SELECT coalesce(json_agg(json_build_array(service, created_at)), '[]') FROM billing_notices
     WHERE account_number = $1 AND kind = $3 AND {_NOT_FAILED} AND created_at >= $4
       AND service IS NOT NULL) AS warned,
    (SELECT coalesce(json_agg(json_build_array(msisdn, coalesce(send_at, created_at))), '[]')
     FROM billing_notices
     WHERE account_number = $1 AND kind = $5 AND {_NOT_FAILED}
       AND coalesce(send_at, created_at) >= $6) AS capped,
    (SELECT max(period) FROM billing_readings
     WHERE status = 'accepted' AND register_id IN (SELECT id FROM regs)) AS last_period,
    (SELECT coalesce(json_agg(json_build_array(m.serial, p.service, m.verification_date)
                              ORDER BY m.position, m.id), '[]')
     FROM billing_service_points AS p JOIN billing_meters AS m ON m.service_point_id = p.id
     WHERE p.account_number = $1 AND m.verification_date IS NOT NULL
       AND m.status <> 'removed') AS verifications
"""


# A page of a utility's accounts ($1 utility, after $2, $3 of them) and what a notices
# run needs of them, as the rows of rows.notice_contexts (JSON: ISO times, numeric
# text): $4 months of charges, $5 the warning kind, $6 warnings since, $7 the kinds
# the caps count, $8 counted since, $9 the same as epoch seconds (campaign messages),
# $10 keys since. A phone's capped sends are its notices of every account. Each part
# is read per account or phone (LATERAL, through its index; ``OFFSET 0`` keeps a
# subquery from being flattened into a join): a join planned from stale statistics
# would scan a whole table for every page, and a run would grow with the square of
# the accounts.
_NOTICE_PAGE = f"""
WITH a AS (
    SELECT * FROM billing_accounts WHERE utility_id = $1 AND number > $2
    ORDER BY utility_id, number LIMIT $3
), b AS (
    SELECT t.* FROM a CROSS JOIN LATERAL (
        SELECT msisdn, account_number, opted_out FROM billing_bindings
        WHERE account_number = a.number OFFSET 0) AS t
), phones AS (
    SELECT DISTINCT msisdn FROM b
)
SELECT
    (SELECT coalesce(json_agg({_ACCOUNT_JSON} ORDER BY a.number), '[]') FROM a)::text
        AS accounts,
    (SELECT coalesce(json_agg(json_build_array(i.account_number, i.period, i.principal::text,
                                               i.penalty::text, i.due_date)), '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT * FROM billing_open_items WHERE account_number = a.number OFFSET 0) AS i)::text
        AS items,
    (SELECT coalesce(json_agg(json_build_array(msisdn, account_number, opted_out)
                              ORDER BY account_number, msisdn), '[]') FROM b)::text
        AS bindings,
    (SELECT coalesce(json_agg(json_build_array(a.number, t.period, t.service, t.amount::text)),
                     '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT c.period, c.service, sum(c.amount) AS amount FROM billing_charges AS c
        WHERE c.account_number = a.number AND c.period IN (
            SELECT DISTINCT period FROM billing_charges WHERE account_number = a.number
            ORDER BY period DESC LIMIT $4)
        GROUP BY c.period, c.service) AS t)::text AS charges,
    (SELECT coalesce(json_agg(json_build_array(a.number, t.service, t.created_at)), '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT service, created_at FROM billing_notices
        WHERE account_number = a.number AND kind = $5 AND {_NOT_FAILED}
          AND created_at >= $6 AND service IS NOT NULL OFFSET 0) AS t)::text AS warned,
    (SELECT coalesce(json_agg(json_build_array(phones.msisdn, t.at)), '[]')
     FROM phones CROSS JOIN LATERAL (
        SELECT coalesce(send_at, created_at) AS at FROM billing_notices
        WHERE msisdn = phones.msisdn AND kind = ANY ($7::text[])
          AND {_NOT_FAILED} AND coalesce(send_at, created_at) >= $8
        UNION ALL
        SELECT to_timestamp(greatest(m.not_before, m.created_at)) FROM messages AS m
        WHERE m.campaign_id IS NOT NULL
          -- The messages' collation, or their index on destination is not used.
          AND m.destination = phones.msisdn COLLATE "default"
          AND greatest(m.not_before, m.created_at) >= $9
          AND m.state NOT IN ({_FAILED_LIST}) OFFSET 0) AS t)::text AS capped,
    (SELECT coalesce(json_agg(json_build_array(a.number, t.last)), '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT max(last.period) AS last
        FROM (SELECT id FROM billing_service_points WHERE account_number = a.number OFFSET 0)
            AS p
        CROSS JOIN LATERAL (SELECT id FROM billing_meters WHERE service_point_id = p.id
                            OFFSET 0) AS m
        CROSS JOIN LATERAL (SELECT id FROM billing_registers WHERE meter_id = m.id
                            OFFSET 0) AS g
        CROSS JOIN LATERAL (
            SELECT max(r.period) AS period FROM billing_readings AS r
            WHERE r.register_id = g.id AND r.status = 'accepted') AS last) AS t
     WHERE t.last IS NOT NULL)::text AS last,
    (SELECT coalesce(json_agg(json_build_array(a.number, t.notice_key)), '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT notice_key FROM billing_notices
        WHERE account_number = a.number AND notice_key IS NOT NULL
          AND created_at >= $10 OFFSET 0) AS t)::text AS keys,
    (SELECT coalesce(json_agg(json_build_array(a.number, t.serial, t.service,
                                               t.verification_date)
                              ORDER BY a.number, t.position, t.id), '[]')
     FROM a CROSS JOIN LATERAL (
        SELECT m.serial, p.service, m.verification_date, m.position, m.id
        FROM (SELECT id, service FROM billing_service_points WHERE account_number = a.number
              OFFSET 0) AS p
        JOIN billing_meters AS m ON m.service_point_id = p.id
        WHERE m.verification_date IS NOT NULL AND m.status <> 'removed') AS t)::text
        AS verifications
"""
#: _NOTICE_PAGE's columns, in the order of rows.notice_contexts's parameters.
_NOTICE_PAGE_COLUMNS = (
    "accounts", "items", "bindings", "charges", "warned", "capped", "last", "keys",
    "verifications",
)  # fmt: skip

# A run's notices ($1): each key stored once (a notice stored before is left as it is).
_INSERT_KEYED_NOTICES = """
INSERT INTO billing_notices (kind, account_number, msisdn, text, created_at, send_at, service,
                             state, delivered_at, amount, payment_reference, notice_key)
SELECT kind, account_number, msisdn, text, created_at, send_at, service, state, delivered_at,
       amount, payment_reference, notice_key
FROM unnest($1::billing_notices[]) WITH ORDINALITY AS t ORDER BY t.ordinality
ON CONFLICT (notice_key) WHERE notice_key IS NOT NULL DO NOTHING
"""
# The run notices of the accounts $1 not queued yet: this run's, and those a run that
# stopped before queueing them left.
_UNQUEUED_RUN_NOTICES = f"""
SELECT {_NOTICE_COLUMNS}, n.notice_key FROM billing_notices AS n
WHERE n.account_number = ANY ($1::text[]) AND n.notice_key IS NOT NULL
  AND n.message_id IS NULL ORDER BY n.id
"""


# A close's batch ($1 utility, after $2, $3 of them): the open accounts locked, in
# number order. What they hold is then read in a statement of its own, so in a
# snapshot taken once the locks are held.
_CLOSE_LOCK = """
SELECT number FROM billing_accounts
WHERE utility_id = $1 AND number > $2 AND NOT closed ORDER BY number LIMIT $3 FOR UPDATE
"""
# What billing_core.close_accounts needs of the accounts $1 for the period $2 and
# the utility $3, as the rows of rows.accounts_to_close (JSON: ISO times and dates,
# numeric text).
_CLOSE_LOAD = f"""
WITH meters AS (
    SELECT m.*, p.account_number, p.service FROM billing_meters AS m
    JOIN billing_service_points AS p ON p.id = m.service_point_id
    WHERE p.account_number = ANY ($1::text[])
), regs AS (
    SELECT g.* FROM billing_registers AS g WHERE g.meter_id IN (SELECT id FROM meters)
), hist AS (
    SELECT last.* FROM regs, LATERAL (
        SELECT * FROM billing_readings AS r
        WHERE r.register_id = regs.id AND r.status = 'accepted'
        ORDER BY r.taken_at DESC, r.id DESC LIMIT {rows.HISTORY_LIMIT}
    ) AS last
)
SELECT
    (SELECT coalesce(json_agg(json_build_array(a.number, a.language, a.time_zone, a.closed,
        a.opening::text, a.charges::text, a.penalties::text, a.payments::text, a.advance::text)
        ORDER BY a.number), '[]')
     FROM billing_accounts AS a WHERE a.number = ANY ($1::text[]))::text AS accounts,
    (SELECT coalesce(json_agg(json_build_array(i.account_number, i.period, i.principal::text,
                                               i.penalty::text, i.due_date)), '[]')
     FROM billing_open_items AS i WHERE i.account_number = ANY ($1::text[]))::text AS items,
    (SELECT coalesce(json_agg(json_build_array(p.account_number, p.service)), '[]')
     FROM billing_service_points AS p WHERE p.account_number = ANY ($1::text[]))::text
        AS services,
    (SELECT coalesce(json_agg(json_build_array(m.account_number, m.id, m.serial,
        m.service_point_id, m.service, m.digits, m.decimals, m.multiplier::text, m.status,
        (SELECT json_agg(json_build_array(g.id, g.zone) ORDER BY g.position, g.id)
         FROM regs AS g WHERE g.meter_id = m.id))
        ORDER BY m.account_number, m.position, m.id), '[]') FROM meters AS m)::text AS meters,
    (SELECT coalesce(json_agg({_READING_JSON}), '[]') FROM hist AS r)::text AS readings,
    (SELECT coalesce(json_agg(json_build_array(t.id, t.service, t.zone, t.valid_from,
                                               t.valid_to, t.pricing)
                              ORDER BY t.service, t.valid_from, t.id), '[]')
     FROM billing_tariffs AS t WHERE t.utility_id = $3)::text AS tariffs,
    (SELECT coalesce(json_agg(DISTINCT jsonb_build_array(m.account_number, m.id)), '[]')
     FROM billing_readings AS r JOIN regs AS g ON g.id = r.register_id
     JOIN meters AS m ON m.id = g.meter_id
     WHERE r.status = 'accepted' AND r.period = $2)::text AS read,
    (SELECT coalesce(json_agg(json_build_array(c.account_number, c.service)), '[]')
     FROM billing_charges AS c
     WHERE c.account_number = ANY ($1::text[]) AND c.kind = 'fixed' AND c.period = $2)::text
        AS fixed,
    (SELECT coalesce(json_agg(json_build_array(t.account_number, t.period, t.amount::text)),
                     '[]')
     FROM (SELECT account_number, period, sum(amount) AS amount FROM billing_penalties
           WHERE account_number = ANY ($1::text[]) GROUP BY account_number, period) AS t)::text
        AS accrued,
    (SELECT coalesce(json_agg(json_build_array(p.account_number, a.period, p.paid_on,
                                               a.amount::text, a.due_date)), '[]')
     FROM billing_payment_allocations AS a JOIN billing_payments AS p ON p.id = a.payment_id
     WHERE p.account_number = ANY ($1::text[]) AND a.part = 'principal')::text AS paid,
    -- Billed after their due date (a day early, at the latest: the local day is the core's).
    (SELECT coalesce(json_agg(json_build_array(c.account_number, c.period, c.billed_at,
                                               c.amount::text)), '[]')
     FROM billing_charges AS c
     WHERE c.account_number = ANY ($1::text[]) AND c.billed_at IS NOT NULL
       AND c.billed_at >= c.due_date - 1)::text AS late
"""
# A close's rows (see rules.CloseRows: $1 readings, $2 charges, $3 penalties, $4 and $5
# the ledgers), in one statement.
_CLOSE_WRITE = f"""
WITH readings AS (
    INSERT INTO billing_readings (register_id, value, taken_at, received_at, source, status,
                                  period, mo_message_id)
    SELECT register_id, value, taken_at, received_at, source, status, period, mo_message_id
    FROM unnest($1::billing_readings[])
), charges AS (
    INSERT INTO billing_charges (account_number, period, service, meter_id, start_on, end_on,
                                 due_date, amount, lines, mo_message_id, kind, billed_at)
    SELECT account_number, period, service, meter_id, start_on, end_on, due_date, amount,
           lines, mo_message_id, kind, billed_at
    FROM unnest($2::billing_charges[])
), penalties AS (
    INSERT INTO billing_penalties (account_number, period, closed_period, through, amount)
    SELECT account_number, period, closed_period, through, amount
    FROM unnest($3::billing_penalties[])
), {ledger_writes("$4", "$5", "true")}
SELECT 1
"""


#: _CLOSE_LOAD's columns, in the order of rows.accounts_to_close's parameters.
_CLOSE_COLUMNS = (
    "accounts",
    "items",
    "services",
    "meters",
    "readings",
    "tariffs",
    "read",
    "fixed",
    "accrued",
    "paid",
    "late",
)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _ledger_of(document: Sequence[Any]) -> tuple[str, Ledger]:
    """(number, ledger) from an account JSON array followed by its open items."""
    return document[0], rows.ledger(document[4:9], document[9])


class PostgresBilling(rows.UtilitySettingsCache):
    """The :class:`BillingRepository` part of :class:`~.postgres.PostgresStore`."""

    _pool: Any
    _planned: Any  # connections that plan once (see :mod:`..postgres`)

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    async def load_settings(self, utility_id: str | None = None) -> UtilitySettings:
        """A utility's settings (the default one when ``utility_id`` is None)."""
        utility = utility_id or self.billing_utility
        text = await self._run("load_settings", self._fetchval, _SETTINGS, utility)
        if text is None:
            raise NoBillingUtilityError(_NAME, "load_settings", utility)
        return self._settings_cache().get(text)

    async def _fetchval(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchval(query, *args)

    async def _fetchrow(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchrow(query, *args)

    async def load_context(
        self, *, msisdn: str, account_number: str | None, mo_message_id: str, now: datetime
    ) -> ReadingContext:
        r = await self._run(
            "load_context",
            self._fetchrow,
            _LOAD_CONTEXT,
            msisdn,
            account_number,
            mo_message_id,
            *self._context_arguments(now),
        )
        return self._context_of(r, msisdn)

    async def load_contexts(
        self, asked: Sequence[ContextAsked], *, now: datetime
    ) -> list[ReadingContext]:
        """The contexts of several SMS (phone, account hint, MO id) at ``now``, in the
        order asked, in one round trip: each as :meth:`load_context` reads it."""
        if not asked:
            return []
        return await self._run("load_context", self._load_contexts, list(asked), now)

    async def _load_contexts(
        self, asked: list[ContextAsked], now: datetime
    ) -> list[ReadingContext]:
        async with self._pool.acquire() as connection:
            return await self._contexts_on(connection, asked, now)

    async def _contexts_on(
        self, connection: Any, asked: list[ContextAsked], now: datetime
    ) -> list[ReadingContext]:
        """The contexts of ``asked`` (at least one), read on ``connection``."""
        if len(asked) == 1:
            # One MO: the function called alone costs less than the batch's join.
            found = [
                await connection.fetchrow(_LOAD_CONTEXT, *asked[0], *self._context_arguments(now))
            ]
        else:
            columns = [list(column) for column in zip(*asked, strict=True)]
            found = await connection.fetch(_LOAD_CONTEXTS, *columns, *self._context_arguments(now))
        return [self._context_of(r, a[0]) for r, a in zip(found, asked, strict=True)]

    def _context_arguments(self, now: datetime) -> tuple[str | None, datetime, str]:
        """billing_load_context's arguments after the MO's own: the utility, ``now``
        and the oldest period whose fixed charges it returns."""
        return self.billing_utility, now, str(fixed_charges_since(now))

    def _context_of(self, r: Any, msisdn: str) -> ReadingContext:
        if r["settings"] is None:
            raise NoBillingUtilityError(_NAME, "load_context")
        settings = self._settings_cache().get(r["settings"])
        account = _loads(r["account"])
        if account is None:
            return rows.reading_context(
                settings, msisdn, json.loads(r["bindings"]), r["seen"], None, None, (), (), (), ()
            )
        head, items = account
        return rows.reading_context(
            settings,
            msisdn,
            json.loads(r["bindings"]),
            r["seen"],
            head[:4],
            head[4:9],
            items,
            json.loads(r["meters"]),
            json.loads(r["readings"]),
            json.loads(r["tariffs"]),
            json.loads(r["fixed"]),
        )

    async def save_outcome(self, outcome: Outcome) -> bool:
        if not outcome.persists:
            raise ValueError("an ALREADY_PROCESSED outcome is not saved")
        return await self._run("save_outcome", self._save_outcome, outcome)

    async def _save_outcome(self, o: Outcome) -> bool:
        async with self._pool.acquire() as connection, planned_once(connection):
            return (await _save_answer(connection, o, None, 0.0, None)).saved

    async def load_ledger(self, account_number: str) -> Ledger:
        found = await self._run("load_ledger", self._fetchrow, _LEDGERS, [account_number])
        if found is None:
            raise rows.UnknownAccountError(account_number)
        return _ledger_of([*json.loads(found[0]), json.loads(found[1])])[1]

    async def save_payment(self, posting: PaymentPosting) -> bool:
        saved = await self._run("save_payment", self._save_payment, posting, None)
        if saved is None:
            raise rows.UnknownAccountError(posting.payment.account_number)
        return saved

    async def _save_payment(
        self,
        posting: PaymentPosting,
        confirmations: Callable[[PaymentPosting], Sequence[NoticeRecord]] | None,
    ) -> bool | None:
        payment = posting.payment
        number = payment.account_number
        async with self._pool.acquire() as connection, planned_once(connection):
            found = await connection.fetchrow(_PAYMENT_LOCK, [number], payment.reference)
            if found["stored"]:
                return False
            stored = await _locked_ledgers(connection, [number], found["ledgers"])
            if number not in stored:
                return None
            posting = rules.payment_as_stored(posting, stored[number])
            write = rules.payment_rows(posting, stored[number])
            notices = [] if confirmations is None else confirmations(posting)
            saved: bool = await connection.fetchval(
                _SAVE_PAYMENT,
                write.payment,
                write.allocations,
                write.ledgers.accounts,
                write.ledgers.open_items,
                rules.notice_rows(notices, payment.reference),
            )
        return saved

    async def find_payment(self, reference: str) -> Payment | None:
        found = await self._run(
            "find_payment",
            self._fetchrow,
            "SELECT id, account_number, amount::text, paid_on::text, reference, period "
            "FROM billing_payments WHERE reference = $1",
            reference,
        )
        return None if found is None else rows.payment(tuple(found))

    async def load_notice_context(self, account_number: str, *, now: datetime) -> NoticeContext:
        r = await self._run(
            "load_notice_context",
            self._fetchrow,
            _NOTICE_CONTEXT,
            account_number,
            rows.AVERAGE_MONTHS + 12,
            NoticeKind.DISCONNECTION_WARNING.value,
            now - rules.WARNINGS_LOOKED_AT,
            NoticeKind.DEBT.value,
            rules.capped_since(now),
        )
        if r["account"] is None:
            raise rows.UnknownAccountError(account_number)
        settings = self._settings_cache().get(r["settings"])
        since = rules.warned_since(settings, now)
        warned = {service for service, at in json.loads(r["warned"]) if parse_time(at) >= since}
        head, items = json.loads(r["account"])
        return rows.notice_context(
            settings,
            head[:4],
            json.loads(r["bindings"]),
            head[4:9],
            items,
            json.loads(r["charges"]),
            warned,
            json.loads(r["capped"]),
            r["last_period"],
            json.loads(r["verifications"]),
        )

    async def load_notice_contexts(
        self, settings: UtilitySettings, *, now: datetime, after: str = "", limit: int = CLOSE_BATCH
    ) -> list[NoticeContext]:
        found = await self._run(
            "load_notice_contexts",
            self._fetch_by_keys,
            _NOTICE_PAGE,
            settings.utility_id,
            after,
            limit,
            rows.AVERAGE_MONTHS + 12,
            NoticeKind.DISCONNECTION_WARNING.value,
            now - rules.WARNINGS_LOOKED_AT,
            sorted(k.value for k in CAP_COUNTED),
            rules.capped_since(now),
            rules.capped_since(now).timestamp(),
            now - rules.KEYS_KEPT,
        )
        return rows.notice_contexts(
            settings,
            rules.warned_since(settings, now),
            *(json.loads(found[column]) for column in _NOTICE_PAGE_COLUMNS),
        )

    async def _fetch_by_keys(self, query: str, *args: Any) -> Any:
        """One row of a statement of keyed lookups, sequential scans ruled out (see
        :mod:`..postgres_plans`): its plan must not scan a table for each account of a
        page."""
        async with self._pool.acquire() as connection, connection.transaction(readonly=True):
            await connection.execute("SET LOCAL enable_seqscan = off")
            return await connection.fetchrow(query, *args)

    async def save_run_notices(
        self, notices: Sequence[NoticeRecord], accounts: Sequence[str]
    ) -> list[NoticeRecord]:
        return await self._run(
            "save_run_notices", self._save_run_notices, list(notices), list(accounts)
        )

    async def _save_run_notices(
        self, notices: list[NoticeRecord], accounts: list[str]
    ) -> list[NoticeRecord]:
        async with self._pool.acquire() as connection, connection.transaction():
            if notices:
                await connection.execute(_INSERT_KEYED_NOTICES, rules.notice_rows(notices, None))
            found = await connection.fetch(_UNQUEUED_RUN_NOTICES, accounts)
        return [rows.keyed_notice(tuple(r)) for r in found]

    async def save_notices(self, notices: Sequence[NoticeRecord]) -> list[int]:
        return await self._run("save_notices", self._save_notices, list(notices))

    async def _save_notices(self, notices: list[NoticeRecord]) -> list[int]:
        async with self._pool.acquire() as connection:
            return await _insert_notices(connection, notices, None)

    async def save_payment_with_notices(
        self,
        posting: PaymentPosting,
        confirmations: Callable[[PaymentPosting], Sequence[NoticeRecord]],
    ) -> bool:
        saved = await self._run("save_payment", self._save_payment, posting, confirmations)
        if saved is None:
            raise rows.UnknownAccountError(posting.payment.account_number)
        return saved

    async def unqueued_notices(self, payment_reference: str) -> list[NoticeRecord]:
        found = await self._run(
            "unqueued_notices", self._fetch, _UNQUEUED_NOTICES, payment_reference
        )
        return [rows.notice(tuple(r)) for r in found]

    async def _fetch(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetch(query, *args)

    async def link_notices(self, links: Sequence[tuple[int, int]]) -> None:
        await self._run(
            "link_notices",
            self._fetch,
            "UPDATE billing_notices AS n SET message_id = t.message_id "
            "FROM unnest($1::bigint[], $2::bigint[]) AS t (id, message_id) WHERE n.id = t.id",
            [notice_id for notice_id, _ in links],
            [message_id for _, message_id in links],
        )

    async def load_notice(self, notice_id: int) -> StoredNotice | None:
        found = await self._run("load_notice", self._fetchrow, _GET_NOTICE, notice_id)
        if found is None:
            return None
        return StoredNotice(rows.notice(tuple(found)[:11]), found["message_id"])

    async def recent_notices(self, account_number: str, *, limit: int) -> list[StoredNotice]:
        found = await self._run(
            "recent_notices", self._fetch, _RECENT_NOTICES, account_number, limit
        )
        return [StoredNotice(rows.notice(tuple(r)[:11]), r["message_id"]) for r in found]

    async def sent_warnings(
        self,
        *,
        since: datetime,
        utility_id: str | None = None,
        account_number: str | None = None,
    ) -> list[StoredNotice]:
        if account_number is not None:
            found = await self._run(
                "sent_warnings", self._fetch, _ACCOUNT_WARNINGS, account_number, since
            )
        else:
            found = await self._run(
                "sent_warnings",
                self._fetch,
                _SENT_WARNINGS,
                since,
                utility_id or self.billing_utility,
            )
        return [StoredNotice(rows.keyed_notice(tuple(r)[:12]), r["message_id"]) for r in found]

    async def notice_states(self, *, since: datetime) -> dict[tuple[str, str], int]:
        found = await self._run("notice_states", self._fetch, _NOTICE_STATES, since.timestamp())
        return {(r["kind"], r["state"]): r["n"] for r in found}

    async def reply_message_id(self, mo_message_id: str) -> int | None:
        found: int | None = await self._run(
            "reply_message_id",
            self._fetchval,
            "SELECT reply_message_id FROM billing_mo WHERE mo_message_id = $1",
            mo_message_id,
        )
        return found

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
        return await self._run(
            "save_answer", self._save_answer, outcome, reply, now, lease, restate
        )

    async def _save_answer(
        self,
        outcome: Outcome,
        reply: NewMessage | None,
        now: float,
        lease: ReplyLease | None,
        restate: Restate | None,
    ) -> SavedAnswer:
        async with self._pool.acquire() as connection, planned_once(connection):
            return await _save_answer(connection, outcome, reply, now, lease, restate=restate)

    async def save_answers(self, answers: Sequence[AnswerToSave]) -> list[SavedAnswer]:
        """Save several SMS's outcomes with their replies in one transaction, each as
        :meth:`save_answer` would (an MO stored before saves nothing of its own), in a
        statement per kind of row. Their accounts must differ: each is charged on its
        ledger as stored, not on another's of the same batch (ValueError). One error
        rolls the whole batch back: nothing of it is saved."""
        _check_batch(answers)
        if not answers:
            return []
        return await self._run("save_answer", self._save_answers, list(answers))

    async def _save_answers(self, answers: list[AnswerToSave]) -> list[SavedAnswer]:
        async with self._pool.acquire() as connection, planned_once(connection):
            return await _save_answers(connection, answers)

    async def answer(
        self,
        asked: Sequence[ContextAsked],
        *,
        now: datetime,
        decide: Callable[[list[ReadingContext]], Sequence[AnswerToSave]],
    ) -> list[SavedAnswer]:
        """:meth:`load_contexts`, then ``decide`` on the contexts, then :meth:`save_answers`
        of the answers it returns, in one call to the store's loop: the gateway's
        thread and the loop's hand over once per batch, not twice. When the ledgers
        charged are still the ones loaded (almost always), the save is one statement
        (see :mod:`.postgres_unchanged`).

        ``decide`` runs on the loop's thread: it must be pure (the billing core's
        work: no trio, no I/O). What it raises is raised here as it is, not as a
        store error, and nothing is saved. The answers saved are in ``decide``'s order.
        """
        if not asked:
            return []
        raised: list[Exception] = []
        saved = await self._run("answer", self._answer, list(asked), now, decide, raised)
        if raised:
            raise raised[0]
        return saved

    async def _answer(
        self,
        asked: list[ContextAsked],
        now: datetime,
        decide: Callable[[list[ReadingContext]], Sequence[AnswerToSave]],
        raised: list[Exception],
    ) -> list[SavedAnswer]:
        async with self._planned.acquire() as connection:
            contexts = await self._contexts_on(connection, asked, now)
            try:
                answers = list(decide(contexts))
                _check_batch(answers)
            except Exception as exc:  # the caller's fault, not the store's: raised as it is
                raised.append(exc)
                return []
            if not answers:
                return []
            loaded = {c.account.account.number: c.account.ledger for c in contexts if c.account}
            saved = await save_if_unchanged(connection, answers, loaded)
            if saved is not None:
                return saved
            # A ledger changed since it was loaded (or an MO was stored meanwhile):
            # saved under the ledgers' lock, on them as they stand.
            async with planned_once(connection):
                if len(answers) == 1:
                    (a,) = answers
                    one = await _save_answer(
                        connection, a.outcome, a.reply, a.now, a.lease, restate=a.restate
                    )
                    return [one]
                return await _save_answers(connection, answers)

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
            closed, after = await self._run(
                "close_period", self._close_batch, settings, period, after, batch_size, now
            )
            summary = summary.add(closed)
        return summary

    async def _close_batch(
        self, settings: UtilitySettings, period: Period, after: str, size: int, now: datetime
    ) -> tuple[list[AccountClosed], str | None]:
        async with self._pool.acquire() as connection, connection.transaction():
            locked = await connection.fetch(_CLOSE_LOCK, settings.utility_id, after, size)
            if not locked:
                return [], None
            numbers = [r[0] for r in locked]
            r = await connection.fetchrow(_CLOSE_LOAD, numbers, str(period), settings.utility_id)
            accounts = rows.accounts_to_close(*(json.loads(r[column]) for column in _CLOSE_COLUMNS))
            closed = close_accounts(accounts, period, settings, now=now)
            write = rules.close_rows(closed, now)
            await connection.execute(
                _CLOSE_WRITE,
                write.readings,
                write.charges,
                write.penalties,
                write.ledgers.accounts,
                write.ledgers.open_items,
            )
            return closed, numbers[-1]

    async def copy_billing_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not table.startswith("billing_"):
            raise ValueError(f"table: not a billing table: {table!r}")
        await self._run("copy_billing_rows", self._copy, table, list(columns), list(rows))

    async def _copy(self, table: str, columns: list[str], records: list[Sequence[Any]]) -> None:
        async with self._pool.acquire() as connection:
            await connection.copy_records_to_table(table, columns=columns, records=records)
            # Fresh statistics, or the planner takes the bulk-loaded table for empty.
            await connection.execute(f"ANALYZE {table}")

    async def write_billing_import(
        self, batch: ImportBatch
    ) -> tuple[dict[str, int], list[ImportProblem]]:
        """Write checked import rows in one transaction (see :mod:`.importing`)."""
        return await self._run("billing_import", self._write_import, batch)

    async def _write_import(self, batch: ImportBatch) -> tuple[dict[str, int], list[ImportProblem]]:
        async with self._pool.acquire() as connection, connection.transaction():
            return await _write_import(connection, batch)


def _check_batch(answers: Sequence[AnswerToSave]) -> None:
    """Answers saved together persist, and charge no account twice (ValueError)."""
    touched: set[str] = set()
    for answer in answers:
        if not answer.outcome.persists:
            raise ValueError("an ALREADY_PROCESSED outcome is not saved")
        accounts = set(rules.charged_accounts(answer.outcome))
        if answer.outcome.account_number is not None:
            accounts.add(answer.outcome.account_number)
        if shared := accounts & touched:
            raise ValueError(f"two answers of one batch charge account {min(shared)}")
        touched |= accounts


async def _insert_notices(
    connection: Any, notices: list[NoticeRecord], payment_reference: str | None
) -> list[int]:
    if not notices:
        return []
    found = await connection.fetch(_INSERT_NOTICES, rules.notice_rows(notices, payment_reference))
    return [r["id"] for r in found]


async def _locked_ledgers(
    connection: Any, numbers: list[str], locked: str | None
) -> dict[str, Ledger]:
    """The stored ledgers of ``numbers`` (those stored) from ``locked`` (see _LOCKED),
    read again when one changed while its lock was waited for."""
    documents = [] if locked is None else json.loads(locked)
    if not all(fresh for _account, _items, fresh in documents):
        found = await connection.fetch(_LEDGERS, numbers)
        documents = [(json.loads(r[0]), json.loads(r[1]), True) for r in found]
    return dict(_ledger_of([*account, items]) for account, items, _fresh in documents)


async def _fixed_stored(connection: Any, keys: list[rules.FixedKey]) -> set[rules.FixedKey]:
    """Those of ``keys`` whose fixed charge is stored (no query when there are none)."""
    if not keys:
        return set()
    found = await connection.fetch(
        _FIXED_STORED, *(list(column) for column in zip(*keys, strict=True))
    )
    return {(r[0], r[1], r[2]) for r in found}


async def _save_answer(
    connection: Any,
    o: Outcome,
    reply: NewMessage | None,
    now: float,
    lease: ReplyLease | None,
    *,
    restate: Restate | None = None,
) -> SavedAnswer:
    """Save an SMS's outcome and accept its reply, in the caller's transaction."""
    numbers = rules.charged_accounts(o)
    gate = await connection.fetchrow(_SAVE_MO, numbers, rules.mo_row(o))
    if not gate["saved"]:
        return SavedAnswer(saved=False)
    ledgers = await _locked_ledgers(connection, numbers, gate["ledgers"])
    write = rules.answer_rows(o, ledgers, await _fixed_stored(connection, rules.fixed_keys(o)))
    if write.restated is not None and reply is not None and restate is not None:
        reply = restate(write.dropped, write.restated)
    accepted = None
    if reply is not None:
        (accepted,) = await accept_messages(connection, [reply], now, lease=lease)
    await connection.execute(
        _SAVE_CHANGES,
        *change_arrays([write]),
        o.mo_message_id,
        None if accepted is None else accepted.message_id,
    )
    return rules.saved_answer(reply, accepted, lease)


async def _save_answers(connection: Any, answers: list[AnswerToSave]) -> list[SavedAnswer]:
    """Save SMS outcomes (of different accounts) and accept their replies, in the
    caller's transaction: the MO gate and the ledgers' lock in one statement, the
    fixed charges stored in one, the replies in one accept per lease, the other rows
    in one."""
    numbers = sorted({n for a in answers for n in rules.charged_accounts(a.outcome)})
    gate = await connection.fetchrow(_SAVE_MOS, numbers, [rules.mo_row(a.outcome) for a in answers])
    stored = set(gate["saved"])
    saving = [a for a in answers if a.outcome.mo_message_id in stored]
    ledgers = await _locked_ledgers(connection, numbers, gate["ledgers"])
    keys = [k for a in saving for k in rules.fixed_keys(a.outcome)]
    fixed = await _fixed_stored(connection, keys)
    writes: list[rules.AnswerRows] = []
    replies: list[NewMessage | None] = []
    for a in saving:
        mine = {n: ledgers[n] for n in rules.charged_accounts(a.outcome) if n in ledgers}
        write = rules.answer_rows(a.outcome, mine, fixed)
        reply = a.reply
        if write.restated is not None and reply is not None and a.restate is not None:
            reply = a.restate(write.dropped, write.restated)
        writes.append(write)
        replies.append(reply)
    accepted: dict[int, Accepted] = {}
    by_lease: dict[tuple[float, ReplyLease | None], list[int]] = {}
    for i, (a, reply) in enumerate(zip(saving, replies, strict=True)):
        if reply is not None:
            by_lease.setdefault((a.now, a.lease), []).append(i)
    for (now, lease), indexes in by_lease.items():
        found = await accept_messages(
            connection, [cast(NewMessage, replies[i]) for i in indexes], now, lease=lease
        )
        accepted.update(zip(indexes, found, strict=True))
    await connection.execute(
        _SAVE_BATCH_CHANGES,
        *change_arrays(writes),
        [saving[i].outcome.mo_message_id for i in accepted],
        [a.message_id for a in accepted.values()],
    )
    saved = {
        a.outcome.mo_message_id: rules.saved_answer(reply, accepted.get(i), a.lease)
        for i, (a, reply) in enumerate(zip(saving, replies, strict=True))
    }
    return [saved.get(a.outcome.mo_message_id, SavedAnswer(saved=False)) for a in answers]


# What the import rules ask about (billing_import_rules.ImportLookups), by table.
_IMPORT_METERS = """
SELECT m.id, m.serial, p.account_number FROM billing_meters AS m
JOIN billing_service_points AS p ON p.id = m.service_point_id
WHERE m.serial = ANY ($1::text[]) OR m.id = ANY ($2::bigint[])
   OR p.account_number = ANY ($3::text[])
"""
_IMPORT_TARIFFS = """
SELECT id, utility_id, service, zone, valid_from, pricing ->> 'kind' FROM billing_tariffs
WHERE utility_id = ANY ($1::text[]) OR id = ANY ($2::bigint[])
"""
_IMPORT_READINGS = """
SELECT r.register_id, r.taken_at, r.value FROM billing_readings AS r
JOIN billing_registers AS g ON g.id = r.register_id
JOIN billing_meters AS m ON m.id = g.meter_id
WHERE m.serial = ANY ($1::text[]) AND r.taken_at = ANY ($2::timestamptz[])
"""


async def _load_import(c: Any, ask: imports.ImportLookups) -> imports.StoredImport:
    """What the import rules ask about, read in the import's transaction."""
    meters = {
        r[0]: (r[1], r[2])
        for r in await c.fetch(_IMPORT_METERS, ask.serials, ask.meter_ids, ask.meter_accounts)
    }
    registers = await c.fetch(
        "SELECT id, meter_id, zone FROM billing_registers "
        "WHERE meter_id = ANY ($1::bigint[]) OR id = ANY ($2::bigint[])",
        list(meters),
        ask.register_ids,
    )
    tariffs = await c.fetch(_IMPORT_TARIFFS, ask.tariff_utilities, ask.tariff_ids)
    readings = await c.fetch(_IMPORT_READINGS, ask.reading_serials, ask.reading_times)
    points = await c.fetch(
        "SELECT id, account_number, service FROM billing_service_points "
        "WHERE account_number = ANY ($1::text[])",
        ask.meter_accounts,
    )
    accounts = await c.fetch(
        "SELECT number FROM billing_accounts WHERE number = ANY ($1::text[])", ask.accounts
    )
    return imports.StoredImport(
        utilities=dict(await c.fetch("SELECT id, is_default FROM billing_utilities")),
        accounts={r[0] for r in accounts},
        points={(r[1], r[2]): r[0] for r in points},
        meters=meters,
        registers={r[0]: (r[1], r[2]) for r in registers},
        tariffs={r[0]: (r[1], r[2], r[3], r[4], r[5] == "fixed") for r in tariffs},
        readings={(r[0], r[1], r[2]) for r in readings},
        last_ids={
            table: await c.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")
            for table in imports.NUMBERED
        },
    )


def _insert(table: str, columns: str) -> str:
    """Insert the rows $1 (an array of ``table``'s row type) into ``columns``."""
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM unnest($1::{table}[])"


# The import plan's rows (see billing_import_rules.ImportPlan), in the order their
# references need.
_IMPORT_WRITES = (
    (
        "utilities",
        _insert("billing_utilities", "id, settings, is_default")
        + " ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, "
        "is_default = EXCLUDED.is_default",
    ),
    (
        "utility_defaults",
        "UPDATE billing_utilities AS u SET is_default = t.is_default "
        "FROM unnest($1::billing_utilities[]) AS t WHERE u.id = t.id",
    ),
    (
        "accounts",
        _insert(
            "billing_accounts",
            "number, utility_id, language, time_zone, closed, opening, charges, penalties, "
            "payments, advance",
        ),
    ),
    (
        "open_items",
        _insert("billing_open_items", "account_number, period, principal, penalty, due_date"),
    ),
    (
        "charges",
        _insert(
            "billing_charges",
            "account_number, period, service, meter_id, start_on, end_on, due_date, amount, "
            "lines, mo_message_id, kind, billed_at",
        ),
    ),
    (
        "account_changes",
        "UPDATE billing_accounts AS a SET utility_id = t.utility_id, language = t.language, "
        "time_zone = t.time_zone, closed = t.closed "
        "FROM unnest($1::billing_accounts[]) AS t WHERE a.number = t.number",
    ),
    (
        "bindings",
        _insert("billing_bindings", "msisdn, account_number, opted_out")
        + " ON CONFLICT (msisdn, account_number) DO UPDATE SET opted_out = EXCLUDED.opted_out",
    ),
    ("service_points", _insert("billing_service_points", "id, account_number, service")),
    (
        "meters",
        _insert(
            "billing_meters",
            "id, service_point_id, serial, digits, decimals, multiplier, status, position, "
            "verification_date",
        ),
    ),
    (
        "meter_changes",
        "UPDATE billing_meters AS m SET service_point_id = t.service_point_id, "
        "digits = t.digits, decimals = t.decimals, multiplier = t.multiplier, status = t.status, "
        "verification_date = t.verification_date "
        "FROM unnest($1::billing_meters[]) AS t WHERE m.id = t.id",
    ),
    ("registers", _insert("billing_registers", "id, meter_id, zone, position")),
    (
        "register_changes",
        "UPDATE billing_registers AS g SET position = t.position "
        "FROM unnest($1::billing_registers[]) AS t WHERE g.id = t.id",
    ),
    (
        "tariffs",
        _insert("billing_tariffs", "id, utility_id, service, zone, valid_from, valid_to, pricing"),
    ),
    (
        "readings",
        _insert(
            "billing_readings",
            "register_id, value, taken_at, received_at, source, status, period, mo_message_id",
        ),
    ),
)


async def _write_import(c: Any, batch: ImportBatch) -> tuple[dict[str, int], list[ImportProblem]]:
    # Imports take turns: the rules number new rows after the highest stored ids.
    await c.execute(f"LOCK TABLE {', '.join(imports.NUMBERED)} IN SHARE ROW EXCLUSIVE MODE")
    plan = imports.decide(batch, await _load_import(c, imports.lookups(batch)))
    for name, statement in _IMPORT_WRITES:
        if written := getattr(plan, name):
            await c.execute(statement, written)
    # The sequences must not hand out the ids the rules gave.
    for table in imports.NUMBERED:
        await c.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    return plan.written, plan.problems
