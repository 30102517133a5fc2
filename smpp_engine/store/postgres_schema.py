"""The PostgreSQL schema and its numbered migrations, applied when a store opens.

Each migration is frozen text: a later change to the schema is a new entry, never
an edit of an old one. Times are float epoch seconds (``double precision``) as in
the store model. Runs on the bridge's asyncio loop.
"""

from __future__ import annotations

from typing import Any

from .errors import MigrationError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

# Any constant both store processes agree on; it names the migration critical section.
_MIGRATION_LOCK = 0x736D_7070_7363_6800  # "smppsch\0"

MIGRATIONS: tuple[str, ...] = (
    # 1: messages and their parts, history, held receipts, counters.
    """
    CREATE TABLE messages (
        id bigserial PRIMARY KEY,
        smsc text NOT NULL,
        source text NOT NULL,
        source_ton integer NOT NULL,
        source_npi integer NOT NULL,
        destination text NOT NULL,
        dest_ton integer NOT NULL,
        dest_npi integer NOT NULL,
        text text NOT NULL,
        parts integer NOT NULL CHECK (parts >= 1),
        priority integer NOT NULL,
        registered_delivery boolean NOT NULL,
        not_before double precision NOT NULL,
        expires_at double precision,
        idempotency_key text UNIQUE,
        campaign_id bigint,
        state text NOT NULL CHECK (state IN ('queued', 'submitting', 'submitted', 'delivered',
            'undeliverable', 'expired', 'rejected', 'deleted', 'unknown', 'cancelled')),
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        possible_duplicate boolean NOT NULL DEFAULT false,
        error_code integer,
        lease_owner text,
        lease_until double precision
    );
    -- claim(): the queue of one SMSC in claim order; partial, so it is as small as the queue.
    CREATE INDEX messages_claim_order ON messages (smsc, priority DESC, not_before, id)
        WHERE state = 'queued';
    -- claim() expires what can no longer be sent without scanning the whole queue.
    CREATE INDEX messages_queued_expiry ON messages (smsc, expires_at)
        WHERE state = 'queued' AND expires_at IS NOT NULL;
    -- recover(): leases that ran out.
    CREATE INDEX messages_leases ON messages (lease_until) WHERE state = 'submitting';
    -- expire_receipts(): submitted messages by age.
    CREATE INDEX messages_awaiting_receipts ON messages (updated_at) WHERE state = 'submitted';

    -- No foreign key: a part is only ever written by record() while it holds its
    -- message's row lock, and the check would cost a fifth of a batch.
    CREATE TABLE message_parts (
        message_id bigint NOT NULL,
        part integer NOT NULL,
        state text NOT NULL,
        bind text,
        -- the message's SMSC, kept here so a receipt finds its part through one index
        smsc text NOT NULL,
        smsc_message_id text,
        submitted_at double precision,
        responded_at double precision,
        command_status integer,
        receipt_at double precision,
        receipt_error text,
        done_at double precision,
        PRIMARY KEY (message_id, part)
    );
    -- Not unique: SMSCs recycle their message ids; the newest submission wins.
    CREATE INDEX message_parts_smsc_id ON message_parts (smsc_message_id, smsc)
        WHERE smsc_message_id IS NOT NULL;

    -- Append-only history; no foreign key, so the hottest insert checks nothing.
    CREATE TABLE message_events (
        message_id bigint NOT NULL,
        id bigserial,
        at double precision NOT NULL,
        event text NOT NULL,
        detail text NOT NULL DEFAULT '',
        PRIMARY KEY (message_id, id)
    );

    -- Receipts that beat their submit_sm_resp: applied when the part's SMSC id is recorded.
    CREATE TABLE held_receipts (
        id bigserial PRIMARY KEY,
        smsc text NOT NULL,
        smsc_message_id text NOT NULL,
        state text NOT NULL,
        received_at double precision NOT NULL,
        error text,
        done_at double precision
    );
    CREATE INDEX held_receipts_smsc_id ON held_receipts (smsc_message_id, smsc);

    -- Counts for count_by_state() and stats(). Writers only append changes, so
    -- no row is updated by every transaction of every process (a lock they would
    -- all queue on); readers fold the changes into the totals.
    CREATE TABLE state_counts (
        smsc text NOT NULL,
        state text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (smsc, state)
    );
    CREATE TABLE state_count_changes (
        smsc text NOT NULL,
        state text NOT NULL,
        delta bigint NOT NULL
    );
    CREATE TABLE store_counters (
        name text PRIMARY KEY,
        value bigint NOT NULL
    );
    CREATE TABLE store_counter_changes (
        name text NOT NULL,
        delta bigint NOT NULL
    );
    """,
    # 2: campaigns, recipient groups, the opt-out list; HELD messages.
    """
    ALTER TABLE messages DROP CONSTRAINT messages_state_check;
    ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('queued', 'held',
        'submitting', 'submitted', 'delivered', 'undeliverable', 'expired', 'rejected',
        'deleted', 'unknown', 'cancelled'));

    -- kind and state are the campaign domain's enum values, checked by the store's code.
    CREATE TABLE campaigns (
        id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        smsc text NOT NULL,
        sender text NOT NULL,
        template text NOT NULL,
        kind text NOT NULL,
        rate double precision NOT NULL CHECK (rate > 0),
        start_at double precision,
        settings text NOT NULL,
        state text NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL
    );
    -- campaign_stats() counts from this index alone, and a campaign's state changes
    -- find its messages through it. Partial: other messages pay nothing for it.
    CREATE INDEX messages_campaign ON messages (campaign_id, state, error_code)
        WHERE campaign_id IS NOT NULL;

    -- COLLATE "C": names and MSISDNs sort by bytes, as in SQLite, whatever the
    -- database's locale.
    CREATE TABLE recipient_groups (
        id bigserial PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        created_at double precision NOT NULL
    );
    CREATE TABLE group_members (
        group_id bigint NOT NULL REFERENCES recipient_groups (id) ON DELETE CASCADE,
        msisdn text COLLATE "C" NOT NULL,
        fields text NOT NULL,
        PRIMARY KEY (group_id, msisdn)
    );
    CREATE TABLE opt_outs (
        msisdn text COLLATE "C" PRIMARY KEY,
        source text NOT NULL,
        created_at double precision NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(connection: Any) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` in one transaction; return the version.

    The transaction-scoped advisory lock makes processes that start together
    take turns: the second finds the work done. A database newer than this code
    raises :class:`MigrationError` and is left as it is.
    """
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current: int = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_version"
        )
        if current > SCHEMA_VERSION:
            raise MigrationError(
                "postgresql",
                f"the database schema is version {current}, newer than this code's "
                f"{SCHEMA_VERSION}: upgrade smpp-engine",
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            await connection.execute(MIGRATIONS[version - 1])
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
    return SCHEMA_VERSION
