"""The PostgreSQL schema and its numbered migrations, applied when a store opens.

Each migration is frozen text: a later change to the schema is a new entry, never
an edit of an old one. Times are float epoch seconds (``double precision``) as in
the store model. Runs on the bridge's asyncio loop.
"""

from __future__ import annotations

from typing import Any

from ..errors import MigrationError

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
    # 3: the billing repository (billing/postgres.py). Money and meter values are
    # numeric (exact), times timestamptz, periods text YYYY-MM. An account row
    # carries its ledger's totals and advance; its open items are rows apart.
    """
    CREATE TABLE billing_utilities (
        id text COLLATE "C" PRIMARY KEY,
        settings text NOT NULL,
        is_default boolean NOT NULL DEFAULT false
    );
    CREATE TABLE billing_accounts (
        number text COLLATE "C" PRIMARY KEY,
        utility_id text NOT NULL REFERENCES billing_utilities (id),
        language text,
        time_zone text,
        closed boolean NOT NULL DEFAULT false,
        opening numeric NOT NULL DEFAULT 0,
        charges numeric NOT NULL DEFAULT 0,
        penalties numeric NOT NULL DEFAULT 0,
        payments numeric NOT NULL DEFAULT 0,
        advance numeric NOT NULL DEFAULT 0
    );
    CREATE TABLE billing_open_items (
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        period text COLLATE "C" NOT NULL,
        principal numeric NOT NULL,
        penalty numeric NOT NULL,
        due_date date,
        PRIMARY KEY (account_number, period)
    );
    CREATE TABLE billing_bindings (
        msisdn text COLLATE "C" NOT NULL,
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        opted_out boolean NOT NULL DEFAULT false,
        PRIMARY KEY (msisdn, account_number)
    );
    CREATE INDEX billing_bindings_account ON billing_bindings (account_number);
    CREATE TABLE billing_service_points (
        id bigserial PRIMARY KEY,
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        service text NOT NULL,
        UNIQUE (account_number, service)
    );
    CREATE TABLE billing_meters (
        id bigserial PRIMARY KEY,
        service_point_id bigint NOT NULL REFERENCES billing_service_points (id),
        serial text COLLATE "C" NOT NULL UNIQUE,
        digits integer NOT NULL,
        decimals integer NOT NULL,
        multiplier numeric NOT NULL,
        status text NOT NULL,
        position integer NOT NULL
    );
    CREATE INDEX billing_meters_point ON billing_meters (service_point_id, position);
    CREATE TABLE billing_registers (
        id bigserial PRIMARY KEY,
        meter_id bigint NOT NULL REFERENCES billing_meters (id),
        zone text NOT NULL,
        position integer NOT NULL,
        UNIQUE (meter_id, zone)
    );
    CREATE TABLE billing_readings (
        id bigserial PRIMARY KEY,
        register_id bigint NOT NULL REFERENCES billing_registers (id),
        value numeric NOT NULL,
        taken_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        source text NOT NULL,
        status text NOT NULL,
        period text NOT NULL,
        mo_message_id text,
        status_reason text
    );
    -- The last accepted readings of a register, newest first; pending ones apart.
    CREATE INDEX billing_readings_register ON billing_readings (register_id, status, taken_at);
    CREATE TABLE billing_tariffs (
        id bigserial PRIMARY KEY,
        utility_id text NOT NULL REFERENCES billing_utilities (id),
        service text NOT NULL,
        zone text,
        valid_from date NOT NULL,
        valid_to date,
        pricing jsonb NOT NULL
    );
    CREATE INDEX billing_tariffs_service ON billing_tariffs (utility_id, service, valid_from);
    -- One row per processed MO: its id is the unique key that stops redeliveries.
    CREATE TABLE billing_mo (
        mo_message_id text COLLATE "C" PRIMARY KEY,
        msisdn text NOT NULL,
        text text NOT NULL,
        received_at timestamptz NOT NULL,
        status text NOT NULL,
        intent text,
        account_number text,
        reply text,
        rejection text,
        balance_after numeric
    );
    CREATE TABLE billing_charges (
        id bigserial PRIMARY KEY,
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        period text NOT NULL,
        service text NOT NULL,
        meter_id bigint,
        start_on date NOT NULL,
        end_on date NOT NULL,
        due_date date,
        amount numeric NOT NULL,
        lines jsonb NOT NULL,
        mo_message_id text
    );
    CREATE INDEX billing_charges_account ON billing_charges (account_number, period);
    CREATE TABLE billing_payments (
        id bigserial PRIMARY KEY,
        reference text COLLATE "C" NOT NULL UNIQUE,
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        amount numeric NOT NULL,
        paid_on date NOT NULL,
        period text,
        advance numeric NOT NULL
    );
    CREATE TABLE billing_payment_allocations (
        payment_id bigint NOT NULL REFERENCES billing_payments (id),
        line integer NOT NULL,
        period text NOT NULL,
        part text NOT NULL,
        amount numeric NOT NULL,
        PRIMARY KEY (payment_id, line)
    );
    CREATE TABLE billing_notices (
        id bigserial PRIMARY KEY,
        kind text NOT NULL,
        account_number text COLLATE "C" NOT NULL,
        msisdn text COLLATE "C" NOT NULL,
        text text NOT NULL,
        created_at timestamptz NOT NULL,
        send_at timestamptz,
        service text,
        state text NOT NULL,
        delivered_at timestamptz,
        amount numeric NOT NULL
    );
    CREATE INDEX billing_notices_account ON billing_notices (account_number, kind, created_at);
    CREATE TABLE billing_notice_parts (
        notice_id bigint NOT NULL REFERENCES billing_notices (id),
        part integer NOT NULL,
        message_id text COLLATE "C" NOT NULL,
        state text NOT NULL,
        at timestamptz,
        PRIMARY KEY (notice_id, part)
    );
    CREATE INDEX billing_notice_parts_message ON billing_notice_parts (message_id);

    -- load_context(): everything one SMS needs, in one statement. A function so
    -- that its plan is generic, made once per connection: planning the statement
    -- for each SMS (the pool's force_custom_plan) costs more than running it.
    -- $1 msisdn, $2 the account the SMS names, $3 the MO id, $4 the default
    -- utility, $5 now.
    CREATE FUNCTION billing_load_context(text, text, text, text, timestamptz)
    RETURNS TABLE (settings text, bindings json, seen boolean, account json, meters json,
                   readings json, tariffs json)
    LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $function$
    #variable_conflict use_column
    BEGIN
    RETURN QUERY
    WITH b AS (
        SELECT msisdn, account_number, opted_out FROM billing_bindings WHERE msisdn = $1
    ), chosen AS (
        SELECT CASE WHEN $2::text IN (SELECT account_number FROM b) THEN $2::text
                    WHEN (SELECT count(*) FROM b) = 1 THEN (SELECT account_number FROM b)
               END AS number
    ), acc AS (
        SELECT a.* FROM billing_accounts AS a WHERE a.number = (SELECT number FROM chosen)
    ), utility AS (
        SELECT u.id, u.settings FROM billing_utilities AS u
        WHERE u.id = coalesce(
            (SELECT utility_id FROM acc),
            (SELECT a.utility_id FROM billing_accounts AS a
             WHERE a.number IN (SELECT account_number FROM b) ORDER BY a.number LIMIT 1),
            $4::text,
            (SELECT id FROM billing_utilities ORDER BY is_default DESC, id LIMIT 1))
    ), meters AS (
        SELECT m.*, p.service FROM billing_meters AS m
        JOIN billing_service_points AS p ON p.id = m.service_point_id
        WHERE p.account_number = (SELECT number FROM acc)
    ), regs AS (
        SELECT g.* FROM billing_registers AS g WHERE g.meter_id IN (SELECT id FROM meters)
    ), hist AS (
        SELECT last.* FROM regs, LATERAL (
            SELECT * FROM billing_readings AS r
            WHERE r.register_id = regs.id AND r.status = 'accepted'
            ORDER BY r.taken_at DESC, r.id DESC LIMIT 13  -- billing/rows.py HISTORY_LIMIT
        ) AS last
        UNION ALL
        SELECT r.* FROM billing_readings AS r
        WHERE r.register_id IN (SELECT id FROM regs) AND r.status = 'awaiting_confirmation'
    )
    SELECT
        (SELECT settings FROM utility) AS settings,
        (SELECT coalesce(json_agg(json_build_array(msisdn, account_number, opted_out)
                                  ORDER BY account_number), '[]') FROM b) AS bindings,
        EXISTS (SELECT 1 FROM billing_mo WHERE mo_message_id = $3) AS seen,
        (SELECT json_build_array(
            json_build_array(a.number, a.language, a.time_zone, a.closed, a.opening::text,
                             a.charges::text, a.penalties::text, a.payments::text,
                             a.advance::text),
            (SELECT coalesce(json_agg(json_build_array(i.period, i.principal::text,
                                                       i.penalty::text, i.due_date)), '[]')
             FROM billing_open_items AS i WHERE i.account_number = a.number))
         FROM acc AS a) AS account,
        (SELECT coalesce(json_agg(json_build_array(m.id, m.serial, m.service_point_id, m.service,
            m.digits, m.decimals, m.multiplier::text, m.status,
            (SELECT json_agg(json_build_array(g.id, g.zone) ORDER BY g.position, g.id)
             FROM regs AS g WHERE g.meter_id = m.id))
            ORDER BY m.position, m.id), '[]') FROM meters AS m) AS meters,
        (SELECT coalesce(json_agg(json_build_array(r.id, r.register_id, r.value::text,
                                                   r.taken_at, r.received_at, r.source,
                                                   r.status, r.period, r.mo_message_id)), '[]')
         FROM hist AS r) AS readings,
        (SELECT coalesce(json_agg(json_build_array(t.id, t.service, t.zone, t.valid_from,
                                                   t.valid_to, t.pricing)
                                  ORDER BY t.service, t.valid_from, t.id), '[]')
         FROM billing_tariffs AS t
         WHERE t.utility_id = (SELECT utility_id FROM acc)
           AND t.service IN (SELECT service FROM meters)
           AND (t.valid_to IS NULL OR t.valid_to >
                (coalesce((SELECT min(taken_at) FROM hist), $5) AT TIME ZONE 'UTC')::date - 1)
        ) AS tariffs;
    END
    $function$;

    -- save_outcome(): one SMS's changes in one statement (so one transaction),
    -- planned once per connection. The MO row goes first: when it is stored
    -- already nothing is written and false comes back. Each charge goes to the
    -- ledger as billing_core's Ledger.charge does: the advance pays it first,
    -- the rest is added to the period's open item (kept only while positive).
    CREATE FUNCTION billing_save_outcome(
        p_mo text, p_msisdn text, p_text text, p_received timestamptz, p_status text,
        p_intent text, p_account text, p_reply text, p_rejection text, p_balance numeric,
        r_register bigint[], r_value numeric[], r_taken timestamptz[],
        r_received timestamptz[], r_source text[], r_status text[], r_period text[],
        s_id bigint[], s_status text[], s_reason text[],
        o_accounts text[], o_opted_out boolean,
        c_account text[], c_period text[], c_service text[], c_meter bigint[],
        c_start date[], c_end date[], c_due date[], c_amount numeric[], c_lines text[])
    RETURNS boolean
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $function$
    DECLARE
        i integer;
        used numeric;
        held numeric;
    BEGIN
        INSERT INTO billing_mo (mo_message_id, msisdn, text, received_at, status, intent,
                                account_number, reply, rejection, balance_after)
        VALUES (p_mo, p_msisdn, p_text, p_received, p_status, p_intent, p_account, p_reply,
                p_rejection, p_balance)
        ON CONFLICT (mo_message_id) DO NOTHING;
        IF NOT FOUND THEN
            RETURN false;
        END IF;
        INSERT INTO billing_readings (register_id, value, taken_at, received_at, source,
                                      status, period, mo_message_id)
        SELECT t.register_id, t.value, t.taken_at, t.received_at, t.source, t.status,
               t.period, p_mo
        FROM unnest(r_register, r_value, r_taken, r_received, r_source, r_status, r_period)
             AS t (register_id, value, taken_at, received_at, source, status, period);
        UPDATE billing_readings AS r SET status = t.status, status_reason = t.reason
        FROM unnest(s_id, s_status, s_reason) AS t (id, status, reason)
        WHERE r.id = t.id;
        IF cardinality(o_accounts) > 0 THEN
            UPDATE billing_bindings SET opted_out = o_opted_out
            WHERE msisdn = p_msisdn AND account_number = ANY (o_accounts);
        END IF;
        FOR i IN 1 .. coalesce(cardinality(c_account), 0) LOOP
            SELECT advance INTO held FROM billing_accounts
            WHERE number = c_account[i] FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'unknown account %', c_account[i];
            END IF;
            used := least(held, c_amount[i]);
            UPDATE billing_accounts
            SET charges = charges + c_amount[i], advance = advance - used
            WHERE number = c_account[i];
            INSERT INTO billing_open_items AS o (account_number, period, principal, penalty,
                                                 due_date)
            VALUES (c_account[i], c_period[i], c_amount[i] - used, 0, c_due[i])
            ON CONFLICT (account_number, period) DO UPDATE
            SET principal = o.principal + EXCLUDED.principal,
                due_date = coalesce(o.due_date, EXCLUDED.due_date);
            DELETE FROM billing_open_items
            WHERE account_number = c_account[i] AND period = c_period[i]
              AND principal + penalty <= 0;
            INSERT INTO billing_charges (account_number, period, service, meter_id, start_on,
                                         end_on, due_date, amount, lines, mo_message_id)
            VALUES (c_account[i], c_period[i], c_service[i], c_meter[i], c_start[i],
                    c_end[i], c_due[i], c_amount[i], c_lines[i]::jsonb, p_mo);
        END LOOP;
        RETURN true;
    END
    $function$;
    """,
    # 4: a notice and a reading's reply name the gateway message that carries them
    # (their SMPP ids, state and receipt times are read from it, so the notices'
    # own parts table goes); an SMS's outcome and its reply are saved together.
    # No foreign keys on the links: only this code writes them, and a check
    # would cost a lookup per SMS.
    """
    ALTER TABLE billing_notices ADD COLUMN message_id bigint,
                                ADD COLUMN payment_reference text COLLATE "C";
    CREATE INDEX billing_notices_payment ON billing_notices (payment_reference)
        WHERE payment_reference IS NOT NULL;
    ALTER TABLE billing_mo ADD COLUMN reply_message_id bigint;
    DROP TABLE billing_notice_parts;

    -- save_answer(): billing_save_outcome, then the reply as a message in the same
    -- statement: QUEUED, or SUBMITTING leased to m_owner (the caller hands it to
    -- its dispatcher without a claim). No reply (m_text NULL): the outcome alone.
    -- A reply whose idempotency key is stored already is linked, not claimed.
    CREATE FUNCTION billing_save_answer(
        p_mo text, p_msisdn text, p_text text, p_received timestamptz, p_status text,
        p_intent text, p_account text, p_reply text, p_rejection text, p_balance numeric,
        r_register bigint[], r_value numeric[], r_taken timestamptz[],
        r_received timestamptz[], r_source text[], r_status text[], r_period text[],
        s_id bigint[], s_status text[], s_reason text[],
        o_accounts text[], o_opted_out boolean,
        c_account text[], c_period text[], c_service text[], c_meter bigint[],
        c_start date[], c_end date[], c_due date[], c_amount numeric[], c_lines text[],
        m_smsc text, m_source text, m_source_ton integer, m_source_npi integer,
        m_destination text, m_dest_ton integer, m_dest_npi integer, m_text text,
        m_parts integer, m_priority integer, m_registered_delivery boolean,
        m_not_before float8, m_expires_at float8, m_key text, m_now float8,
        m_owner text, m_lease_until float8)
    RETURNS TABLE (saved boolean, message_id bigint, claimed boolean)
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $function$
    DECLARE
        new_id bigint;
        fresh boolean := false;
        new_state text := CASE WHEN m_owner IS NULL THEN 'queued' ELSE 'submitting' END;
    BEGIN
        IF NOT billing_save_outcome(
                p_mo, p_msisdn, p_text, p_received, p_status, p_intent, p_account, p_reply,
                p_rejection, p_balance, r_register, r_value, r_taken, r_received, r_source,
                r_status, r_period, s_id, s_status, s_reason, o_accounts, o_opted_out,
                c_account, c_period, c_service, c_meter, c_start, c_end, c_due, c_amount,
                c_lines) THEN
            RETURN QUERY SELECT false, NULL::bigint, false;
            RETURN;
        END IF;
        IF m_text IS NULL THEN
            RETURN QUERY SELECT true, NULL::bigint, false;
            RETURN;
        END IF;
        INSERT INTO messages AS m (id, smsc, source, source_ton, source_npi, destination,
            dest_ton, dest_npi, text, parts, priority, registered_delivery, not_before,
            expires_at, idempotency_key, state, attempts, lease_owner, lease_until,
            created_at, updated_at)
        VALUES (nextval('messages_id_seq'), m_smsc, m_source, m_source_ton, m_source_npi,
            m_destination, m_dest_ton, m_dest_npi, m_text, m_parts, m_priority,
            m_registered_delivery, m_not_before, m_expires_at, m_key, new_state,
            CASE WHEN m_owner IS NULL THEN 0 ELSE 1 END, m_owner, m_lease_until, m_now, m_now)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING m.id INTO new_id;
        IF new_id IS NULL THEN
            SELECT m.id INTO new_id FROM messages AS m WHERE m.idempotency_key = m_key;
        ELSE
            fresh := true;
            INSERT INTO message_events (message_id, at, event, detail)
            VALUES (new_id, m_now, 'accepted',
                    format('parts=%s priority=%s', m_parts, m_priority));
            INSERT INTO state_count_changes (smsc, state, delta) VALUES (m_smsc, new_state, 1);
        END IF;
        UPDATE billing_mo SET reply_message_id = new_id WHERE mo_message_id = p_mo;
        RETURN QUERY SELECT true, new_id, fresh AND m_owner IS NOT NULL;
    END
    $function$;
    """,
    # 5: a claimed message is marked dispatched before it is sent, so that recovery
    # flags only what may have reached the SMSC; unclean stops in a row are counted
    # and a message in flight at too many of them is QUARANTINED. Messages caught
    # SUBMITTING by the upgrade were claimed by a release that did not mark them:
    # they count as dispatched, as that release would have flagged them.
    """
    ALTER TABLE messages ADD COLUMN dispatched boolean NOT NULL DEFAULT false;
    ALTER TABLE messages ADD COLUMN unclean_stops integer NOT NULL DEFAULT 0;
    UPDATE messages SET dispatched = true WHERE state = 'submitting';
    ALTER TABLE messages DROP CONSTRAINT messages_state_check;
    ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('queued', 'held',
        'submitting', 'submitted', 'delivered', 'undeliverable', 'expired', 'rejected',
        'deleted', 'unknown', 'cancelled', 'quarantined'));

    -- A message stored already leased (a billing reply, saved by billing_save_answer
    -- and handed to its route at once) is stored dispatched, in the same statement.
    CREATE FUNCTION messages_stored_leased() RETURNS trigger LANGUAGE plpgsql AS $function$
    BEGIN
        NEW.dispatched := true;
        RETURN NEW;
    END
    $function$;
    CREATE TRIGGER messages_stored_leased BEFORE INSERT ON messages
        FOR EACH ROW WHEN (NEW.lease_owner IS NOT NULL)
        EXECUTE FUNCTION messages_stored_leased();
    """,
    # 6: no rule in SQL. A save's ledger changes are billing_core's, computed in Python
    # on the ledgers read under lock and written as rows (billing/postgres.py, after
    # billing/rules.py); a billing reply is accepted as any message (messages/postgres_accept.py,
    # after messages/accept.py), which stores a leased message dispatched itself.
    """
    DROP FUNCTION billing_save_answer;
    DROP FUNCTION billing_save_outcome;
    DROP TRIGGER messages_stored_leased ON messages;
    DROP FUNCTION messages_stored_leased;
    """,
    # 7: a charge says what it bills (billing_core's ChargeKind); a period's fixed
    # charge is billed once per account and service, which the unique index makes
    # impossible to break (charges stored before were all usage: fixed charges were
    # not billed). billing_load_context also returns the fixed charges billed since
    # the period $6 (billing_core.fixed_charges_since), and the tariffs valid since
    # that period's start, so that a whole period's fixed charge can be priced.
    """
    ALTER TABLE billing_charges ADD COLUMN kind text NOT NULL DEFAULT 'usage';
    CREATE UNIQUE INDEX billing_charges_fixed ON billing_charges (account_number, service, period)
        WHERE kind = 'fixed';

    DROP FUNCTION billing_load_context(text, text, text, text, timestamptz);
    CREATE FUNCTION billing_load_context(text, text, text, text, timestamptz, text)
    RETURNS TABLE (settings text, bindings json, seen boolean, account json, meters json,
                   readings json, tariffs json, fixed json)
    LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $function$
    #variable_conflict use_column
    BEGIN
    RETURN QUERY
    WITH b AS (
        SELECT msisdn, account_number, opted_out FROM billing_bindings WHERE msisdn = $1
    ), chosen AS (
        SELECT CASE WHEN $2::text IN (SELECT account_number FROM b) THEN $2::text
                    WHEN (SELECT count(*) FROM b) = 1 THEN (SELECT account_number FROM b)
               END AS number
    ), acc AS (
        SELECT a.* FROM billing_accounts AS a WHERE a.number = (SELECT number FROM chosen)
    ), utility AS (
        SELECT u.id, u.settings FROM billing_utilities AS u
        WHERE u.id = coalesce(
            (SELECT utility_id FROM acc),
            (SELECT a.utility_id FROM billing_accounts AS a
             WHERE a.number IN (SELECT account_number FROM b) ORDER BY a.number LIMIT 1),
            $4::text,
            (SELECT id FROM billing_utilities ORDER BY is_default DESC, id LIMIT 1))
    ), meters AS (
        SELECT m.*, p.service FROM billing_meters AS m
        JOIN billing_service_points AS p ON p.id = m.service_point_id
        WHERE p.account_number = (SELECT number FROM acc)
    ), regs AS (
        SELECT g.* FROM billing_registers AS g WHERE g.meter_id IN (SELECT id FROM meters)
    ), hist AS (
        SELECT last.* FROM regs, LATERAL (
            SELECT * FROM billing_readings AS r
            WHERE r.register_id = regs.id AND r.status = 'accepted'
            ORDER BY r.taken_at DESC, r.id DESC LIMIT 13  -- billing/rows.py HISTORY_LIMIT
        ) AS last
        UNION ALL
        SELECT r.* FROM billing_readings AS r
        WHERE r.register_id IN (SELECT id FROM regs) AND r.status = 'awaiting_confirmation'
    )
    SELECT
        (SELECT settings FROM utility) AS settings,
        (SELECT coalesce(json_agg(json_build_array(msisdn, account_number, opted_out)
                                  ORDER BY account_number), '[]') FROM b) AS bindings,
        EXISTS (SELECT 1 FROM billing_mo WHERE mo_message_id = $3) AS seen,
        (SELECT json_build_array(
            json_build_array(a.number, a.language, a.time_zone, a.closed, a.opening::text,
                             a.charges::text, a.penalties::text, a.payments::text,
                             a.advance::text),
            (SELECT coalesce(json_agg(json_build_array(i.period, i.principal::text,
                                                       i.penalty::text, i.due_date)), '[]')
             FROM billing_open_items AS i WHERE i.account_number = a.number))
         FROM acc AS a) AS account,
        (SELECT coalesce(json_agg(json_build_array(m.id, m.serial, m.service_point_id, m.service,
            m.digits, m.decimals, m.multiplier::text, m.status,
            (SELECT json_agg(json_build_array(g.id, g.zone) ORDER BY g.position, g.id)
             FROM regs AS g WHERE g.meter_id = m.id))
            ORDER BY m.position, m.id), '[]') FROM meters AS m) AS meters,
        (SELECT coalesce(json_agg(json_build_array(r.id, r.register_id, r.value::text,
                                                   r.taken_at, r.received_at, r.source,
                                                   r.status, r.period, r.mo_message_id)), '[]')
         FROM hist AS r) AS readings,
        (SELECT coalesce(json_agg(json_build_array(t.id, t.service, t.zone, t.valid_from,
                                                   t.valid_to, t.pricing)
                                  ORDER BY t.service, t.valid_from, t.id), '[]')
         FROM billing_tariffs AS t
         WHERE t.utility_id = (SELECT utility_id FROM acc)
           AND t.service IN (SELECT service FROM meters)
           AND (t.valid_to IS NULL OR t.valid_to > least(
                (coalesce((SELECT min(taken_at) FROM hist), $5) AT TIME ZONE 'UTC')::date - 1,
                to_date($6, 'YYYY-MM')))
        ) AS tariffs,
        (SELECT coalesce(json_agg(json_build_array(c.service, c.period)), '[]')
         FROM billing_charges AS c
         WHERE c.account_number = (SELECT number FROM acc) AND c.kind = 'fixed'
           AND c.period >= $6) AS fixed;
    END
    $function$;
    """,
    # 8: closing a period. Its estimate is billed once per meter and period; the
    # penalties it accrues are kept per account, open item's period and closed
    # period (the key that makes a second close of the period accrue nothing).
    """
    CREATE UNIQUE INDEX billing_charges_estimate ON billing_charges (meter_id, period)
        WHERE kind = 'estimate';
    CREATE TABLE billing_penalties (
        account_number text COLLATE "C" NOT NULL REFERENCES billing_accounts (number),
        period text NOT NULL,
        closed_period text NOT NULL,
        through date NOT NULL,
        amount numeric NOT NULL,
        PRIMARY KEY (account_number, period, closed_period)
    );
    CREATE INDEX billing_accounts_utility ON billing_accounts (utility_id, number);
    """,
    # 9: notices runs. A notice a run plans has a key (kind, account, service, period,
    # phone) stored once: a second run, or one after a crash, finds it. The caps count
    # a phone's notices of every account, and the campaign messages sent to it.
    """
    ALTER TABLE billing_notices ADD COLUMN notice_key text COLLATE "C";
    CREATE UNIQUE INDEX billing_notices_key ON billing_notices (notice_key)
        WHERE notice_key IS NOT NULL;
    CREATE INDEX billing_notices_unqueued ON billing_notices (account_number)
        WHERE notice_key IS NOT NULL AND message_id IS NULL;
    CREATE INDEX billing_notices_msisdn ON billing_notices (msisdn, created_at);
    CREATE INDEX messages_campaign_destination ON messages (destination, not_before)
        WHERE campaign_id IS NOT NULL;
    """,
    # 10: scheduled jobs (closing a period, notices) and their runs. A job row is
    # claimed under a lease, so one process runs it at a time.
    """
    CREATE TABLE scheduled_jobs (
        name text PRIMARY KEY,
        next_due double precision NOT NULL,
        lease_owner text,
        lease_until double precision,
        runs bigint NOT NULL DEFAULT 0,
        last_run bigint
    );
    CREATE TABLE job_runs (
        id bigserial PRIMARY KEY,
        job text NOT NULL REFERENCES scheduled_jobs (name),
        owner text NOT NULL,
        due_at double precision NOT NULL,
        started_at double precision NOT NULL,
        finished_at double precision,
        outcome text,
        detail text
    );
    CREATE INDEX job_runs_job ON job_runs (job, id);
    """,
    # 11: a meter's next verification (поверка) is due by this date: meter
    # verification invitations go in the days before it. Penalties follow the debt
    # day by day: when a charge was billed (one billed after its item's due date
    # counts from then on), and the due date of the item a payment paid (an item paid
    # off still owes its penalty up to the payment). Rows written before: NULL.
    """
    ALTER TABLE billing_meters ADD COLUMN verification_date date;
    ALTER TABLE billing_charges ADD COLUMN billed_at timestamptz;
    ALTER TABLE billing_payment_allocations ADD COLUMN due_date date;
    """,
    # 12: routes paused by an operator (a row while paused, read by every process), and
    # retention: the counts by day of purged messages; a billing notice's message is
    # found by its id (retention keeps it: the proof of delivery).
    """
    CREATE TABLE route_pauses (
        route text PRIMARY KEY,
        since double precision NOT NULL,
        paused_by text NOT NULL
    );
    CREATE TABLE message_days (
        day text NOT NULL,
        smsc text NOT NULL,
        state text NOT NULL,
        messages bigint NOT NULL,
        parts bigint NOT NULL,
        PRIMARY KEY (day, smsc, state)
    );
    CREATE INDEX billing_notices_message ON billing_notices (message_id)
        WHERE message_id IS NOT NULL;
    """,
    # 13: routing. The rule that chose a message's route ("explicit" when the request
    # named it, NULL when no routing table is configured) and the routes its rule
    # allows, in failover order, space-separated (route names hold no spaces): a
    # failover moves the message to the next one after its current smsc. The partial
    # index holds only queued messages with more than one route: a route that has
    # lost its binds looks for what can move every second, and must not scan a
    # backlog that cannot.
    """
    ALTER TABLE messages ADD COLUMN route_rule text;
    ALTER TABLE messages ADD COLUMN route_plan text;
    CREATE INDEX messages_failover ON messages (smsc, id)
        WHERE state = 'queued' AND route_plan LIKE '% %';
    """,
    # 14: shares of an SMSC account's rate, one row per gateway process sending for
    # it, renewed while the process lives: the account's limit holds across processes.
    # And the state PRESUMED_DELIVERED: no failure receipt by the receipt timeout on a
    # route asking failure receipts only.
    """
    ALTER TABLE messages DROP CONSTRAINT messages_state_check;
    ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('queued', 'held',
        'submitting', 'submitted', 'delivered', 'undeliverable', 'expired', 'rejected',
        'deleted', 'unknown', 'cancelled', 'quarantined', 'presumed_delivered'));
    CREATE TABLE rate_shares (
        route text COLLATE "C" NOT NULL,
        holder text COLLATE "C" NOT NULL,
        lease_until double precision NOT NULL,
        level double precision NOT NULL,
        cut_at double precision,
        PRIMARY KEY (route, holder)
    );
    """,
    # 15: tenants and delivery callbacks. A message and a campaign carry the tenant
    # whose API key made them (NULL: the operator's); a message carries where its
    # state changes are posted and which ones (",submitted,delivered," ...). Each
    # tenant's quota use is counted per day and per month (D2026-12-05, M2026-12) in
    # the store, so every gateway process sees one count. The callback outbox holds
    # the events written in the transaction of the state change they tell, until
    # they are posted (then deleted) or parked as dead letters. MO messages routed to
    # a tenant, or taken by no route, are kept.
    """
    ALTER TABLE messages ADD COLUMN tenant text COLLATE "C";
    ALTER TABLE messages ADD COLUMN callback_url text;
    ALTER TABLE messages ADD COLUMN callback_events text;
    ALTER TABLE campaigns ADD COLUMN tenant text COLLATE "C";
    CREATE INDEX messages_tenant_created ON messages (tenant, created_at);
    CREATE TABLE tenant_usage (
        tenant text COLLATE "C" NOT NULL,
        period text COLLATE "C" NOT NULL,
        messages bigint NOT NULL DEFAULT 0,
        parts bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, period)
    );
    CREATE TABLE callback_outbox (
        id bigserial PRIMARY KEY,
        message_id bigint,
        tenant text COLLATE "C",
        url text NOT NULL,
        event text NOT NULL,
        occurred_at double precision NOT NULL,
        payload text,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_at double precision NOT NULL,
        created_at double precision NOT NULL,
        last_error text,
        lease_owner text,
        lease_until double precision
    );
    CREATE INDEX callback_outbox_due ON callback_outbox (status, next_at);
    CREATE INDEX callback_outbox_message ON callback_outbox (message_id, id)
        WHERE message_id IS NOT NULL;
    CREATE TABLE mo_messages (
        id bigserial PRIMARY KEY,
        mo_id text COLLATE "C" NOT NULL UNIQUE,
        smsc text NOT NULL,
        source text NOT NULL,
        destination text NOT NULL,
        text text NOT NULL,
        data_coding integer NOT NULL,
        parts integer NOT NULL,
        received_at double precision NOT NULL,
        route text NOT NULL,
        tenant text COLLATE "C"
    );
    CREATE INDEX mo_messages_route ON mo_messages (route, id);
    """,
    # 16: messages taken over the SMPP server face keep the client's segment as sent
    # (esm_class, data_coding, short_message and TLVs, in submit_sm's own layout), so a
    # part of a long message goes upstream with the client's UDH or SAR, never re-split.
    # NULL: the text is split by the route as before.
    """
    ALTER TABLE messages ADD COLUMN payload bytea;
    """,
    # 17: the id a client was given for a message when not its own: the other
    # destinations of a submit_multi over the SMPP server face, whose one
    # submit_multi_resp named the first destination's id; their receipts name it too.
    # NULL: the message's own id.
    """
    ALTER TABLE messages ADD COLUMN receipt_id bigint;
    """,
    # 18: a message sent as a flash SMS (data_coding message class 0), per message; and
    # the send time its client asked for (NULL: none), which a route scheduling at the
    # SMSC (schedule_delivery_time) may hand over early.
    """
    ALTER TABLE messages ADD COLUMN flash boolean NOT NULL DEFAULT false;
    ALTER TABLE messages ADD COLUMN send_at double precision;
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
