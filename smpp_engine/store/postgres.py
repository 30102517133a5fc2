"""The store on PostgreSQL: asyncpg on the bridge's uvloop loop, shared by gateway processes.

Every method is one coroutine run on the bridge (:mod:`.bridge`) with a pooled
connection, and one transaction: most are a single statement whose common table
expressions do all the writing (the rows, their events, the count changes), so
a batch costs one round trip. Claims take rows with ``FOR UPDATE SKIP LOCKED``:
several processes claim side by side and never get the same message.

Errors: what waiting may cure (the server unreachable, the connection lost, too
many connections, a deadlock victim) is :class:`StoreUnavailableError`; the
rest is :class:`StoreError`. Both name the operation. A connection lost during
COMMIT is reported as unavailable although the server may have committed: the
calls that matter are safe to repeat (idempotency keys, per-part updates).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any, TypeVar, TypeVarTuple

import asyncpg  # type: ignore[import-untyped]
import trio

from metrics import STORE_ERRORS, child

from .billing.postgres import PostgresBilling
from .bridge import AsyncioBridge, BridgeCancelledError, BridgeClosedError, open_bridge
from .callbacks.postgres import PostgresCallbacks
from .campaigns.postgres import PostgresCampaigns
from .errors import StoreError, StoreUnavailableError
from .jobs.postgres import PostgresJobs
from .messages.accept import check_new
from .messages.model import (
    Accepted,
    ClaimedMessage,
    MessageEvent,
    MessageState,
    MessageView,
    NewMessage,
    PartState,
    PartView,
    RecoveryReport,
    Update,
    pending_parts,
    stored_priority,
)
from .messages.plans import REROUTED_EVENT, decode_plan, failover_moves
from .messages.postgres_accept import accept_messages
from .messages.postgres_record import record_batch
from .messages.recovery import UnleaseMove, plan_recovery, release_moves, unlease_moves
from .messages.rules import ANSWERED_PART_STATES, check_updates, receipt_timeout
from .mo.postgres import PostgresMo
from .opening import ANSWERS_POOL_SIZE, POOL_SIZE
from .pauses.postgres import PostgresPauses
from .rates.postgres import PostgresRateShares
from .retention.postgres import PostgresRetention
from .schema.postgres import migrate
from .tenants.postgres import PostgresTenants

__all__ = ["PostgresStore", "open_postgres_store"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_NAME = "postgresql"

# What waiting can cure. OSError covers refused and reset connections; TimeoutError
# a connect that never completed.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,  # lost mid-call, rejected
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, cancelled
    asyncpg.exceptions.TransactionRollbackError,  # deadlock or serialization victim
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby, before failover ends
    # asyncpg lost track of a connection (killed while idle, seen half-way): the
    # pool replaces it, so the next call works.
    asyncpg.exceptions.InternalClientError,
    BridgeClosedError,
    BridgeCancelledError,
)

_ANSWERED = sorted(ANSWERED_PART_STATES)

_CLAIM = """
WITH expired AS (
    UPDATE messages AS m SET state = 'expired', updated_at = $2
    FROM (
        SELECT id FROM messages
        WHERE smsc = $1 AND state = 'queued' AND expires_at < $2 AND not_before <= $2
        ORDER BY expires_at
        LIMIT $6
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE m.id = due.id
    RETURNING m.id, m.expires_at, m.tenant, m.callback_url, m.callback_events
), expired_events AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $2, 'expired', format('expires_at=%s before submission', expires_at)
    FROM expired
), expired_callbacks AS (
    -- callbacks.rules.wanted(), in SQL.
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT id, tenant, callback_url, 'expired', $2, $2, $2 FROM expired
    WHERE callback_url IS NOT NULL AND callback_events LIKE '%,expired,%'
), picked AS (
    SELECT id FROM messages
    WHERE smsc = $1 AND state = 'queued' AND {due}
      AND (expires_at IS NULL OR expires_at >= $2)
    ORDER BY priority DESC, not_before, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE messages AS m
    SET state = 'submitting', lease_owner = $4, lease_until = $2 + $5,
        attempts = m.attempts + 1, dispatched = false, updated_at = $2
    FROM picked WHERE m.id = picked.id
    -- attempts as the claimer sees them: the claims before this one.
    RETURNING m.id, m.smsc, m.source, m.destination, m.text, m.parts, m.priority,
        m.registered_delivery, m.not_before, m.expires_at, m.attempts - 1 AS attempts,
        m.possible_duplicate,
        m.campaign_id, m.source_ton, m.source_npi, m.dest_ton, m.dest_npi, m.unclean_stops,
        m.route_plan, m.payload, m.flash, m.send_at
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT $1, change.state, change.delta
    FROM (VALUES
        ('queued', -(SELECT count(*) FROM claimed) - (SELECT count(*) FROM expired)),
        ('submitting', (SELECT count(*) FROM claimed)),
        ('expired', (SELECT count(*) FROM expired))
    ) AS change (state, delta)
    WHERE change.delta <> 0
)
SELECT c.*, ARRAY(
    SELECT p.part FROM message_parts AS p
    WHERE p.message_id = c.id AND p.state = ANY($7::text[])
) AS answered
FROM claimed AS c
ORDER BY c.priority DESC, c.not_before, c.id
"""

# Expired messages are settled at most this many per claim, so one claim stays
# short even behind a large expired backlog; the next claims take the rest.
# The ordinary claim keeps its plain predicate; a route scheduling at the SMSC also takes
# messages whose client send time ($8) is within its lead, unless moved since (a retry
# sets another not_before). Campaign messages have no send_at, so they never come early.
# The bound on not_before alone stays an index condition of messages_claim_order, as in
# the ordinary claim: only the messages inside the lead are read from the table.
_CLAIM_EARLY = _CLAIM.replace(
    "{due}", "not_before <= $2 + $8 AND (not_before <= $2 OR send_at = not_before)"
)
_CLAIM = _CLAIM.replace("{due}", "not_before <= $2")

_EXPIRE_PER_CLAIM = 1000

# The expired leases with what decides their fate (see messages/recovery.py); the campaigns
# are locked shared so a state change in progress is waited for.
_EXPIRED_LEASES = """
WITH old AS MATERIALIZED (
    SELECT id, smsc, lease_owner, campaign_id, dispatched, unclean_stops FROM messages
    WHERE state = 'submitting' AND lease_until <= $1
    ORDER BY id
    FOR UPDATE
), campaign AS MATERIALIZED (
    SELECT id, state FROM campaigns
    WHERE id IN (SELECT campaign_id FROM old)
    ORDER BY id
    FOR SHARE
)
SELECT old.id, old.smsc, old.lease_owner, c.state AS campaign_state, old.dispatched,
       old.unclean_stops
