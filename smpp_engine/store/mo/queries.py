"""The kept MO messages' statements, for both stores (``$n`` parameters; SQLite ``?n``)."""

from __future__ import annotations

__all__ = ["COLUMNS", "FIND", "INSERT", "LIST"]

COLUMNS = (
    "id, mo_id, smsc, source, destination, text, data_coding, parts, received_at, route, tenant"
)

# A redelivered message (same mo_id) is not kept twice: nothing is returned.
INSERT = (
    "INSERT INTO mo_messages (mo_id, smsc, source, destination, text, data_coding, parts, "
    "received_at, route, tenant) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (mo_id) DO NOTHING RETURNING id"
)

FIND = "SELECT id FROM mo_messages WHERE mo_id = $1"

# $1 route or NULL, $2 tenant or NULL, $3 limit; newest first.
LIST = (
    f"SELECT {COLUMNS} FROM mo_messages WHERE ($1 IS NULL OR route = $1) "
    "AND ($2 IS NULL OR tenant = $2) ORDER BY id DESC LIMIT $3"
)
