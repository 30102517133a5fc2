"""Campaigns, recipient groups and the opt-out list on PostgreSQL (:class:`CampaignStore`).

Each method is one transaction on a pooled connection, run on the bridge's loop.
A campaign's messages change state set-wise through the ``messages_campaign``
index, in one statement whose common table expressions also write the events
and the count changes. Lists travel as array parameters.

Locking: a state change locks the campaign's row first, then its messages.
Whatever would queue a message of that campaign meanwhile waits for it and then
reads the new state: :meth:`add_campaign_messages` and the requeues of
``record()`` and ``recover()`` lock the campaign row shared. So no message of a
paused or cancelled campaign is ever left QUEUED behind the change. (A record
batch that already holds a QUEUED message of the campaign, a late answer to an
earlier attempt, can deadlock with the change; PostgreSQL then aborts one of
the two and the caller retries on :class:`StoreUnavailableError`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

import trio

from ..errors import (
    CampaignClosedError,
    DuplicateNameError,
    UnknownCampaignError,
    UnknownGroupError,
)
from ..messages.accept import check_new
from ..messages.model import Accepted, MessageState, NewMessage
from ..messages.postgres_accept import accept_messages
from .model import (
    CLOSED_STATES,
    FAILED_STATE_VALUES,
    HOLDING_STATES,
    RELEASING_STATES,
    CampaignStats,
    CampaignView,
    GroupMember,
    GroupView,
    NewCampaign,
    QueuedCampaignMessage,
    build_stats,
    check_campaign_state,
    check_rate,
    fields_json,
    msisdn_list,
)

__all__ = ["PostgresCampaigns"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_NAME = "postgresql"

# Bounds one statement's array parameter; 200,000 numbers are two statements.
_MSISDN_CHUNK = 100_000

# In the field order of CampaignView.
_CAMPAIGN_COLUMNS = (
    "id, name, smsc, sender, template, kind, rate, start_at, settings, state, created_at, "
    "updated_at, tenant"
)

_CREATE_CAMPAIGN = f"""
INSERT INTO campaigns (name, smsc, sender, template, kind, rate, start_at, settings, state,
                       created_at, updated_at, tenant)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $9, $10)
