"""The store's typed errors: what failed, where, and whether waiting can help."""

from __future__ import annotations

__all__ = ["MigrationError", "StoreError", "StoreUnavailableError"]


class StoreError(Exception):
    """A store operation failed. ``store`` names the implementation ("sqlite", "postgresql")."""

    def __init__(self, store: str, message: str) -> None:
        self.store = store
        super().__init__(f"{store} store: {message}")


class StoreUnavailableError(StoreError):
    """The database cannot be reached or refused the work; nothing of the call was written.

    The caller may retry later: the pipeline pauses and keeps what it holds.
    """


class MigrationError(StoreError):
    """The schema could not be brought to this version (e.g. the database is newer)."""
