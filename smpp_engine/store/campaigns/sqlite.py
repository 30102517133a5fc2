"""Campaigns, recipient groups and the opt-out list in SQLite (:class:`CampaignStore`).

Each method is one transaction on the store's worker thread. A campaign's
messages change state set-wise, through the ``messages_campaign`` index: one
UPDATE for the messages (and one INSERT ... SELECT for their events when they
are cancelled), whatever the campaign's size. Lists of MSISDNs travel as one
JSON parameter (``json_each``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import trio

from ..callbacks.model import CALLBACK_EVENTS
from ..callbacks.sqlite import write_changed
from ..errors import (
    CampaignClosedError,
    DuplicateNameError,
    UnknownCampaignError,
    UnknownGroupError,
)
from ..messages.accept import check_new
from ..messages.model import Accepted, MessageState, NewMessage
from ..messages.sqlite_accept import accept_messages
from ..messages.sqlite_record import StateCounts
from ..sqlite_rows import named, named_one
from ..sqlite_worker import SqliteWorker, in_snapshot, in_transaction
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

__all__ = ["SqliteCampaigns"]

_NAME = "sqlite"

# Numbers per statement: keeps one JSON parameter to a few megabytes.
_MSISDN_CHUNK = 100_000

# In the field order of CampaignView.
# Named as the fields of CampaignView and GroupView, which are built from them by name.
_CAMPAIGN_COLUMNS = (
    "id AS campaign_id, name, smsc, sender, template, kind, rate, start_at, settings, state, "
    "created_at, updated_at, tenant"
)
_GROUP_COLUMNS = (
    "g.id AS group_id, g.name, "
    "(SELECT count(*) FROM group_members AS m WHERE m.group_id = g.id) AS members, g.created_at"
)
_FAILED_JSON = json.dumps(FAILED_STATE_VALUES)


class SqliteCampaigns:
    """The :class:`CampaignStore` half of :class:`~.sqlite.SqliteStore`."""

    _worker: SqliteWorker

    # --- campaigns ---

    async def create_campaign(self, campaign: NewCampaign, *, now: float) -> CampaignView:
        def work(c: sqlite3.Connection) -> CampaignView:
            def create() -> CampaignView:
                if c.execute("SELECT 1 FROM campaigns WHERE name = ?", (campaign.name,)).fetchone():
                    raise DuplicateNameError(_NAME, "campaign", campaign.name)
                cursor = c.execute(
                    "INSERT INTO campaigns (name, smsc, sender, template, kind, rate, start_at, "
                    "settings, state, created_at, updated_at, tenant) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?)",
                    (
                        campaign.name,
                        campaign.smsc,
                        campaign.sender,
                        campaign.template,
                        campaign.kind,
                        campaign.rate,
                        campaign.start_at,
                        campaign.settings,
                        now,
                        now,
                        campaign.tenant,
                    ),
                )
                assert cursor.lastrowid is not None
                return _campaign(c, cursor.lastrowid)

            return in_transaction(c, create)

        return await self._worker.run("create_campaign", work)

    async def add_campaign_messages(
        self, campaign_id: int, messages: Sequence[NewMessage], *, now: float
    ) -> list[Accepted]:
        check_new(messages)

        def work(c: sqlite3.Connection) -> list[Accepted]:
            def add() -> list[Accepted]:
                state = _campaign(c, campaign_id).state
                if state in CLOSED_STATES:
                    raise CampaignClosedError(_NAME, campaign_id, state)
                waiting = MessageState.HELD if state in HOLDING_STATES else MessageState.QUEUED
                return accept_messages(c, messages, now, state=waiting, campaign_id=campaign_id)

            return in_transaction(c, add)

        return await self._worker.run("add_campaign_messages", work)

    async def get_campaign(self, campaign_id: int) -> CampaignView | None:
        def work(c: sqlite3.Connection) -> CampaignView | None:
            row = named_one(
                c, f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,)
            )
            return None if row is None else CampaignView(**row._asdict())

        return await self._worker.run("get_campaign", work)

    async def find_campaign(self, name: str) -> CampaignView | None:
        def work(c: sqlite3.Connection) -> CampaignView | None:
            row = named_one(c, f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE name = ?", (name,))
            return None if row is None else CampaignView(**row._asdict())

        return await self._worker.run("find_campaign", work)

    async def list_campaigns(self) -> list[CampaignView]:
        def work(c: sqlite3.Connection) -> list[CampaignView]:
            return [
                CampaignView(**row._asdict())
                for row in named(
                    c,
                    f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC, id DESC",
                )
            ]

        return await self._worker.run("list_campaigns", work)

    async def set_campaign_state(self, campaign_id: int, state: str, *, now: float) -> CampaignView:
        check_campaign_state(state)

        def work(c: sqlite3.Connection) -> CampaignView:
            def change() -> CampaignView:
                _campaign(c, campaign_id)
                c.execute(
                    "UPDATE campaigns SET state = ?, updated_at = ? WHERE id = ?",
                    (state, now, campaign_id),
                )
                if state in HOLDING_STATES:
                    _move(c, campaign_id, MessageState.QUEUED, MessageState.HELD, now)
                elif state in RELEASING_STATES:
                    _move(c, campaign_id, MessageState.HELD, MessageState.QUEUED, now)
                elif state == "cancelled":
                    for old in (MessageState.QUEUED, MessageState.HELD):
                        _move(c, campaign_id, old, MessageState.CANCELLED, now, event="cancelled")
                return _campaign(c, campaign_id)

            return in_transaction(c, change)

        return await self._worker.run("set_campaign_state", work)

    async def repace_campaign(self, campaign_id: int, *, rate: float, now: float) -> int:
        check_rate(rate)

        def work(c: sqlite3.Connection) -> int:
            def repace() -> int:
                _campaign(c, campaign_id)
                # float(rate): an int parameter would make the division an integer one.
                c.execute(
                    "UPDATE messages SET not_before = paced.due, updated_at = ? "
                    "FROM (SELECT id, ? + (row_number() OVER (ORDER BY id) - 1) / ? AS due "
                    "      FROM messages WHERE campaign_id = ? AND state = 'queued') AS paced "
                    "WHERE messages.id = paced.id AND messages.not_before < paced.due",
                    (now, now, float(rate), campaign_id),
                )
                row = c.execute(
                    "SELECT count(*) FROM messages WHERE campaign_id = ? AND state = 'queued'",
                    (campaign_id,),
                ).fetchone()
                return int(row[0])

            return in_transaction(c, repace)

        return await self._worker.run("repace_campaign", work)

    async def queued_campaign_messages(self, campaign_id: int) -> list[QueuedCampaignMessage]:
        def work(c: sqlite3.Connection) -> list[QueuedCampaignMessage]:
            def read() -> list[QueuedCampaignMessage]:
                _campaign(c, campaign_id)
                return [
                    QueuedCampaignMessage(*row)
                    for row in c.execute(
                        "SELECT id, destination, not_before FROM messages "
                        "WHERE campaign_id = ? AND state = 'queued' ORDER BY id",
                        (campaign_id,),
                    )
                ]

            return in_snapshot(c, read)

        return await self._worker.run("queued_campaign_messages", work)

    async def schedule_campaign_messages(
        self, campaign_id: int, slots: Sequence[tuple[int, float]], *, now: float
    ) -> int:
        def work(c: sqlite3.Connection) -> int:
            def schedule() -> int:
                _campaign(c, campaign_id)
                before = c.total_changes
                c.executemany(
                    "UPDATE messages SET not_before = ?, updated_at = ? "
                    "WHERE id = ? AND campaign_id = ? AND state = 'queued'",
                    [(due, now, message_id, campaign_id) for message_id, due in slots],
                )
                return c.total_changes - before

            return in_transaction(c, schedule)

        return await self._worker.run("schedule_campaign_messages", work)

    async def campaign_stats(self, campaign_id: int) -> CampaignStats:
        def work(c: sqlite3.Connection) -> CampaignStats:
            def read() -> CampaignStats:
                _campaign(c, campaign_id)
                by_state = dict(
                    c.execute(
                        "SELECT state, count(*) FROM messages WHERE campaign_id = ? GROUP BY state",
                        (campaign_id,),
                    ).fetchall()
                )
                errors = dict(
                    c.execute(
                        "SELECT error_code, count(*) FROM messages WHERE campaign_id = ? "
                        "AND state IN (SELECT value FROM json_each(?)) "
                        "AND error_code IS NOT NULL GROUP BY error_code",
                        (campaign_id, _FAILED_JSON),
                    ).fetchall()
                )
                return build_stats(campaign_id, by_state, errors)

            return in_snapshot(c, read)

        return await self._worker.run("campaign_stats", work)

    # --- recipient groups ---

    async def create_group(self, name: str, *, now: float) -> GroupView:
        if not name.strip():
            raise ValueError("a group needs a name")

        def work(c: sqlite3.Connection) -> GroupView:
            def create() -> GroupView:
                if c.execute("SELECT 1 FROM recipient_groups WHERE name = ?", (name,)).fetchone():
                    raise DuplicateNameError(_NAME, "group", name)
                cursor = c.execute(
                    "INSERT INTO recipient_groups (name, created_at) VALUES (?, ?)", (name, now)
                )
                assert cursor.lastrowid is not None
                return GroupView(cursor.lastrowid, name, 0, now)

            return in_transaction(c, create)

        return await self._worker.run("create_group", work)

    async def find_group(self, name: str) -> GroupView | None:
        def work(c: sqlite3.Connection) -> GroupView | None:
            row = named_one(
                c, f"SELECT {_GROUP_COLUMNS} FROM recipient_groups AS g WHERE g.name = ?", (name,)
            )
            return None if row is None else GroupView(**row._asdict())

        return await self._worker.run("find_group", work)

    async def list_groups(self) -> list[GroupView]:
        def work(c: sqlite3.Connection) -> list[GroupView]:
            return [
                GroupView(**row._asdict())
                for row in named(
                    c, f"SELECT {_GROUP_COLUMNS} FROM recipient_groups AS g ORDER BY g.name"
                )
            ]

        return await self._worker.run("list_groups", work)

    async def upsert_group_members(self, group_id: int, members: Sequence[GroupMember]) -> int:
        # The last of a repeated MSISDN wins; sorted, the rows go in in index order.
        latest = {member.msisdn: fields_json(member.fields) for member in members}
        rows = [(group_id, msisdn, latest[msisdn]) for msisdn in sorted(latest)]

        def work(c: sqlite3.Connection) -> int:
            def upsert() -> int:
                _check_group(c, group_id)
                before = c.total_changes
                # An unchanged member is no change: the WHERE skips its update.
                c.executemany(
                    "INSERT INTO group_members (group_id, msisdn, fields) VALUES (?, ?, ?) "
                    "ON CONFLICT (group_id, msisdn) DO UPDATE SET fields = excluded.fields "
                    "WHERE fields IS NOT excluded.fields",
                    rows,
                )
                return c.total_changes - before

            return in_transaction(c, upsert)

        return await self._worker.run("upsert_group_members", work)

    async def remove_group_members(self, group_id: int, msisdns: Sequence[str]) -> int:
        numbers = msisdn_list(msisdns)

        def work(c: sqlite3.Connection) -> int:
            def remove() -> int:
                _check_group(c, group_id)
                removed = 0
                for chunk in _chunks(numbers):
                    removed += c.execute(
                        "DELETE FROM group_members WHERE group_id = ? "
                        "AND msisdn IN (SELECT value FROM json_each(?))",
                        (group_id, json.dumps(chunk)),
                    ).rowcount
                return removed

            return in_transaction(c, remove)

        return await self._worker.run("remove_group_members", work)

    async def group_members(self, group_id: int) -> list[GroupMember]:
        def work(c: sqlite3.Connection) -> list[GroupMember]:
            def read() -> list[GroupMember]:
                _check_group(c, group_id)
                return [
                    GroupMember(msisdn, json.loads(fields))
                    for msisdn, fields in c.execute(
                        "SELECT msisdn, fields FROM group_members WHERE group_id = ? "
                        "ORDER BY msisdn",
                        (group_id,),
                    )
                ]

            return in_snapshot(c, read)

        return await self._worker.run("group_members", work)

    async def delete_group(self, group_id: int) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            def delete() -> bool:
                c.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
                cursor = c.execute("DELETE FROM recipient_groups WHERE id = ?", (group_id,))
                return cursor.rowcount > 0

            return in_transaction(c, delete)

        return await self._worker.run("delete_group", work)

    # --- the opt-out list ---

    async def add_opt_outs(self, msisdns: Sequence[str], *, source: str, now: float) -> int:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return 0

        def work(c: sqlite3.Connection) -> int:
            def add() -> int:
                added = 0
                for chunk in _chunks(numbers):
                    # "WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT.
                    added += c.execute(
                        "INSERT INTO opt_outs (msisdn, source, created_at) "
                        "SELECT DISTINCT value, ?, ? FROM json_each(?) WHERE true "
                        "ON CONFLICT (msisdn) DO NOTHING",
                        (source, now, json.dumps(chunk)),
                    ).rowcount
                return added

            return in_transaction(c, add)

        return await self._worker.run("add_opt_outs", work)

    async def remove_opt_outs(self, msisdns: Sequence[str]) -> int:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return 0

        def work(c: sqlite3.Connection) -> int:
            def remove() -> int:
                removed = 0
                for chunk in _chunks(numbers):
                    removed += c.execute(
                        "DELETE FROM opt_outs WHERE msisdn IN (SELECT value FROM json_each(?))",
                        (json.dumps(chunk),),
                    ).rowcount
                return removed

            return in_transaction(c, remove)

        return await self._worker.run("remove_opt_outs", work)

    async def opted_out(self, msisdns: Sequence[str]) -> set[str]:
        numbers = msisdn_list(msisdns)
        if not numbers:
            await trio.lowlevel.checkpoint()
            return set()

        def work(c: sqlite3.Connection) -> set[str]:
            def read() -> set[str]:
                found: set[str] = set()
                for chunk in _chunks(numbers):
                    # One probe of the key per number; the answer comes back as one
                    # JSON row, not a row per number.
                    (listed,) = c.execute(
                        "SELECT json_group_array(o.msisdn) FROM json_each(?) AS asked "
                        "JOIN opt_outs AS o ON o.msisdn = asked.value",
                        (json.dumps(chunk),),
                    ).fetchone()
                    found.update(json.loads(listed))
                return found

            return in_snapshot(c, read)

        return await self._worker.run("opted_out", work)

    async def count_opt_outs(self) -> int:
        def work(c: sqlite3.Connection) -> int:
            return int(c.execute("SELECT count(*) FROM opt_outs").fetchone()[0])

        return await self._worker.run("count_opt_outs", work)


def _campaign(c: sqlite3.Connection, campaign_id: int) -> CampaignView:
    row = named_one(c, f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,))
    if row is None:
        raise UnknownCampaignError(_NAME, campaign_id)
    return CampaignView(**row._asdict())


def _check_group(c: sqlite3.Connection, group_id: int) -> None:
    if c.execute("SELECT 1 FROM recipient_groups WHERE id = ?", (group_id,)).fetchone() is None:
        raise UnknownGroupError(_NAME, group_id)


def _move(
    c: sqlite3.Connection,
    campaign_id: int,
    old: MessageState,
    new: MessageState,
    now: float,
    *,
    event: str | None = None,
) -> None:
    """Move the campaign's messages in ``old`` to ``new`` (with an ``event`` each, if named)."""
    where = (campaign_id, old.value)
    counts = StateCounts()
    for smsc, n in c.execute(
        "SELECT smsc, count(*) FROM messages WHERE campaign_id = ? AND state = ? GROUP BY smsc",
        where,
    ):
        counts.move(smsc, old.value, new.value, n)
    if event is not None:
        c.execute(
            "INSERT INTO message_events (message_id, at, event, detail) "
            "SELECT id, ?, ?, ? FROM messages WHERE campaign_id = ? AND state = ? ORDER BY id",
            (now, event, f"campaign -> {new.value}", *where),
        )
    # Only a move to a state a client may ask about (cancelled) can owe callbacks;
    # pausing and resuming (held, queued) move large campaigns and owe none.
    moved = []
    if new.value in CALLBACK_EVENTS:
        moved = c.execute(
            "SELECT id FROM messages WHERE campaign_id = ? AND state = ? "
            "AND callback_url IS NOT NULL ORDER BY id",
            where,
        ).fetchall()
    c.execute(
        "UPDATE messages SET state = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? "
        "WHERE campaign_id = ? AND state = ?",
        (new.value, now, *where),
    )
    counts.write(c)
    write_changed(c, [(row[0], new.value) for row in moved], now)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _MSISDN_CHUNK] for i in range(0, len(values), _MSISDN_CHUNK)]