FROM old LEFT JOIN campaign AS c ON c.id = old.campaign_id
ORDER BY old.id
"""

# Each expired lease as .recovery planned it: its new state, whether it counts as an
# unclean stop (flagged possible_duplicate), and its event.
_UNLEASE = """
WITH moved AS (
    UPDATE messages AS m
    SET state = u.state,
        possible_duplicate = m.possible_duplicate OR u.stopped,
        unclean_stops = m.unclean_stops + CASE WHEN u.stopped THEN 1 ELSE 0 END,
        attempts = CASE WHEN u.stopped THEN m.attempts ELSE greatest(m.attempts - 1, 0) END,
        lease_owner = NULL, lease_until = NULL, updated_at = $1
    FROM unnest($2::bigint[], $3::text[], $4::boolean[]) AS u (id, state, stopped)
    WHERE m.id = u.id
    RETURNING m.id, m.smsc, m.state, m.tenant, m.callback_url, m.callback_events
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $1, event, detail FROM unnest($2::bigint[], $5::text[], $6::text[])
        AS e (id, event, detail)
), callbacks_written AS (
    -- callbacks.rules.wanted(), in SQL: a quarantined (or cancelled) message's event.
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT id, tenant, callback_url, state, $1, $1, $1 FROM moved
    WHERE callback_url IS NOT NULL AND callback_events LIKE '%,' || state || ',%'
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, 'submitting', -count(*) FROM moved GROUP BY smsc
    UNION ALL
    SELECT smsc, state, count(*) FROM moved GROUP BY smsc, state
)
SELECT count(*) FROM moved
"""

_RENEW = """
WITH renewed AS (
    UPDATE messages SET lease_until = $3
    WHERE state = 'submitting' AND lease_owner = $2 AND smsc = $1
    RETURNING 1
)
SELECT count(*) FROM renewed
"""

# The leases of ``owner`` among the ids, with what decides their fate (see messages/recovery.py).
_LEASED_BY = """
WITH old AS MATERIALIZED (
    SELECT id, smsc, lease_owner, campaign_id, dispatched, unclean_stops FROM messages
    WHERE id = ANY($1::bigint[]) AND state = 'submitting' AND lease_owner = $2
    ORDER BY id
    FOR UPDATE
), campaign AS MATERIALIZED (
    SELECT id, state FROM campaigns
    WHERE id IN (SELECT campaign_id FROM old)
    ORDER BY id
    FOR SHARE
)
SELECT old.id, old.smsc, old.lease_owner, c.state AS campaign_state, old.dispatched,
       old.unclean_stops
