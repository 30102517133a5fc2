"""Durable messages: one :class:`Store` interface, SQLite (embedded) and PostgreSQL.

:func:`open_store` opens either from a URL (``sqlite:///path/to/file.db``,
``sqlite://:memory:``, ``postgresql://user@host:port/db``) and applies the schema
migrations before it returns. :class:`BatchWriter` batches the pipeline's updates.
"""

from .errors import MigrationError, StoreError, StoreUnavailableError
from .interface import Store
from .model import (
    FINAL_STATES,
    Accepted,
    ClaimedMessage,
    MessageEvent,
    MessageState,
    MessageView,
    NewMessage,
    PartState,
    PartSubmitted,
    PartView,
    ReceiptArrived,
    RecoveryReport,
    SubmitFailed,
    SubmitUnknown,
    Update,
)
from .opening import open_store
from .writer import BatchWriter

__all__ = [
    "FINAL_STATES",
    "Accepted",
    "BatchWriter",
    "ClaimedMessage",
    "MessageEvent",
    "MessageState",
    "MessageView",
    "MigrationError",
    "NewMessage",
    "PartState",
    "PartSubmitted",
    "PartView",
    "ReceiptArrived",
    "RecoveryReport",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "SubmitFailed",
    "SubmitUnknown",
    "Update",
    "open_store",
]
