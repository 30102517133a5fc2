"""The embedded store: SQLite (stdlib ``sqlite3``) in WAL mode, driven from one worker thread.

Each call is one transaction on the worker's connection (see
:mod:`.sqlite_worker`); writes take the database lock up front (``BEGIN
IMMEDIATE``) so two processes sharing the file serialise instead of failing
half-way, and a claim can never hand out a message another claim took.

Durability: WAL with ``synchronous=NORMAL`` (the default here) keeps every
committed transaction across a crash of the process (SIGKILL, OOM kill), which
is what the pipeline needs: the WAL is written (not synced) when COMMIT
returns. A power loss or kernel crash may roll back the transactions committed
since the last checkpoint synced the WAL. ``synchronous="FULL"`` syncs the WAL
at every commit and survives power loss too, at one fsync per transaction
(batching keeps it affordable).

Hot paths (accept, claim, record) do a fixed number of statements per call,
whatever the batch size: ``executemany`` for the rows, ``json_each(?)`` to pass
a list of ids as one parameter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import trio

from .billing.sqlite import SqliteBilling
from .callbacks.sqlite import SqliteCallbacks, write_changed
from .campaigns.sqlite import SqliteCampaigns
from .jobs.sqlite import SqliteJobs
from .messages.accept import ACCEPTED_EVENT, accepted_detail, check_new
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
from .messages.recovery import plan_recovery, release_moves, unlease_moves
from .messages.rules import ANSWERED_PART_STATES, check_updates, receipt_timeout
from .messages.sqlite_accept import accept_messages
from .messages.sqlite_record import StateCounts, apply_updates
from .mo.sqlite import SqliteMo
from .pauses.sqlite import SqlitePauses
from .rates.sqlite import SqliteRateShares
from .retention.sqlite import SqliteRetention
from .schema.sqlite import migrate
from .sqlite_rows import named, named_one
from .sqlite_worker import SqliteWorker, in_snapshot, in_transaction
from .tenants.sqlite import SqliteTenants

__all__ = ["SqliteStore", "Synchronous", "open_sqlite_store"]

Synchronous = Literal["NORMAL", "FULL", "EXTRA"]
_SYNCHRONOUS: tuple[Synchronous, ...] = ("NORMAL", "FULL", "EXTRA")

_NAME = "sqlite"

_CLAIM_COLUMNS = (
    "id, smsc, source, destination, text, parts, priority, registered_delivery, expires_at, "
    "attempts, possible_duplicate, campaign_id, source_ton, source_npi, dest_ton, dest_npi, "
    "unclean_stops, route_plan, payload, flash, send_at"
)
# Positions in a claim row used more than once (the row is read by position).
_ID = 0
_EXPIRES_AT = 8


def _json(values: Sequence[object] | set[int]) -> str:
    return json.dumps(list(values))


#: One tenant's messages by state (on one route, or all): the running counts are per
#: route only, so these are counted from the messages (the tenant's index).
_COUNT_TENANT = (
    "SELECT state, count(*) FROM messages WHERE tenant = ? AND (? IS NULL OR smsc = ?) "
    "GROUP BY state"
)


class SqliteStore(
    SqliteCampaigns,
    SqliteBilling,
    SqliteJobs,
    SqlitePauses,
    SqliteRetention,
    SqliteRateShares,
    SqliteCallbacks,
    SqliteTenants,
    SqliteMo,
):
    """The store on a SQLite file; open it with :func:`open_sqlite_store`.

    Campaigns, groups and opt-outs (:class:`CampaignStore`) come from
    :class:`~.campaigns.sqlite.SqliteCampaigns`, the billing repository
    (:class:`billing_core.BillingRepository`) from :class:`~.billing.sqlite.SqliteBilling`.
    """

    name: str = _NAME

    def __init__(self, worker: SqliteWorker, path: str) -> None:
        self._worker = worker
        self.path = path

    # --- writes ---

    async def accept(self, messages: Sequence[NewMessage], *, now: float) -> list[Accepted]:
        check_new(messages)
        if not messages:
            await trio.lowlevel.checkpoint()
            return []

        def work(c: sqlite3.Connection) -> list[Accepted]:
            return in_transaction(c, lambda: accept_messages(c, messages, now))

        return await self._worker.run("accept", work)

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

        def work(c: sqlite3.Connection) -> list[ClaimedMessage]:
            return in_transaction(
                c,
                lambda: self._claim(c, smsc, limit, owner=owner, now=now, lease=lease, early=early),
            )

        return await self._worker.run("claim", work)

    @staticmethod
    def _claim(
        c: sqlite3.Connection,
        smsc: str,
        limit: int,
        *,
        owner: str,
        now: float,
        lease: float,
        early: float = 0.0,
    ) -> list[ClaimedMessage]:
        taken: list[tuple[Any, ...]] = []
        counts = StateCounts()
        # Expired messages met on the way are settled and skipped, then the query
        # runs again for the places they would have taken.
        while len(taken) < limit:
            if early > 0:
                # A route scheduling at the SMSC: also messages whose client send time
                # is within its lead, unless moved since (see the PostgreSQL claim).
                rows = c.execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM messages "
                    "WHERE smsc = ? AND state = 'queued' AND not_before <= ? "
                    "AND (not_before <= ? OR send_at = not_before) "
                    "ORDER BY priority DESC, not_before, id LIMIT ?",
                    (smsc, now + early, now, limit - len(taken)),
                ).fetchall()
            else:
                rows = c.execute(
                    f"SELECT {_CLAIM_COLUMNS} FROM messages "
                    "WHERE smsc = ? AND state = 'queued' AND not_before <= ? "
                    "ORDER BY priority DESC, not_before, id LIMIT ?",
                    (smsc, now, limit - len(taken)),
                ).fetchall()
            if not rows:
                break
            live = [r for r in rows if r[_EXPIRES_AT] is None or r[_EXPIRES_AT] >= now]
            if live:
                # One statement for the lot: per-row UPDATEs cost a bind and a step each.
                c.execute(
                    "UPDATE messages SET state = 'submitting', lease_owner = ?, lease_until = ?, "
                    "attempts = attempts + 1, dispatched = 0, updated_at = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (owner, now + lease, now, _json([r[_ID] for r in live])),
                )
                counts.move(
                    smsc, MessageState.QUEUED.value, MessageState.SUBMITTING.value, len(live)
                )
                taken.extend(live)
            if len(live) == len(rows):
                break
            expired = [r for r in rows if r[_EXPIRES_AT] is not None and r[_EXPIRES_AT] < now]
            c.executemany(
                "UPDATE messages SET state = 'expired', updated_at = ? WHERE id = ?",
                [(now, r[_ID]) for r in expired],
            )
            c.executemany(
                "INSERT INTO message_events (message_id, at, event, detail) "
                "VALUES (?, ?, 'expired', ?)",
                [(r[_ID], now, f"expires_at={r[_EXPIRES_AT]} before submission") for r in expired],
            )
            counts.move(smsc, MessageState.QUEUED.value, MessageState.EXPIRED.value, len(expired))
            write_changed(c, [(r[_ID], MessageState.EXPIRED.value) for r in expired], now)
        counts.write(c)
        # Part rows exist only for parts some update named: for a fresh message
        # this finds nothing, and every part is pending.
        answered: dict[int, set[int]] = {}
        if taken:
            for message_id, part, state in c.execute(
                "SELECT message_id, part, state FROM message_parts "
                "WHERE message_id IN (SELECT value FROM json_each(?))",
                (_json([r[_ID] for r in taken]),),
            ):
                if state in ANSWERED_PART_STATES:
                    answered.setdefault(message_id, set()).add(part)
        claimed = []
        for r in taken:
            parts = r[5]
            pending = pending_parts(parts, answered.get(r[_ID], ()))
            claimed.append(
                ClaimedMessage(
                    message_id=r[_ID],
                    smsc=r[1],
                    source=r[2],
                    destination=r[3],
                    text=r[4],
                    parts=parts,
                    priority=stored_priority(r[6]),
                    registered_delivery=bool(r[7]),
                    expires_at=r[_EXPIRES_AT],
                    attempts=r[9],
                    possible_duplicate=bool(r[10]),
                    campaign_id=r[11],
                    pending_parts=pending,
                    source_ton=r[12],
                    source_npi=r[13],
                    dest_ton=r[14],
                    dest_npi=r[15],
                    unclean_stops=r[16],
                    route_plan=decode_plan(r[17]),
                    payload=r[18],
                    flash=bool(r[19]),
                    send_at=r[20],
                )
            )
        return claimed

    async def record(self, updates: Sequence[Update]) -> None:
        check_updates(updates)
        if not updates:
            await trio.lowlevel.checkpoint()
            return

        def work(c: sqlite3.Connection) -> None:
            in_transaction(c, lambda: apply_updates(c, updates))

        await self._worker.run("record", work)

    async def recover(self, *, now: float, quarantine_after: int = 3) -> RecoveryReport:
        if quarantine_after < 1:
            raise ValueError(f"quarantine_after must be at least 1, got {quarantine_after!r}")

        def work(c: sqlite3.Connection) -> RecoveryReport:
            return in_transaction(c, lambda: self._recover(c, now, quarantine_after))

        return await self._worker.run("recover", work)

    @staticmethod
    def _recover(c: sqlite3.Connection, now: float, quarantine_after: int) -> RecoveryReport:
        # A message of a paused or cancelled campaign does not go back to the queue.
        # Sorted here, not by ORDER BY: with it SQLite scans the table in id order
        # instead of taking the lease index.
        rows = sorted(
            c.execute(
                "SELECT m.id, m.smsc, m.lease_owner, c.state, m.dispatched, m.unclean_stops "
                "FROM messages AS m LEFT JOIN campaigns AS c ON c.id = m.campaign_id "
                "WHERE m.state = 'submitting' AND m.lease_until <= ?",
                (now,),
            )
        )
        if not rows:
            return RecoveryReport()
        plan = plan_recovery(rows, quarantine_after)
        moves = unlease_moves(plan)
        for unclean_stop, update in (
            (False, _UNLEASE_UNTRIED),
            (True, _UNLEASE_POSSIBLE_DUPLICATE),
        ):
            chosen = [m for m in moves if m.unclean_stop is unclean_stop]
            _unlease(
                c,
                [(m.message_id, m.smsc, m.state) for m in chosen],
                now,
                update=update,
                events=[(m.event, m.detail) for m in chosen],
            )
        return plan.report()

    async def renew(self, smsc: str, *, owner: str, until: float) -> int:
        def work(c: sqlite3.Connection) -> int:
            return in_transaction(
                c,
                lambda: (
                    c.execute(
                        "UPDATE messages SET lease_until = ? "
                        "WHERE state = 'submitting' AND lease_owner = ? AND smsc = ?",
                        (until, owner, smsc),
                    ).rowcount
                ),
            )

        return await self._worker.run("renew", work)

    async def release(self, message_ids: Sequence[int], *, owner: str, now: float) -> int:
        if not message_ids:
            await trio.lowlevel.checkpoint()
            return 0

        def work(c: sqlite3.Connection) -> int:
            return in_transaction(c, lambda: self._release(c, message_ids, owner, now))

        return await self._worker.run("release", work)

    @staticmethod
    def _release(c: sqlite3.Connection, message_ids: Sequence[int], owner: str, now: float) -> int:
        rows = c.execute(
            "SELECT m.id, m.smsc, m.lease_owner, c.state, m.dispatched, m.unclean_stops "
            "FROM messages AS m LEFT JOIN campaigns AS c ON c.id = m.campaign_id "
            "WHERE m.id IN (SELECT value FROM json_each(?)) "
            "AND m.state = 'submitting' AND m.lease_owner = ?",
            (_json(list(message_ids)), owner),
        ).fetchall()
        moves = release_moves(rows, owner)
        _unlease(
            c,
            [(m.message_id, m.smsc, m.state) for m in moves],
            now,
            update=_UNLEASE_UNTRIED,
            events=[(m.event, m.detail) for m in moves],
        )
        return len(moves)

    async def fail_over(
        self, smsc: str, *, now: float, reason: str, limit: int = 1000
    ) -> Mapping[str, int]:
        def work(c: sqlite3.Connection) -> dict[str, int]:
            return in_transaction(c, lambda: self._fail_over(c, smsc, now, reason, limit))

        return await self._worker.run("fail_over", work)

    @staticmethod
    def _fail_over(
        c: sqlite3.Connection, smsc: str, now: float, reason: str, limit: int
    ) -> dict[str, int]:
        # Only plans naming a route after this one: the others would fill the limit
        # and never move. The rule itself is failover_moves'.
        rows = c.execute(
            "SELECT id, route_plan FROM messages "
            "WHERE smsc = ? AND state = 'queued' AND route_plan LIKE '% %' "
            "AND instr(' ' || route_plan || ' ', ' ' || ? || ' ') "
            "BETWEEN 1 AND length(route_plan) - length(?) "
            "LIMIT ?",
            (smsc, smsc, smsc, limit),
        ).fetchall()
        moves = failover_moves(rows, smsc, reason)
        if not moves:
            return {}
        c.executemany(
            "UPDATE messages SET smsc = ?, updated_at = max(updated_at, ?) WHERE id = ?",
            [(target, now, message_id) for message_id, target, _ in moves],
        )
        c.executemany(
            "INSERT INTO message_events (message_id, at, event, detail) VALUES (?, ?, ?, ?)",
            [(message_id, now, REROUTED_EVENT, detail) for message_id, _, detail in moves],
        )
        counts = StateCounts()
        moved: dict[str, int] = {}
        for _, target, _ in moves:
            moved[target] = moved.get(target, 0) + 1
        for target, n in moved.items():
            counts.add(smsc, MessageState.QUEUED.value, -n)
            counts.add(target, MessageState.QUEUED.value, n)
        counts.write(c)
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

        def work(c: sqlite3.Connection) -> int:
            return in_transaction(
                c,
                lambda: self._expire_receipts(c, older_than, smsc, now, state=state, detail=detail),
            )

        return await self._worker.run("expire_receipts", work)

    @staticmethod
    def _expire_receipts(
        c: sqlite3.Connection,
        older_than: float,
        smsc: str | None,
        now: float,
        *,
        state: MessageState,
        detail: str,
    ) -> int:
        rows = c.execute(
            "SELECT id, smsc, state FROM messages WHERE state = 'submitted' AND updated_at < ? "
            "AND (? IS NULL OR smsc = ?)",
            (older_than, smsc, smsc),
        ).fetchall()
        return _settle(c, rows, state=state, now=now, event="receipt_timeout", detail=detail)

    async def purge_held_receipts(self, *, older_than: float) -> int:
        def work(c: sqlite3.Connection) -> int:
            def purge() -> int:
                return c.execute(
                    "DELETE FROM held_receipts WHERE received_at < ?", (older_than,)
                ).rowcount

            return in_transaction(c, purge)

        return await self._worker.run("purge_held_receipts", work)

    async def cancel(self, message_ids: Sequence[int], *, now: float) -> int:
        if not message_ids:
            await trio.lowlevel.checkpoint()
            return 0

        def work(c: sqlite3.Connection) -> int:
            def cancel() -> int:
                rows = c.execute(
                    "SELECT id, smsc, state FROM messages "
                    "WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('queued', 'held')",
                    (_json(list(message_ids)),),
                ).fetchall()
                return _settle(
                    c,
                    rows,
                    state=MessageState.CANCELLED,
                    now=now,
                    event="cancelled",
                    detail="",
                )

            return in_transaction(c, cancel)

        return await self._worker.run("cancel", work)

    # --- reads ---

    async def get(self, message_id: int) -> MessageView | None:
        def work(c: sqlite3.Connection) -> MessageView | None:
            return in_snapshot(c, lambda: _view(c, message_id))

        return await self._worker.run("get", work)

    async def find_by_idempotency_key(self, key: str) -> int | None:
        def work(c: sqlite3.Connection) -> int | None:
            row = c.execute("SELECT id FROM messages WHERE idempotency_key = ?", (key,)).fetchone()
            return None if row is None else int(row[0])

        return await self._worker.run("find_by_idempotency_key", work)

    async def count_by_state(
        self, *, smsc: str | None = None, tenant: str | None = None
    ) -> Mapping[MessageState, int]:
        def work(c: sqlite3.Connection) -> dict[MessageState, int]:
            if tenant is not None:
                rows = c.execute(_COUNT_TENANT, (tenant, smsc, smsc)).fetchall()
            elif smsc is None:
                rows = c.execute("SELECT state, sum(n) FROM state_counts GROUP BY state").fetchall()
            else:
                rows = c.execute(
                    "SELECT state, n FROM state_counts WHERE smsc = ?", (smsc,)
                ).fetchall()
            return {MessageState(state): int(n) for state, n in rows if n}

        return await self._worker.run("count_by_state", work)

    async def name_receipts(self, receipt_id: int, message_ids: Sequence[int]) -> None:
        listed = json.dumps(list(message_ids))

        def work(c: sqlite3.Connection) -> None:
            in_transaction(
                c,
                lambda: c.execute(
                    "UPDATE messages SET receipt_id = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (receipt_id, listed),
                ),
            )

        await self._worker.run("name_receipts", work)

    async def receipt_ids(self, message_ids: Sequence[int]) -> Mapping[int, int]:
        listed = json.dumps(list(message_ids))

        def work(c: sqlite3.Connection) -> dict[int, int]:
            rows = c.execute(
                "SELECT id, receipt_id FROM messages "
                "WHERE id IN (SELECT value FROM json_each(?)) AND receipt_id IS NOT NULL",
                (listed,),
            ).fetchall()
            return {int(i): int(r) for i, r in rows}

        return await self._worker.run("receipt_ids", work)

    async def stats(self) -> Mapping[str, int]:
        def work(c: sqlite3.Connection) -> dict[str, int]:
            def read() -> dict[str, int]:
                result = {"orphan_updates": 0, "duplicate_receipts": 0, "held_receipts_applied": 0}
                for name, value in c.execute(
                    "SELECT name, value FROM counters WHERE name != 'last_message_id'"
                ):
                    result[name] = int(value)
                held = c.execute("SELECT count(*) FROM held_receipts").fetchone()
                result["held_receipts"] = int(held[0])
                return result

            return in_snapshot(c, read)

        return await self._worker.run("stats", work)

    async def aclose(self) -> None:
        await self._worker.stop()


def _settle(
    c: sqlite3.Connection,
    rows: list[tuple[int, str, str]],
    *,
    state: MessageState,
    now: float,
    event: str,
    detail: str,
) -> int:
    """Move the messages in ``rows`` (id, smsc, state) to ``state`` with an event each."""
    if not rows:
        return 0
    c.executemany(
        "UPDATE messages SET state = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? "
        "WHERE id = ?",
        [(state.value, now, r[0]) for r in rows],
    )
    c.executemany(
        "INSERT INTO message_events (message_id, at, event, detail) VALUES (?, ?, ?, ?)",
        [(r[0], now, event, f"{detail} -> {state.value}".strip()) for r in rows],
    )
    counts = StateCounts()
    for r in rows:
        counts.move(r[1], r[2], state.value)
    counts.write(c)
    write_changed(c, [(r[0], state.value) for r in rows], now)
    return len(rows)


def _view(c: sqlite3.Connection, message_id: int) -> MessageView | None:
    row = named_one(
        c,
        "SELECT id, smsc, source, destination, text, state, priority, parts, created_at, "
        "updated_at, attempts, possible_duplicate, campaign_id, idempotency_key, error_code, "
        "route_rule, route_plan, tenant, flash FROM messages WHERE id = ?",
        (message_id,),
    )
    if row is None:
        return None
    stored = {
        r.part: PartView(
            part=r.part,
            state=PartState(r.state),
            bind=r.bind,
            smsc_message_id=r.smsc_message_id,
            submitted_at=r.submitted_at,
            responded_at=r.responded_at,
            command_status=r.command_status,
            receipt_at=r.receipt_at,
            receipt_error=r.receipt_error,
            done_at=r.done_at,
        )
        for r in named(
            c,
            "SELECT part, state, bind, smsc_message_id, submitted_at, responded_at, "
            "command_status, receipt_at, receipt_error, done_at FROM message_parts "
            "WHERE message_id = ? ORDER BY part",
            (message_id,),
        )
    }
    parts = tuple(
        stored.get(i) or PartView(i, PartState.PENDING, *(None,) * 8) for i in range(row.parts)
    )
    # The "accepted" event is the message row itself (created_at): not stored twice.
    accepted = MessageEvent(
        row.created_at, ACCEPTED_EVENT, accepted_detail(row.parts, row.priority)
    )
    events = (
        accepted,
        *(
            MessageEvent(at, event, detail)
            for at, event, detail in c.execute(
                "SELECT at, event, detail FROM message_events WHERE message_id = ? ORDER BY id",
                (message_id,),
            )
        ),
    )
    return MessageView(
        message_id=row.id,
        smsc=row.smsc,
        source=row.source,
        destination=row.destination,
        text=row.text,
        state=MessageState(row.state),
        priority=row.priority,
        parts=row.parts,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=row.attempts,
        possible_duplicate=bool(row.possible_duplicate),
        campaign_id=row.campaign_id,
        idempotency_key=row.idempotency_key,
        error_code=row.error_code,
        part_views=parts,
        events=events,
        route_rule=row.route_rule,
        route_plan=decode_plan(row.route_plan),
        tenant=row.tenant,
        flash=bool(row.flash),
    )


def _connector(
    path: str, synchronous: Synchronous, busy_timeout: float
) -> Callable[[], sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        # Autocommit mode (isolation_level None): transactions are the explicit
        # BEGIN IMMEDIATE / COMMIT of each call, never the module's implicit ones.
        connection = sqlite3.connect(
            path, isolation_level=None, timeout=busy_timeout, cached_statements=256
        )
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            # Not a value from outside: one of _SYNCHRONOUS, checked at open.
            connection.execute(f"PRAGMA synchronous = {synchronous}")
            # This build of SQLite may default to secure_delete (zeroing freed
            # space): it costs on every index move and protects nothing here.
            connection.execute("PRAGMA secure_delete = OFF")
            connection.execute("PRAGMA cache_size = -65536")  # KiB: 64 MiB of pages
            connection.execute("PRAGMA temp_store = MEMORY")
            migrate(connection, _NAME)
        except BaseException:
            connection.close()
            raise
        return connection

    return connect


async def _open(path: str, synchronous: Synchronous, busy_timeout: float) -> SqliteStore:
    worker = SqliteWorker(_NAME, _connector(path, synchronous, busy_timeout))
    try:
        await worker.run("open", lambda c: None)
    except BaseException:
        with trio.CancelScope(shield=True):
            await worker.stop()
        raise
    return SqliteStore(worker, path)


@asynccontextmanager
async def open_sqlite_store(
    path: Path | str,
    *,
    synchronous: Synchronous = "NORMAL",
    busy_timeout: float = 5.0,
) -> AsyncIterator[SqliteStore]:
    """Open (creating and migrating if needed) the SQLite store at ``path``; close it on exit.

    ``path`` may be ``":memory:"`` (tests). ``synchronous``: "NORMAL" survives a
    process crash, "FULL" a power loss too (see the module docstring).
    ``busy_timeout``: seconds a write waits for another process's lock before
    the call fails with StoreUnavailableError.
    """
    if synchronous not in _SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, got {synchronous!r}")
    store = await _open(str(path), synchronous, busy_timeout)
    try:
        yield store
    finally:
        with trio.CancelScope(shield=True):
            await store.aclose()


# Out of a lease: a process died (it may have sent them) or gave them back untried.
_UNLEASE_POSSIBLE_DUPLICATE = (
    "UPDATE messages SET state = ?, possible_duplicate = 1, unclean_stops = unclean_stops + 1, "
    "lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?"
)

_UNLEASE_UNTRIED = (
    "UPDATE messages SET state = ?, attempts = max(attempts - 1, 0), lease_owner = NULL, "
    "lease_until = NULL, updated_at = ? WHERE id = ?"
)


def _unlease(
    c: sqlite3.Connection,
    rows: Sequence[tuple[int, str, str]],
    now: float,
    *,
    update: str,
    events: Sequence[tuple[str, str]],
) -> None:
    """SUBMITTING messages (id, smsc, new state) leave their lease for ``new state``.

    ``update`` is one of the ``_UNLEASE_*`` statements; each message gets its
    (event, detail) from ``events``, and the counts move.
    """
    if not rows:
        return
    c.executemany(update, [(state, now, message_id) for message_id, _, state in rows])
    c.executemany(
        "INSERT INTO message_events (message_id, at, event, detail) VALUES (?, ?, ?, ?)",
        [(r[0], now, event, detail) for r, (event, detail) in zip(rows, events, strict=True)],
    )
    counts = StateCounts()
    for _, smsc, state in rows:
        counts.move(smsc, MessageState.SUBMITTING.value, state)
    counts.write(c)
    write_changed(c, [(message_id, state) for message_id, _, state in rows], now)