FROM old LEFT JOIN campaign AS c ON c.id = old.campaign_id
ORDER BY old.id
"""

_PURGE_HELD_RECEIPTS = """
WITH purged AS (DELETE FROM held_receipts WHERE received_at < $1 RETURNING 1)
SELECT count(*) FROM purged
"""

_EXPIRE_RECEIPTS = """
WITH settled AS (
    UPDATE messages
    SET state = $4, lease_owner = NULL, lease_until = NULL, updated_at = $2
    WHERE state = 'submitted' AND updated_at < $1 AND ($3::text IS NULL OR smsc = $3)
    RETURNING id, smsc, tenant, callback_url, callback_events
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $2, 'receipt_timeout', $5 || ' -> ' || $4 FROM settled
), callbacks_written AS (
    -- callbacks.rules.wanted(), in SQL.
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT id, tenant, callback_url, $4, $2, $2, $2 FROM settled
    WHERE callback_url IS NOT NULL AND callback_events LIKE '%,' || $4 || ',%'
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, change.state, change.sign * count(*)
    FROM settled CROSS JOIN (VALUES ('submitted', -1), ($4, 1)) AS change (state, sign)
    GROUP BY smsc, change.state, change.sign
)
SELECT count(*) FROM settled
"""

_CANCEL = """
WITH old AS MATERIALIZED (
    SELECT id, state FROM messages
    WHERE id = ANY($1::bigint[]) AND state IN ('queued', 'held')
    ORDER BY id
    FOR UPDATE
), settled AS (
    UPDATE messages AS m
    SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = $2
    FROM old WHERE m.id = old.id
    RETURNING m.id, m.smsc, old.state AS old_state, m.tenant, m.callback_url,
        m.callback_events
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $2, 'cancelled', '-> cancelled' FROM settled
), callbacks_written AS (
    -- callbacks.rules.wanted(), in SQL.
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT id, tenant, callback_url, 'cancelled', $2, $2, $2 FROM settled
    WHERE callback_url IS NOT NULL AND callback_events LIKE '%,cancelled,%'
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, old_state, -count(*) FROM settled GROUP BY smsc, old_state
    UNION ALL
    SELECT smsc, 'cancelled', count(*) FROM settled GROUP BY smsc
)
SELECT count(*) FROM settled
"""

# Waiting messages of a route whose plan names a route after it (the rule that picks
# that route is failover_moves'); the others would fill the limit and never move.
_FAILOVER_CANDIDATES = """
SELECT id, route_plan FROM messages
WHERE smsc = $1 AND state = 'queued' AND route_plan LIKE '% %'
  AND strpos(' ' || route_plan || ' ', ' ' || $1 || ' ')
      BETWEEN 1 AND length(route_plan) - length($1)
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

