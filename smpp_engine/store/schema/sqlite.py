"""The SQLite schema as numbered migrations, applied at open in one transaction.

``schema_version`` holds one row per applied migration. A database whose version
is newer than :data:`MIGRATIONS` knows is refused (:class:`MigrationError`): old
code must not write into a schema it does not understand.

Indexes are partial where a state selects the rows, so a message costs index
work only while it is in that state: the claim index holds QUEUED messages only,
the lease index SUBMITTING ones, the receipt-timeout index SUBMITTED ones.
Counts per state live in ``state_counts`` (kept by every transaction that moves
a message) so metrics never scan the table. A message's "accepted" event is its
row (``created_at``), not a row of ``message_events``: one insert less each.
Migration 2 adds campaigns, recipient groups and the opt-out list (migration
3 the billing tables, 4 links notices and replies to their messages, 6 the kind
of a charge and the one fixed charge per account, service and period, 7 what
closing a period keeps unique); the HELD
message state needs no change here (states are plain text). ``REFERENCES``
documents the links; SQLite leaves foreign keys unenforced by
default and so does this store (only its own code writes, and a check costs a
lookup per child row).
"""

from __future__ import annotations

import sqlite3
import time

from ..errors import MigrationError, StoreUnavailableError
from ..sqlite_worker import map_error

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_V1 = (
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        smsc TEXT NOT NULL,
        source TEXT NOT NULL,
        source_ton INTEGER NOT NULL,
        source_npi INTEGER NOT NULL,
        destination TEXT NOT NULL,
        dest_ton INTEGER NOT NULL,
        dest_npi INTEGER NOT NULL,
        text TEXT NOT NULL,
        parts INTEGER NOT NULL CHECK (parts >= 1),
        priority INTEGER NOT NULL,
        registered_delivery INTEGER NOT NULL,
        not_before REAL NOT NULL,
        expires_at REAL,
        idempotency_key TEXT,
        campaign_id INTEGER,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        possible_duplicate INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL,
        error_code INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # Claim order: priority (highest first), not_before, id, among one SMSC's QUEUED messages.
    """
    CREATE INDEX messages_claim ON messages (smsc, priority DESC, not_before, id)
    WHERE state = 'queued'
    """,
    """
    CREATE UNIQUE INDEX messages_idempotency_key ON messages (idempotency_key)
    WHERE idempotency_key IS NOT NULL
    """,
    "CREATE INDEX messages_lease ON messages (lease_until) WHERE state = 'submitting'",
    "CREATE INDEX messages_awaiting_receipt ON messages (updated_at) WHERE state = 'submitted'",
    # A part row exists once the part was answered (or failed); unanswered parts
    # of a message are the ones without a row, or with a row not yet answered.
    """
    CREATE TABLE message_parts (
        message_id INTEGER NOT NULL REFERENCES messages (id),
        part INTEGER NOT NULL,
        smsc TEXT NOT NULL,
        state TEXT NOT NULL,
        bind TEXT,
        smsc_message_id TEXT,
        submitted_at REAL,
        responded_at REAL,
        command_status INTEGER,
        receipt_at REAL,
        receipt_error TEXT,
        done_at REAL,
        PRIMARY KEY (message_id, part)
    ) WITHOUT ROWID
    """,
    """
    CREATE INDEX message_parts_smsc_message_id ON message_parts (smsc, smsc_message_id)
    WHERE smsc_message_id IS NOT NULL
    """,
    """
    CREATE TABLE message_events (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        at REAL NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX message_events_message ON message_events (message_id, id)",
    # Receipts that beat their submit_sm_resp: applied when the SMSC id turns up.
    """
    CREATE TABLE held_receipts (
        id INTEGER PRIMARY KEY,
        smsc TEXT NOT NULL,
        smsc_message_id TEXT NOT NULL,
        state TEXT NOT NULL,
        received_at REAL NOT NULL,
        error TEXT,
        done_at REAL
    )
    """,
    "CREATE INDEX held_receipts_smsc_message_id ON held_receipts (smsc, smsc_message_id)",
    """
    CREATE TABLE state_counts (
        smsc TEXT NOT NULL,
        state TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (smsc, state)
    ) WITHOUT ROWID
    """,
    # "last_message_id" lives here rather than in AUTOINCREMENT: accept assigns a
    # batch of ids itself, and ids are never reused even if old rows are purged.
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
)

_V2 = (
    """
    CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        smsc TEXT NOT NULL,
        sender TEXT NOT NULL,
        template TEXT NOT NULL,
        kind TEXT NOT NULL,
        rate REAL NOT NULL CHECK (rate > 0),
        start_at REAL,
        settings TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # campaign_stats() counts from this index alone (state and error_code are in
    # it), and the state changes of a campaign find its messages through it.
    # Partial: messages outside campaigns pay nothing for it.
    """
    CREATE INDEX messages_campaign ON messages (campaign_id, state, error_code)
    WHERE campaign_id IS NOT NULL
    """,
    """
    CREATE TABLE recipient_groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE group_members (
        group_id INTEGER NOT NULL REFERENCES recipient_groups (id),
        msisdn TEXT NOT NULL,
        fields TEXT NOT NULL,
        PRIMARY KEY (group_id, msisdn)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE opt_outs (
        msisdn TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        created_at REAL NOT NULL
    ) WITHOUT ROWID
    """,
)