ON CONFLICT (name) DO NOTHING
RETURNING {_CAMPAIGN_COLUMNS}
"""

_SET_CAMPAIGN_STATE = f"""
UPDATE campaigns SET state = $2, updated_at = $3 WHERE id = $1 RETURNING {_CAMPAIGN_COLUMNS}
"""

# The campaign's messages in state $2 go to $3; each gets event $5 (none if NULL).
_MOVE = """
WITH moved AS (
    UPDATE messages
    SET state = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4
    WHERE campaign_id = $1 AND state = $2
    RETURNING id, smsc, tenant, callback_url, callback_events
), events_written AS (
    INSERT INTO message_events (message_id, at, event, detail)
    SELECT id, $4, $5::text, $6 FROM moved WHERE $5::text IS NOT NULL ORDER BY id
), callbacks_written AS (
    -- callbacks.rules.wanted(), in SQL: a cancelled campaign's messages' events.
    INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at,
        created_at)
    SELECT id, tenant, callback_url, $3, $4, $4, $4 FROM moved
    WHERE callback_url IS NOT NULL AND callback_events LIKE '%,' || $3 || ',%'
    ORDER BY id
), states_counted AS (
    INSERT INTO state_count_changes (smsc, state, delta)
    SELECT smsc, change.state, change.sign * count(*)
    FROM moved CROSS JOIN (VALUES ($2::text, -1), ($3::text, 1)) AS change (state, sign)
    GROUP BY smsc, change.state, change.sign
)
SELECT count(*) FROM moved
"""

_REPACE = """
WITH paced AS (
    SELECT id, $2 + (row_number() OVER (ORDER BY id) - 1)::float8 / $3::float8 AS due
    FROM messages WHERE campaign_id = $1 AND state = 'queued'
), moved AS (
    UPDATE messages AS m SET not_before = paced.due, updated_at = $2
    FROM paced
    -- state again: a message claimed since the snapshot is left alone.
    WHERE m.id = paced.id AND m.not_before < paced.due AND m.state = 'queued'
)
SELECT count(*) FROM paced
"""

_QUEUED_CAMPAIGN_MESSAGES = """
SELECT id, destination, not_before FROM messages
WHERE campaign_id = $1 AND state = 'queued' ORDER BY id
"""
_SCHEDULE_CAMPAIGN_MESSAGES = """
WITH scheduled AS (
    UPDATE messages AS m SET not_before = slot.due, updated_at = $4
    FROM unnest($2::bigint[], $3::float8[]) AS slot (id, due)
    WHERE m.id = slot.id AND m.campaign_id = $1 AND m.state = 'queued'
    RETURNING 1
)
SELECT count(*) FROM scheduled
"""

_COUNT_BY_STATE = """
SELECT state, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY state
"""
_COUNT_ERRORS = """
SELECT error_code, count(*) AS n FROM messages
WHERE campaign_id = $1 AND state = ANY($2::text[]) AND error_code IS NOT NULL
GROUP BY error_code
"""

_GROUP_COLUMNS = """
g.id, g.name, (SELECT count(*) FROM group_members AS m WHERE m.group_id = g.id) AS members,
g.created_at
"""

_UPSERT_MEMBERS = """
WITH written AS (
    INSERT INTO group_members (group_id, msisdn, fields)
    SELECT $1, t.msisdn, t.fields FROM unnest($2::text[], $3::text[]) AS t (msisdn, fields)
    ON CONFLICT (group_id, msisdn) DO UPDATE SET fields = EXCLUDED.fields
    -- An unchanged member is no change: not written, not counted.
    WHERE group_members.fields IS DISTINCT FROM EXCLUDED.fields
    RETURNING 1
)
SELECT count(*) FROM written
"""

_REMOVE_MEMBERS = """
WITH gone AS (
    DELETE FROM group_members WHERE group_id = $1 AND msisdn = ANY($2::text[]) RETURNING 1
)
SELECT count(*) FROM gone
"""

_ADD_OPT_OUTS = """
WITH added AS (
    INSERT INTO opt_outs (msisdn, source, created_at)
    SELECT DISTINCT t.msisdn, $2::text, $3::float8 FROM unnest($1::text[]) AS t (msisdn)
    ON CONFLICT (msisdn) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added
"""

_REMOVE_OPT_OUTS = """
WITH gone AS (DELETE FROM opt_outs WHERE msisdn = ANY($1::text[]) RETURNING 1)
SELECT count(*) FROM gone
"""

# A join on the unnested list, so the planner can hash whichever side is smaller
# (with "= ANY" it probes the index once per number); one array back, not a row
# per number. The numbers go as one text of lines: binding 100,000 of them as a
# text[] costs about 100 ms more here, most of the query. _OPTED_OUT_ARRAY is for
# the lists lines cannot carry (an empty number, or one with a line break).
_OPTED_OUT = """
SELECT array_agg(o.msisdn)
FROM unnest(string_to_array($1::text, E'\\n')) AS t (msisdn) JOIN opt_outs AS o USING (msisdn)
"""
_OPTED_OUT_ARRAY = """
SELECT array_agg(o.msisdn) FROM unnest($1::text[]) AS t (msisdn) JOIN opt_outs AS o USING (msisdn)
"""


class PostgresCampaigns:
    """The :class:`CampaignStore` half of :class:`~.postgres.PostgresStore`."""

    _pool: Any

    if TYPE_CHECKING:

        async def _run(
            self, operation: str, coro_fn: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts
        ) -> T: ...

    # --- campaigns ---

    async def create_campaign(self, campaign: NewCampaign, *, now: float) -> CampaignView:
        return await self._run("create_campaign", self._create_campaign, campaign, now)

    async def _create_campaign(self, campaign: NewCampaign, now: float) -> CampaignView:
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(
                _CREATE_CAMPAIGN,
                campaign.name,
                campaign.smsc,
                campaign.sender,
                campaign.template,
                campaign.kind,
                campaign.rate,
                campaign.start_at,
                campaign.settings,
                now,
                campaign.tenant,
            )
        if row is None:
            raise DuplicateNameError(_NAME, "campaign", campaign.name)
        return CampaignView(*row)

    async def add_campaign_messages(
        self, campaign_id: int, messages: Sequence[NewMessage], *, now: float
    ) -> list[Accepted]:
        check_new(messages)
        return await self._run(
            "add_campaign_messages", self._add_campaign_messages, campaign_id, list(messages), now
        )

    async def _add_campaign_messages(
        self, campaign_id: int, messages: list[NewMessage], now: float
    ) -> list[Accepted]:
        async with self._pool.acquire() as connection, connection.transaction():
            # Shared: adds run side by side, a state change waits for them (and they for it).
            state = await connection.fetchval(
                "SELECT state FROM campaigns WHERE id = $1 FOR SHARE", campaign_id
            )
            if state is None:
                raise UnknownCampaignError(_NAME, campaign_id)
            if state in CLOSED_STATES:
                raise CampaignClosedError(_NAME, campaign_id, state)
            if not messages:
                return []
            waiting = MessageState.HELD if state in HOLDING_STATES else MessageState.QUEUED
            return await accept_messages(
                connection, messages, now, state=waiting, campaign_id=campaign_id
            )

    async def get_campaign(self, campaign_id: int) -> CampaignView | None:
        return await self._run(
            "get_campaign",
            self._fetch_campaign,
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1",
            campaign_id,
        )

    async def find_campaign(self, name: str) -> CampaignView | None:
        return await self._run(
            "find_campaign",
            self._fetch_campaign,
            f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1",
            name,
        )

    async def _fetch_campaign(self, query: str, key: Any) -> CampaignView | None:
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(query, key)
        return None if row is None else CampaignView(*row)

    async def list_campaigns(self) -> list[CampaignView]:
        return await self._run("list_campaigns", self._list_campaigns)

    async def _list_campaigns(self) -> list[CampaignView]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC, id DESC"
            )
        return [CampaignView(*row) for row in rows]

    async def set_campaign_state(self, campaign_id: int, state: str, *, now: float) -> CampaignView:
        check_campaign_state(state)
        return await self._run(
            "set_campaign_state", self._set_campaign_state, campaign_id, state, now
        )

    async def _set_campaign_state(self, campaign_id: int, state: str, now: float) -> CampaignView:
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_SET_CAMPAIGN_STATE, campaign_id, state, now)
            if row is None:
                raise UnknownCampaignError(_NAME, campaign_id)
            moves: list[tuple[MessageState, MessageState, str | None]] = []
            if state in HOLDING_STATES:
                moves.append((MessageState.QUEUED, MessageState.HELD, None))
            elif state in RELEASING_STATES:
                moves.append((MessageState.HELD, MessageState.QUEUED, None))
            elif state == "cancelled":
                for old in (MessageState.QUEUED, MessageState.HELD):
                    moves.append((old, MessageState.CANCELLED, "cancelled"))
            for old, new, event in moves:
                await connection.fetchval(
                    _MOVE, campaign_id, old.value, new.value, now, event, f"campaign -> {new.value}"
                )
        return CampaignView(*row)

    async def repace_campaign(self, campaign_id: int, *, rate: float, now: float) -> int:
        check_rate(rate)
        return await self._run(
            "repace_campaign", self._repace_campaign, campaign_id, float(rate), now
        )

    async def _repace_campaign(self, campaign_id: int, rate: float, now: float) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            if await connection.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id):
                paced: int = await connection.fetchval(_REPACE, campaign_id, now, rate)
                return paced
        raise UnknownCampaignError(_NAME, campaign_id)

    async def queued_campaign_messages(self, campaign_id: int) -> list[QueuedCampaignMessage]:
        return await self._run(
            "queued_campaign_messages", self._queued_campaign_messages, campaign_id
        )

    async def _queued_campaign_messages(self, campaign_id: int) -> list[QueuedCampaignMessage]:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            if not await connection.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id):
                raise UnknownCampaignError(_NAME, campaign_id)
            rows = await connection.fetch(_QUEUED_CAMPAIGN_MESSAGES, campaign_id)
        return [QueuedCampaignMessage(*row) for row in rows]

    async def schedule_campaign_messages(
        self, campaign_id: int, slots: Sequence[tuple[int, float]], *, now: float
    ) -> int:
        return await self._run(
            "schedule_campaign_messages",
            self._schedule_campaign_messages,
            campaign_id,
            [message_id for message_id, _ in slots],
            [due for _, due in slots],
            now,
        )

    async def _schedule_campaign_messages(
        self, campaign_id: int, ids: list[int], dues: list[float], now: float
    ) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id):
                raise UnknownCampaignError(_NAME, campaign_id)
            scheduled: int = await connection.fetchval(
                _SCHEDULE_CAMPAIGN_MESSAGES, campaign_id, ids, dues, now
            )
        return scheduled

    async def campaign_stats(self, campaign_id: int) -> CampaignStats:
        return await self._run("campaign_stats", self._campaign_stats, campaign_id)

    async def _campaign_stats(self, campaign_id: int) -> CampaignStats:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            if not await connection.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id):
                raise UnknownCampaignError(_NAME, campaign_id)
            by_state = await connection.fetch(_COUNT_BY_STATE, campaign_id)
            errors = await connection.fetch(_COUNT_ERRORS, campaign_id, list(FAILED_STATE_VALUES))
        return build_stats(
            campaign_id,
            {row["state"]: row["n"] for row in by_state},
            {row["error_code"]: row["n"] for row in errors},
        )

    # --- recipient groups ---

    async def create_group(self, name: str, *, now: float) -> GroupView:
        if not name.strip():
            raise ValueError("a group needs a name")
        return await self._run("create_group", self._create_group, name, now)

    async def _create_group(self, name: str, now: float) -> GroupView:
        async with self._pool.acquire() as connection:
            group_id = await connection.fetchval(
                "INSERT INTO recipient_groups (name, created_at) VALUES ($1, $2) "
                "ON CONFLICT (name) DO NOTHING RETURNING id",
                name,
                now,
            )
        if group_id is None:
            raise DuplicateNameError(_NAME, "group", name)
        return GroupView(group_id, name, 0, now)

    async def find_group(self, name: str) -> GroupView | None:
        return await self._run("find_group", self._find_group, name)

    async def _find_group(self, name: str) -> GroupView | None:
        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT {_GROUP_COLUMNS} FROM recipient_groups AS g WHERE g.name = $1", name
            )
        return None if row is None else GroupView(*row)

    async def list_groups(self) -> list[GroupView]:
        return await self._run("list_groups", self._list_groups)

    async def _list_groups(self) -> list[GroupView]:
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                f"SELECT {_GROUP_COLUMNS} FROM recipient_groups AS g ORDER BY g.name"
            )
        return [GroupView(*row) for row in rows]

    async def upsert_group_members(self, group_id: int, members: Sequence[GroupMember]) -> int:
        # The last of a repeated MSISDN wins: one statement may not touch a row twice.
        latest = {member.msisdn: fields_json(member.fields) for member in members}
        msisdns = sorted(latest)
        fields = [latest[msisdn] for msisdn in msisdns]
        return await self._run(
            "upsert_group_members", self._upsert_group_members, group_id, msisdns, fields
        )

    async def _upsert_group_members(
        self, group_id: int, msisdns: list[str], fields: list[str]
    ) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            await _lock_group(connection, group_id)
            written: int = await connection.fetchval(_UPSERT_MEMBERS, group_id, msisdns, fields)
        return written

    async def remove_group_members(self, group_id: int, msisdns: Sequence[str]) -> int:
        numbers = msisdn_list(msisdns)
        return await self._run(
            "remove_group_members", self._remove_group_members, group_id, numbers
        )

    async def _remove_group_members(self, group_id: int, msisdns: list[str]) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            await _lock_group(connection, group_id)
            removed = 0
            for chunk in _chunks(msisdns):
                removed += await connection.fetchval(_REMOVE_MEMBERS, group_id, chunk)
        return removed

    async def group_members(self, group_id: int) -> list[GroupMember]:
        return await self._run("group_members", self._group_members, group_id)

    async def _group_members(self, group_id: int) -> list[GroupMember]:
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            if not await connection.fetchval(
                "SELECT 1 FROM recipient_groups WHERE id = $1", group_id
            ):
                raise UnknownGroupError(_NAME, group_id)
            rows = await connection.fetch(
                "SELECT msisdn, fields FROM group_members WHERE group_id = $1 ORDER BY msisdn",
                group_id,
            )
        return [GroupMember(row["msisdn"], _fields(row["fields"])) for row in rows]

    async def delete_group(self, group_id: int) -> bool:
        return await self._run("delete_group", self._delete_group, group_id)

    async def _delete_group(self, group_id: int) -> bool:
        async with self._pool.acquire() as connection:
            # The members go with it (ON DELETE CASCADE), in the same statement.
            deleted = await connection.fetchval(
                "DELETE FROM recipient_groups WHERE id = $1 RETURNING 1", group_id
            )
        return deleted is not None

    # --- the opt-out list ---

    async def add_opt_outs(self, msisdns: Sequence[str], *, source: str, now: float) -> int:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return 0
        return await self._run("add_opt_outs", self._add_opt_outs, numbers, source, now)

    async def _add_opt_outs(self, msisdns: list[str], source: str, now: float) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            added = 0
            for chunk in _chunks(msisdns):
                added += await connection.fetchval(_ADD_OPT_OUTS, chunk, source, now)
        return added

    async def remove_opt_outs(self, msisdns: Sequence[str]) -> int:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return 0
        return await self._run("remove_opt_outs", self._remove_opt_outs, numbers)

    async def _remove_opt_outs(self, msisdns: list[str]) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            removed = 0
            for chunk in _chunks(msisdns):
                removed += await connection.fetchval(_REMOVE_OPT_OUTS, chunk)
        return removed

    async def opted_out(self, msisdns: Sequence[str]) -> set[str]:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return set()
        return await self._run("opted_out", self._opted_out, numbers)

    async def _opted_out(self, msisdns: list[str]) -> set[str]:
        found: set[str] = set()
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            for chunk in _chunks(msisdns):
                lines = "\n".join(chunk)
                if lines and lines.count("\n") == len(chunk) - 1:
                    listed = await connection.fetchval(_OPTED_OUT, lines)
                else:
                    listed = await connection.fetchval(_OPTED_OUT_ARRAY, chunk)
                found.update(listed or ())
        return found

    async def count_opt_outs(self) -> int:
        return await self._run("count_opt_outs", self._count_opt_outs)

    async def _count_opt_outs(self) -> int:
        async with self._pool.acquire() as connection:
            count: int = await connection.fetchval("SELECT count(*) FROM opt_outs")
        return count


async def _lock_group(connection: Any, group_id: int) -> None:
    """Raise UnknownGroupError, or keep the group from being deleted until the commit."""
    if not await connection.fetchval(
        "SELECT 1 FROM recipient_groups WHERE id = $1 FOR KEY SHARE", group_id
    ):
        raise UnknownGroupError(_NAME, group_id)


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = json.loads(text)
    return fields


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _MSISDN_CHUNK] for i in range(0, len(values), _MSISDN_CHUNK)]