_FAIL_OVER = """
WITH moved AS (
    UPDATE messages AS m SET smsc = u.target, updated_at = greatest(m.updated_at, $2)
    FROM unnest($3::bigint[], $4::text[]) AS u (id, target)
    WHERE m.id = u.id
    RETURNING m.id, m.smsc
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $2, $5, detail FROM unnest($3::bigint[], $6::text[]) AS e (id, detail)
)
INSERT INTO state_count_changes (smsc, state, delta)
SELECT $1, 'queued', -count(*) FROM moved
UNION ALL
SELECT smsc, 'queued', count(*) FROM moved GROUP BY smsc
"""

_GET_MESSAGE = """
SELECT id, smsc, source, destination, text, state, priority, parts, created_at, updated_at,
       attempts, possible_duplicate, campaign_id, idempotency_key, error_code, route_rule,
       route_plan, tenant, flash
FROM messages WHERE id = $1
"""
_GET_PARTS = """
SELECT part, state, bind, smsc_message_id, submitted_at, responded_at, command_status,
       receipt_at, receipt_error, done_at
FROM message_parts WHERE message_id = $1 ORDER BY part
"""
_GET_EVENTS = "SELECT at, event, detail FROM message_events WHERE message_id = $1 ORDER BY id"

# Folding the appended count changes into the totals: serialised by an advisory
# lock so two readers folding at once never wait on each other's rows in turn.
_FOLD_LOCK = 0x736D_7070_666F_6C64  # "smppfold"
_FOLD_STATE_COUNTS = """
WITH moved AS (DELETE FROM state_count_changes RETURNING smsc, state, delta)
INSERT INTO state_counts (smsc, state, n)
SELECT smsc, state, sum(delta) FROM moved GROUP BY smsc, state
ON CONFLICT (smsc, state) DO UPDATE SET n = state_counts.n + EXCLUDED.n
"""
_FOLD_COUNTERS = """
WITH moved AS (DELETE FROM store_counter_changes RETURNING name, delta)
INSERT INTO store_counters (name, value)
SELECT name, sum(delta) FROM moved GROUP BY name
ON CONFLICT (name) DO UPDATE SET value = store_counters.value + EXCLUDED.value
"""
_COUNT_ALL = "SELECT state, sum(n)::bigint AS n FROM state_counts GROUP BY state"
_COUNT_SMSC = "SELECT state, n FROM state_counts WHERE smsc = $1"

#: One tenant's messages by state (on one route, or all): the running counts are per
#: route only, so these are counted from the messages (the tenant's index).
_COUNT_TENANT = (
    "SELECT state, count(*) AS n FROM messages WHERE tenant = $1 "
    "AND ($2::text IS NULL OR smsc = $2) GROUP BY state"
)