# Migration 3: the billing repository (:mod:`..billing.sqlite`). Money and meter
# values are decimal TEXT (exact, never REAL); times ISO TEXT in UTC; periods
# TEXT ``YYYY-MM``. An account row carries its ledger's totals and advance, its
# open items are rows of ``billing_open_items``.
_V3 = (
    """
    CREATE TABLE billing_utilities (
        id TEXT PRIMARY KEY,
        settings TEXT NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE billing_accounts (
        number TEXT PRIMARY KEY,
        utility_id TEXT NOT NULL REFERENCES billing_utilities (id),
        language TEXT,
        time_zone TEXT,
        closed INTEGER NOT NULL DEFAULT 0,
        opening TEXT NOT NULL DEFAULT '0',
        charges TEXT NOT NULL DEFAULT '0',
        penalties TEXT NOT NULL DEFAULT '0',
        payments TEXT NOT NULL DEFAULT '0',
        advance TEXT NOT NULL DEFAULT '0'
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE billing_open_items (
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        period TEXT NOT NULL,
        principal TEXT NOT NULL,
        penalty TEXT NOT NULL,
        due_date TEXT,
        PRIMARY KEY (account_number, period)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE billing_bindings (
        msisdn TEXT NOT NULL,
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        opted_out INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (msisdn, account_number)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX billing_bindings_account ON billing_bindings (account_number)",
    """
    CREATE TABLE billing_service_points (
        id INTEGER PRIMARY KEY,
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        service TEXT NOT NULL,
        UNIQUE (account_number, service)
    )
    """,
    """
    CREATE TABLE billing_meters (
        id INTEGER PRIMARY KEY,
        service_point_id INTEGER NOT NULL REFERENCES billing_service_points (id),
        serial TEXT NOT NULL UNIQUE,
        digits INTEGER NOT NULL,
        decimals INTEGER NOT NULL,
        multiplier TEXT NOT NULL,
        status TEXT NOT NULL,
        position INTEGER NOT NULL
    )
    """,
    "CREATE INDEX billing_meters_point ON billing_meters (service_point_id, position)",
    """
    CREATE TABLE billing_registers (
        id INTEGER PRIMARY KEY,
        meter_id INTEGER NOT NULL REFERENCES billing_meters (id),
        zone TEXT NOT NULL,
        position INTEGER NOT NULL,
        UNIQUE (meter_id, zone)
    )
    """,
    """
    CREATE TABLE billing_readings (
        id INTEGER PRIMARY KEY,
        register_id INTEGER NOT NULL REFERENCES billing_registers (id),
        value TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        period TEXT NOT NULL,
        mo_message_id TEXT,
        status_reason TEXT
    )
    """,
    # The last accepted readings of a register, newest first; pending ones apart.
    "CREATE INDEX billing_readings_register ON billing_readings (register_id, status, taken_at)",
    """
    CREATE TABLE billing_tariffs (
        id INTEGER PRIMARY KEY,
        utility_id TEXT NOT NULL REFERENCES billing_utilities (id),
        service TEXT NOT NULL,
        zone TEXT,
        valid_from TEXT NOT NULL,
        valid_to TEXT,
        pricing TEXT NOT NULL
    )
    """,
    "CREATE INDEX billing_tariffs_service ON billing_tariffs (utility_id, service, valid_from)",
    # One row per processed MO: its id is the unique key that stops redeliveries.
    """
    CREATE TABLE billing_mo (
        mo_message_id TEXT PRIMARY KEY,
        msisdn TEXT NOT NULL,
        text TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL,
        intent TEXT,
        account_number TEXT,
        reply TEXT,
        rejection TEXT,
        balance_after TEXT
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE billing_charges (
        id INTEGER PRIMARY KEY,
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        period TEXT NOT NULL,
        service TEXT NOT NULL,
        meter_id INTEGER,
        start_on TEXT NOT NULL,
        end_on TEXT NOT NULL,
        due_date TEXT,
        amount TEXT NOT NULL,
        lines TEXT NOT NULL,
        mo_message_id TEXT
    )
    """,
    "CREATE INDEX billing_charges_account ON billing_charges (account_number, period)",
    """
    CREATE TABLE billing_payments (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        amount TEXT NOT NULL,
        paid_on TEXT NOT NULL,
        period TEXT,
        advance TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE billing_payment_allocations (
        payment_id INTEGER NOT NULL REFERENCES billing_payments (id),
        line INTEGER NOT NULL,
        period TEXT NOT NULL,
        part TEXT NOT NULL,
        amount TEXT NOT NULL,
        PRIMARY KEY (payment_id, line)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE billing_notices (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        account_number TEXT NOT NULL,
        msisdn TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        send_at TEXT,
        service TEXT,
        state TEXT NOT NULL,
        delivered_at TEXT,
        amount TEXT NOT NULL
    )
    """,
    "CREATE INDEX billing_notices_account ON billing_notices (account_number, kind, created_at)",
    """
    CREATE TABLE billing_notice_parts (
        notice_id INTEGER NOT NULL REFERENCES billing_notices (id),
        part INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        state TEXT NOT NULL,
        at TEXT,
        PRIMARY KEY (notice_id, part)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX billing_notice_parts_message ON billing_notice_parts (message_id)",
)

# Migration 4: a notice and a reading's reply name the gateway message that carries
# them; the SMPP ids, state and receipt times are read from that message, so the
# parts table the notices kept for themselves goes.
_V4 = (
    "ALTER TABLE billing_notices ADD COLUMN message_id INTEGER REFERENCES messages (id)",
    "ALTER TABLE billing_notices ADD COLUMN payment_reference TEXT",
    """
    CREATE INDEX billing_notices_payment ON billing_notices (payment_reference)
    WHERE payment_reference IS NOT NULL
    """,
    "ALTER TABLE billing_mo ADD COLUMN reply_message_id INTEGER REFERENCES messages (id)",
    "DROP TABLE billing_notice_parts",
)

# Migration 5: a claimed message is marked dispatched before it is sent, so that
# recovery flags only what may have reached the SMSC; unclean stops in a row are
# counted, and a message in flight at too many of them is quarantined. Messages
# caught SUBMITTING by the upgrade were claimed by a release that did not mark
# them: they count as dispatched, as that release would have flagged them.
_V5 = (
    "ALTER TABLE messages ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE messages ADD COLUMN unclean_stops INTEGER NOT NULL DEFAULT 0",
    "UPDATE messages SET dispatched = 1 WHERE state = 'submitting'",
)

# Migration 6: a charge says what it bills (billing_core's ChargeKind). A period's
# fixed charge is billed once per account and service: the unique index makes a
# second one impossible, whatever the code above it does. Charges stored before
# were all usage (fixed charges were not billed).
_V6 = (
    "ALTER TABLE billing_charges ADD COLUMN kind TEXT NOT NULL DEFAULT 'usage'",
    """
    CREATE UNIQUE INDEX billing_charges_fixed ON billing_charges (account_number, service, period)
    WHERE kind = 'fixed'
    """,
)

# Migration 7: closing a period. Its estimate is billed once per meter and period;
# the penalties it accrues are kept per account, open item's period and closed
# period (the key that makes a second close of the period accrue nothing).
_V7 = (
    """
    CREATE UNIQUE INDEX billing_charges_estimate ON billing_charges (meter_id, period)
    WHERE kind = 'estimate'
    """,
    """
    CREATE TABLE billing_penalties (
        account_number TEXT NOT NULL REFERENCES billing_accounts (number),
        period TEXT NOT NULL,
        closed_period TEXT NOT NULL,
        through TEXT NOT NULL,
        amount TEXT NOT NULL,
        PRIMARY KEY (account_number, period, closed_period)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX billing_accounts_utility ON billing_accounts (utility_id, number)",
)
# 8: notices runs. A notice a run plans has a key (kind, account, service, period,
# phone) stored once: a second run, or one after a crash, finds it. The caps count a
# phone's notices of every account, and the campaign messages sent to it.
_V8 = (
    "ALTER TABLE billing_notices ADD COLUMN notice_key TEXT",
    "CREATE UNIQUE INDEX billing_notices_key ON billing_notices (notice_key) "
    "WHERE notice_key IS NOT NULL",
    "CREATE INDEX billing_notices_unqueued ON billing_notices (account_number) "
    "WHERE notice_key IS NOT NULL AND message_id IS NULL",
    "CREATE INDEX billing_notices_msisdn ON billing_notices (msisdn, created_at)",
    "CREATE INDEX messages_campaign_destination ON messages (destination, not_before) "
    "WHERE campaign_id IS NOT NULL",
)

# 9: scheduled jobs (closing a period, notices) and their runs. A job row is
# claimed under a lease, so one process runs it at a time.
_V9 = (
    """
    CREATE TABLE scheduled_jobs (
        name TEXT PRIMARY KEY,
        next_due REAL NOT NULL,
        lease_owner TEXT,
        lease_until REAL,
        runs INTEGER NOT NULL DEFAULT 0,
        last_run INTEGER
    )
    """,
    """
    CREATE TABLE job_runs (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL REFERENCES scheduled_jobs (name),
        owner TEXT NOT NULL,
        due_at REAL NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        outcome TEXT,
        detail TEXT
    )
    """,
    "CREATE INDEX job_runs_job ON job_runs (job, id)",
)

# A meter's next verification (поверка) is due by this date (ISO): meter verification
# invitations go in the days before it. Penalties follow the debt day by day: when a
# charge was billed (one billed after its item's due date counts from then on), and
# the due date of the item a payment paid (an item paid off still owes its penalty up
# to the payment, counted from that date). Rows written before: NULL, as before.
_V10 = (
    "ALTER TABLE billing_meters ADD COLUMN verification_date TEXT",
    "ALTER TABLE billing_charges ADD COLUMN billed_at TEXT",
    "ALTER TABLE billing_payment_allocations ADD COLUMN due_date TEXT",
)

# 11: routes paused by an operator (a row while paused, read by every process), and
# retention: the counts by day of purged messages; a billing notice's message is
# found by its id (retention keeps it: the proof of delivery).
_V11 = (
    """
    CREATE TABLE route_pauses (
        route TEXT PRIMARY KEY,
        since REAL NOT NULL,
        paused_by TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE message_days (
        day TEXT NOT NULL,
        smsc TEXT NOT NULL,
        state TEXT NOT NULL,
        messages INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        PRIMARY KEY (day, smsc, state)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX billing_notices_message ON billing_notices (message_id) "
    "WHERE message_id IS NOT NULL",
)

# 12: routing. The rule that chose a message's route ("explicit" when the request
# named it, NULL when no routing table is configured) and the routes its rule
# allows, in failover order, space-separated (route names hold no spaces): a
# failover moves the message to the next one after its current ``smsc``. The
# partial index holds only queued messages with more than one route: a route
# that has lost its binds looks for what can move every second, and must not
# scan a backlog that cannot.
_V12 = (
    "ALTER TABLE messages ADD COLUMN route_rule TEXT",
    "ALTER TABLE messages ADD COLUMN route_plan TEXT",
    "CREATE INDEX messages_failover ON messages (smsc, id) "
    "WHERE state = 'queued' AND route_plan LIKE '% %'",
)

# 13: shares of an SMSC account's rate, one row per gateway process sending for it,
# renewed while the process lives (processes may share the database file).
_V13 = (
    """
    CREATE TABLE rate_shares (
        route TEXT NOT NULL,
        holder TEXT NOT NULL,
        lease_until REAL NOT NULL,
        level REAL NOT NULL,
        cut_at REAL,
        PRIMARY KEY (route, holder)
    )
    """,
)

# 14: tenants and delivery callbacks. A message and a campaign carry the tenant whose
# API key made them (NULL: the operator's); a message carries where its state
# changes are posted and which ones (",submitted,delivered," ...). Each tenant's
# quota use is counted per day and per month (D2026-12-05, M2026-12) in the store,
# so every gateway process sees one count. The callback outbox holds the events
# written in the transaction of the state change they tell, until they are posted
# (then deleted) or parked as dead letters. MO messages routed to a tenant, or
# taken by no route, are kept.
_V14 = (
    "ALTER TABLE messages ADD COLUMN tenant TEXT",
    "ALTER TABLE messages ADD COLUMN callback_url TEXT",
    "ALTER TABLE messages ADD COLUMN callback_events TEXT",
    "ALTER TABLE campaigns ADD COLUMN tenant TEXT",
    "CREATE INDEX messages_tenant_created ON messages (tenant, created_at)",
    """
    CREATE TABLE tenant_usage (
        tenant TEXT NOT NULL,
        period TEXT NOT NULL,
        messages INTEGER NOT NULL DEFAULT 0,
        parts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, period)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE callback_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER,
        tenant TEXT,
        url TEXT NOT NULL,
        event TEXT NOT NULL,
        occurred_at REAL NOT NULL,
        payload TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        created_at REAL NOT NULL,
        last_error TEXT,
        lease_owner TEXT,
        lease_until REAL
    )
    """,
    "CREATE INDEX callback_outbox_due ON callback_outbox (status, next_at)",
    "CREATE INDEX callback_outbox_message ON callback_outbox (message_id, id) "
    "WHERE message_id IS NOT NULL",
    # MO messages the gateway keeps: those routed to a tenant (their event is in the
    # outbox) and those no route takes, kept and listed instead of refused for ever.
    """
    CREATE TABLE mo_messages (
        id INTEGER PRIMARY KEY,
        mo_id TEXT NOT NULL UNIQUE,
        smsc TEXT NOT NULL,
        source TEXT NOT NULL,
        destination TEXT NOT NULL,
        text TEXT NOT NULL,
        data_coding INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        received_at REAL NOT NULL,
        route TEXT NOT NULL,
        tenant TEXT
    )
    """,
    "CREATE INDEX mo_messages_route ON mo_messages (route, id)",
)

# 15: messages taken over the SMPP server face keep the client's segment as sent
# (esm_class, data_coding, short_message and TLVs, in submit_sm's own layout), so a
# part of a long message goes upstream with the client's UDH or SAR, never re-split.
# NULL: the text is split by the route as before.
_V15 = ("ALTER TABLE messages ADD COLUMN payload BLOB",)

# The id a client was given for a message when not its own: the other destinations
# of a submit_multi over the SMPP server face, whose one submit_multi_resp named the
# first destination's id; their receipts name it too. NULL: the message's own id.
_V16 = ("ALTER TABLE messages ADD COLUMN receipt_id INTEGER",)

# 17: a message sent as a flash SMS (data_coding message class 0), per message; and
# the send time its client asked for (NULL: none), which a route scheduling at the
# SMSC (schedule_delivery_time) may hand over early.
_V17 = (
    "ALTER TABLE messages ADD COLUMN flash INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE messages ADD COLUMN send_at REAL",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12, _V13, _V14, _V15, _V16, _V17
)  # fmt: skip
"""Migration n (1-based) is ``MIGRATIONS[n - 1]``: statements run in order."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, store: str) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction; return the version."""
    latest = len(MIGRATIONS)
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        if current > latest:
            raise MigrationError(
                store,
                f"the database has schema version {current}, this code knows up to "
                f"{latest}: upgrade the engine",
            )
        for version in range(current + 1, latest + 1):
            try:
                for statement in MIGRATIONS[version - 1]:
                    connection.execute(statement)
            except sqlite3.Error as exc:
                error = map_error(store, f"migration {version}", exc)
                if isinstance(error, StoreUnavailableError):
                    raise error from exc
                raise MigrationError(store, f"migration {version} failed: {exc}") from exc
            connection.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, time.time()),
            )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return latest
