"""The outbox's statements, written once for both stores.

Parameters are numbered (``$1``); SQLite takes the same text with ``?1``
(:func:`for_sqlite`). Only the claim differs: PostgreSQL locks the rows it
takes and skips those another process holds.
"""

from __future__ import annotations

__all__ = [
    "CHANGED",
    "CLAIM",
    "CLAIM_FOR_URLS",
    "COLUMNS",
    "DEFER",
    "DELIVERED",
    "DELIVERED_MANY",
    "FAILED",
    "INSERT",
    "LIST",
    "REPLAY",
    "SMPP_URL_PREFIX",
    "STATS",
    "for_sqlite",
]

COLUMNS = (
    "id, message_id, tenant, url, event, occurred_at, payload, status, attempts, next_at, "
    "created_at, last_error"
)

INSERT = (
    "INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, payload, "
    "next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $5, $5)"
)

# A message moved to $2 by a set-based change (expired unsent, receipt timed out,
# cancelled, quarantined): its event, when it asked for it. The test is
# rules.wanted() written in SQL, over the stored form of encode_events.
CHANGED = (
    "INSERT INTO callback_outbox (message_id, tenant, url, event, occurred_at, next_at, "
    "created_at) SELECT id, tenant, callback_url, $2, $3, $3, $3 FROM messages "
    "WHERE id = $1 AND callback_url IS NOT NULL AND callback_events LIKE '%,' || $2 || ',%'"
)

# Due, not held by a live lease, and the first pending event of its message: an
# event never overtakes an earlier one of the same message (the earlier one stays
# pending until posted or parked). $1 owner, $2 now, $3 lease, $4 limit. {scope}:
# which receivers: HTTP ones for the callback sender, named SMPP binds for the
# SMPP server face (their URLs are "smpp:SYSTEM_ID", see SMPP_URL_PREFIX).
_CLAIMABLE = """
SELECT o.id FROM callback_outbox AS o
WHERE o.status = 'pending' AND o.next_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2)
  AND {scope}
  AND (o.message_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM callback_outbox AS e
      WHERE e.message_id = o.message_id AND e.id < o.id AND e.status = 'pending'))
ORDER BY o.next_at, o.id
LIMIT $4
"""

#: The URL of events for a client bound over SMPP: the prefix and its system_id.
SMPP_URL_PREFIX = "smpp:"

_CLAIM_ANY = (
    "UPDATE callback_outbox SET lease_owner = $1, "
    "lease_until = CAST($2 AS DOUBLE PRECISION) + CAST($3 AS DOUBLE PRECISION) "
    "WHERE id IN (" + _CLAIMABLE + "{lock}) RETURNING " + COLUMNS
)
# Events for HTTP receivers only: those for SMPP binds go out over their binds.
CLAIM = _CLAIM_ANY.replace("{scope}", f"o.url NOT LIKE '{SMPP_URL_PREFIX}%'")
# Events whose URL is one of $5 (the SMPP binds this process holds). {urls} is
# the backend's "one of a list" test.
CLAIM_FOR_URLS = _CLAIM_ANY.replace("{scope}", "{urls}")

# Many events delivered at once (deliver_sm_resp of a window): $1 ids, $2 owner.
DELIVERED_MANY = "DELETE FROM callback_outbox WHERE id {ids} AND lease_owner = $2"

# Posted: the event leaves the outbox.
DELIVERED = "DELETE FROM callback_outbox WHERE id = $1 AND lease_owner = $2"

# Failed: $3 status (pending or dead), $4 next attempt, $5 the error.
FAILED = (
    "UPDATE callback_outbox SET attempts = attempts + 1, status = $3, next_at = $4, "
    "last_error = $5, lease_owner = NULL, lease_until = NULL "
    "WHERE id = $1 AND lease_owner = $2"
)

# Not tried (its receiver or tenant was busy): back to the outbox, due at $3.
DEFER = (
    "UPDATE callback_outbox SET next_at = $3, lease_owner = NULL, lease_until = NULL "
    "WHERE id = $1 AND lease_owner = $2"
)

# $1 status, $2 tenant or NULL for all, $3 limit.
LIST = (
    f"SELECT {COLUMNS} FROM callback_outbox WHERE status = $1 "
    "AND ($2 IS NULL OR tenant = $2) ORDER BY id LIMIT $3"
)

# Dead letters back to the outbox with a fresh retry window: $1 now, $2 tenant or
# NULL, $3 one event id or NULL.
REPLAY = (
    "UPDATE callback_outbox SET status = 'pending', attempts = 0, next_at = $1, "
    "created_at = $1, last_error = NULL WHERE status = 'dead' "
    "AND ($2 IS NULL OR tenant = $2) AND ($3 IS NULL OR id = $3)"
)

# Per status, and whether the event failed before: counts and the oldest's creation.
STATS = (
    "SELECT status, attempts > 0 AS failed_before, count(*), min(created_at) "
    "FROM callback_outbox GROUP BY status, attempts > 0"
)


def for_sqlite(statement: str) -> str:
    """``statement`` with SQLite's numbered parameters (``?1``)."""
    return (
        statement.replace("$", "?")
        .replace("{lock}", "")
        .replace("{urls}", "o.url IN (SELECT value FROM json_each(?5))")
        .replace("{ids}", "IN (SELECT value FROM json_each(?1))")
    )


def for_postgres(statement: str) -> str:
    return (
        statement.replace("{lock}", " FOR UPDATE SKIP LOCKED")
        .replace("{urls}", "o.url = ANY($5::text[])")
        .replace("{ids}", "= ANY($1::bigint[])")
    )