class PostgresStore(
    PostgresCampaigns,
    PostgresBilling,
    PostgresJobs,
    PostgresPauses,
    PostgresRetention,
    PostgresRateShares,
    PostgresCallbacks,
    PostgresTenants,
    PostgresMo,
):
    """The store on a PostgreSQL database; open it with :func:`open_postgres_store`.

    Campaigns, groups and opt-outs (:class:`CampaignStore`) come from
    :class:`~.campaigns.postgres.PostgresCampaigns`, the billing repository
    (:class:`billing_core.BillingRepository`) from
    :class:`~.billing.postgres.PostgresBilling`.
    """

    name: str = _NAME

    def __init__(self, bridge: AsyncioBridge, pool: Any, planned: Any) -> None:
        self._bridge = bridge
        self._pool = pool
        # Connections that plan once (see _PLANNED_SETTINGS), for the billing answers.
        self._planned = planned
        self._closed = False

    async def _run(
        self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
    ) -> T:
        """Run ``coro_fn`` on the bridge; its failures become typed store errors."""
        if self._closed:
            raise StoreError(_NAME, f"{operation}: the store is closed")
        try:
            return await self._bridge.call(coro_fn, *args)
        except StoreError:
            child(STORE_ERRORS, _NAME, operation).inc()
            raise
        except Exception as exc:
            child(STORE_ERRORS, _NAME, operation).inc()
            raise _store_error(operation, exc) from exc

    # --- writes ---

    async def accept(self, messages: Sequence[NewMessage], *, now: float) -> list[Accepted]:
        check_new(messages)
        if not messages:
            await trio.lowlevel.checkpoint()
            return []
        return await self._run("accept", self._accept, list(messages), now)

    async def _accept(self, messages: list[NewMessage], now: float) -> list[Accepted]:
        async with self._pool.acquire() as connection:
            # One statement: atomic without an explicit transaction.
            return await accept_messages(connection, messages, now)

    async def claim(
        self,
        smsc: str,
        limit: int,
        *,
        owner: str,
        now: float,
        lease: float,
        early: float = 0.0,
    ) -> list[ClaimedMessage]:
        if limit <= 0:
            await trio.lowlevel.checkpoint()
            return []
        return await self._run("claim", self._claim, smsc, limit, owner, (now, lease, early))

    async def _claim(
        self, smsc: str, limit: int, owner: str, times: tuple[float, float, float]
    ) -> list[ClaimedMessage]:
        now, lease, early = times
        args = (smsc, now, limit, owner, lease, _EXPIRE_PER_CLAIM, _ANSWERED)
        async with self._pool.acquire() as connection:
            if early > 0:
                records = await connection.fetch(_CLAIM_EARLY, *args, early)
            else:
                records = await connection.fetch(_CLAIM, *args)
        return [
            ClaimedMessage(
                message_id=r["id"],
                smsc=r["smsc"],
                source=r["source"],
                destination=r["destination"],
                text=r["text"],
                parts=r["parts"],
                priority=stored_priority(r["priority"]),
                registered_delivery=r["registered_delivery"],
                expires_at=r["expires_at"],
                attempts=r["attempts"],
                possible_duplicate=r["possible_duplicate"],
                campaign_id=r["campaign_id"],
                pending_parts=pending_parts(r["parts"], r["answered"]),
                source_ton=r["source_ton"],
                source_npi=r["source_npi"],
                dest_ton=r["dest_ton"],
                dest_npi=r["dest_npi"],
                unclean_stops=r["unclean_stops"],
                route_plan=decode_plan(r["route_plan"]),
                payload=r["payload"],
                flash=r["flash"],
                send_at=r["send_at"],
            )
            for r in records
        ]

    async def record(self, updates: Sequence[Update]) -> None:
        check_updates(updates)
        if not updates:
            await trio.lowlevel.checkpoint()
            return
        await self._run("record", self._record, list(updates))

    async def _record(self, updates: list[Update]) -> None:
        async with self._pool.acquire() as connection:
            await record_batch(connection, updates)

    async def recover(self, *, now: float, quarantine_after: int = 3) -> RecoveryReport:
        if quarantine_after < 1:
            raise ValueError(f"quarantine_after must be at least 1, got {quarantine_after!r}")
        return await self._run("recover", self._recover, now, quarantine_after)

    async def _recover(self, now: float, quarantine_after: int) -> RecoveryReport:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_EXPIRED_LEASES, now)
            if not rows:
                return RecoveryReport()
            plan = plan_recovery((tuple(r) for r in rows), quarantine_after)
            await _unlease(connection, unlease_moves(plan), now)
        return plan.report()

    async def renew(self, smsc: str, *, owner: str, until: float) -> int:
        renewed: int = await self._run("renew", self._fetch_value, _RENEW, smsc, owner, until)
        return renewed

    async def release(self, message_ids: Sequence[int], *, owner: str, now: float) -> int:
        if not message_ids:
            await trio.lowlevel.checkpoint()
            return 0
        return await self._run("release", self._release, list(message_ids), owner, now)

    async def _release(self, message_ids: list[int], owner: str, now: float) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_LEASED_BY, message_ids, owner)
            moves = release_moves((tuple(r) for r in rows), owner)
            if moves:
                await _unlease(connection, moves, now)
        return len(moves)

    async def fail_over(
        self, smsc: str, *, now: float, reason: str, limit: int = 1000
    ) -> Mapping[str, int]:
        return await self._run("fail_over", self._fail_over, smsc, now, reason, limit)

    async def _fail_over(self, smsc: str, now: float, reason: str, limit: int) -> dict[str, int]:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_FAILOVER_CANDIDATES, smsc, limit)
            moves = failover_moves(((r["id"], r["route_plan"]) for r in rows), smsc, reason)
            if not moves:
                return {}
            await connection.execute(
                _FAIL_OVER,
                smsc,
                now,
                [m[0] for m in moves],
                [m[1] for m in moves],
                REROUTED_EVENT,
                [m[2] for m in moves],
            )
        moved: dict[str, int] = {}
        for _, target, _ in moves:
            moved[target] = moved.get(target, 0) + 1
        return moved

    async def expire_receipts(
        self,
        *,
        older_than: float,
        now: float,
        smsc: str | None = None,
        presume_delivered: bool = False,
    ) -> int:
        state, detail = receipt_timeout(presume_delivered=presume_delivered)
        return await self._run(
            "expire_receipts",
            self._fetch_value,
            _EXPIRE_RECEIPTS,
            older_than,
            now,
            smsc,
            state.value,
            detail,
        )

    async def purge_held_receipts(self, *, older_than: float) -> int:
        purged: int = await self._run(
            "purge_held_receipts", self._fetch_value, _PURGE_HELD_RECEIPTS, older_than
        )
        return purged

    async def cancel(self, message_ids: Sequence[int], *, now: float) -> int:
        if not message_ids:
            await trio.lowlevel.checkpoint()
            return 0
        return await self._run("cancel", self._fetch_value, _CANCEL, list(message_ids), now)

    # --- reads ---

    async def get(self, message_id: int) -> MessageView | None:
        return await self._run("get", self._get, message_id)

    async def _get(self, message_id: int) -> MessageView | None:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await connection.fetchrow(_GET_MESSAGE, message_id)
            if row is None:
                return None
            part_rows = await connection.fetch(_GET_PARTS, message_id)
            event_rows = await connection.fetch(_GET_EVENTS, message_id)
        stored = {
            r["part"]: PartView(
                part=r["part"],
                state=PartState(r["state"]),
                bind=r["bind"],
                smsc_message_id=r["smsc_message_id"],
                submitted_at=r["submitted_at"],
                responded_at=r["responded_at"],
                command_status=r["command_status"],
                receipt_at=r["receipt_at"],
                receipt_error=r["receipt_error"],
                done_at=r["done_at"],
            )
            for r in part_rows
        }
        return MessageView(
            message_id=row["id"],
            smsc=row["smsc"],
            source=row["source"],
            destination=row["destination"],
            text=row["text"],
            state=MessageState(row["state"]),
            priority=row["priority"],
            parts=row["parts"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            attempts=row["attempts"],
            possible_duplicate=row["possible_duplicate"],
            campaign_id=row["campaign_id"],
            idempotency_key=row["idempotency_key"],
            error_code=row["error_code"],
            part_views=tuple(
                stored.get(number) or PartView(number, PartState.PENDING, *(None,) * 8)
                for number in range(row["parts"])
            ),
            events=tuple(MessageEvent(r["at"], r["event"], r["detail"]) for r in event_rows),
            route_rule=row["route_rule"],
            route_plan=decode_plan(row["route_plan"]),
            tenant=row["tenant"],
            flash=row["flash"],
        )

    async def find_by_idempotency_key(self, key: str) -> int | None:
        return await self._run(
            "find_by_idempotency_key",
            self._fetch_value,
            "SELECT id FROM messages WHERE idempotency_key = $1",
            key,
        )

    async def count_by_state(
        self, *, smsc: str | None = None, tenant: str | None = None
    ) -> Mapping[MessageState, int]:
        return await self._run("count_by_state", self._count_by_state, smsc, tenant)

    async def _count_by_state(
        self, smsc: str | None, tenant: str | None
    ) -> dict[MessageState, int]:
        if tenant is not None:
            async with self._pool.acquire() as connection:
                rows = await connection.fetch(_COUNT_TENANT, tenant, smsc)
            return {MessageState(r["state"]): r["n"] for r in rows if r["n"]}
        async with self._pool.acquire() as connection, connection.transaction():
            await _fold(connection, _FOLD_STATE_COUNTS)
            if smsc is None:
                rows = await connection.fetch(_COUNT_ALL)
            else:
                rows = await connection.fetch(_COUNT_SMSC, smsc)
        return {MessageState(r["state"]): r["n"] for r in rows if r["n"]}

    async def name_receipts(self, receipt_id: int, message_ids: Sequence[int]) -> None:
        await self._run("name_receipts", self._name_receipts, receipt_id, list(message_ids))

    async def _name_receipts(self, receipt_id: int, message_ids: list[int]) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute(
                "UPDATE messages SET receipt_id = $1 WHERE id = ANY($2::bigint[])",
                receipt_id,
                message_ids,
            )

    async def receipt_ids(self, message_ids: Sequence[int]) -> Mapping[int, int]:
        return await self._run("receipt_ids", self._receipt_ids, list(message_ids))

    async def _receipt_ids(self, message_ids: list[int]) -> dict[int, int]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id, receipt_id FROM messages "
                "WHERE id = ANY($1::bigint[]) AND receipt_id IS NOT NULL",
                message_ids,
            )
        return {int(r["id"]): int(r["receipt_id"]) for r in rows}

    async def stats(self) -> Mapping[str, int]:
        return await self._run("stats", self._stats)

    async def _stats(self) -> dict[str, int]:
        result = {"orphan_updates": 0, "duplicate_receipts": 0, "held_receipts_applied": 0}
        async with self._pool.acquire() as connection, connection.transaction():
            await _fold(connection, _FOLD_COUNTERS)
            for r in await connection.fetch("SELECT name, value FROM store_counters"):
                result[r["name"]] = r["value"]
            result["held_receipts"] = await connection.fetchval(
                "SELECT count(*) FROM held_receipts"
            )
        return result

    # --- plumbing ---

    async def _fetch_column(self, query: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as connection:
            return [record[0] for record in await connection.fetch(query, *args)]

    async def _fetch_value(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchval(query, *args)

    async def aclose(self) -> None:
        """Close the pool (waiting briefly for calls still running). Idempotent."""
        if self._closed:
            return
        self._closed = True
        # Shielded: closing from a cancelled scope must still close. A bridge
        # already stopped took the connections with it.
        with trio.CancelScope(shield=True), suppress(BridgeClosedError, BridgeCancelledError):
            await self._bridge.call(_close_pool, self._planned)
            await self._bridge.call(_close_pool, self._pool)


async def _unlease(connection: Any, moves: Sequence[UnleaseMove], now: float) -> None:
    """Write ``moves`` (SUBMITTING messages leaving their lease) with their events."""
    await connection.execute(
        _UNLEASE,
        now,
        [m.message_id for m in moves],
        [m.state for m in moves],
        [m.unclean_stop for m in moves],
        [m.event for m in moves],
        [m.detail for m in moves],
    )


def _store_error(operation: str, exc: BaseException) -> StoreError:
    kind = StoreUnavailableError if _unavailable(exc) else StoreError
    return kind(_NAME, f"{operation}: {str(exc) or type(exc).__name__}")


def _unavailable(exc: BaseException) -> bool:
    # A lost connection often surfaces as the error of what ran next, e.g.
    # "cannot call Transaction.__aexit__(): the underlying connection is closed",
    # with the real cause as its context.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def _fold(connection: Any, statement: str) -> None:
    await connection.execute("SELECT pg_advisory_xact_lock($1)", _FOLD_LOCK)
    await connection.execute(statement)


async def _close_pool(pool: Any) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=5.0)
    except TimeoutError:
        pool.terminate()


_SERVER_SETTINGS = {
    "application_name": "smpp-engine",
    # The JIT spends tens of milliseconds compiling the batch statements and
    # gains nothing on statements this short.
    "jit": "off",
    # A generic plan, cached while a table was small, keeps scanning it whole
    # when it has grown; planning each batch statement for its real arrays costs
    # a fraction of a millisecond.
    "plan_cache_mode": "force_custom_plan",
}


# The small pool whose connections plan each statement once, generically, with
# sequential scans ruled out: for the statements run per SMS answered, keyed
# lookups and inserts whose planning costs more than running them, and which
# must run alone (one round trip), where a transaction could set this locally.
_PLANNED_SETTINGS = {
    **_SERVER_SETTINGS,
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
}


async def _keep_session(connection: Any) -> None:
    """Nothing to reset: the store sets no session state (no SET, LISTEN, cursor or
    session advisory lock). asyncpg still rolls back an open transaction; its
    default reset would add a round trip to every release."""


async def _create_pool(dsn: str, min_size: int, max_size: int, connect_timeout: float) -> Any:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=connect_timeout,
        server_settings=_SERVER_SETTINGS,
        reset=_keep_session,
    )
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
    except BaseException:
        pool.terminate()
        raise
    return pool


async def _create_planned_pool(dsn: str, max_size: int, connect_timeout: float) -> Any:
    """The planned pool (see _PLANNED_SETTINGS): it connects when first used."""
    return await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=connect_timeout,
        server_settings=_PLANNED_SETTINGS,
        reset=_keep_session,
    )


@asynccontextmanager
async def open_postgres_store(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = POOL_SIZE,
    answers_max_size: int = ANSWERS_POOL_SIZE,
    connect_timeout: float = 10.0,
    bridge: AsyncioBridge | None = None,
) -> AsyncIterator[PostgresStore]:
    """Connect a pool of ``min_size``..``max_size`` connections, migrate, and yield the store.
    A second pool of up to ``answers_max_size`` connections, which connect when the
    first SMS is answered, plans once per connection (see ``_PLANNED_SETTINGS``).

    ``bridge``: run on this bridge (shared with other users); by default the
    store starts its own and stops it on exit. An unreachable server raises
    :class:`StoreUnavailableError`, a database newer than this code
    :class:`MigrationError`.
    """
    async with AsyncExitStack() as stack:
        if bridge is None:
            bridge = await stack.enter_async_context(open_bridge())
        try:
            pool = await bridge.call(_create_pool, dsn, min_size, max_size, connect_timeout)
        except StoreError:
            raise
        except Exception as exc:
            raise _store_error("open", exc) from exc
        try:
            planned = await bridge.call(
                _create_planned_pool, dsn, answers_max_size, connect_timeout
            )
        except Exception as exc:
            await bridge.call(_close_pool, pool)
            raise _store_error("open", exc) from exc
        store = PostgresStore(bridge, pool, planned)
        stack.push_async_callback(store.aclose)
        yield store
