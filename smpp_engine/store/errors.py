"""The store's typed errors: what failed, where, and whether waiting can help."""

from __future__ import annotations

__all__ = [
    "CampaignClosedError",
    "DuplicateNameError",
    "MigrationError",
    "StoreError",
    "StoreUnavailableError",
    "UnknownCampaignError",
    "UnknownGroupError",
    "UnknownUtilityError",
]


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


class DuplicateNameError(StoreError):
    """A campaign or group with this name exists already; ``name`` is the name."""

    def __init__(self, store: str, what: str, name: str) -> None:
        self.what = what  # "campaign" or "group"
        self.name = name
        super().__init__(store, f"a {what} named {name!r} exists already")


class UnknownCampaignError(StoreError):
    """No campaign has the id ``campaign_id``."""

    def __init__(self, store: str, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        super().__init__(store, f"no campaign has id {campaign_id}")


class UnknownGroupError(StoreError):
    """No recipient group has the id ``group_id``."""

    def __init__(self, store: str, group_id: int) -> None:
        self.group_id = group_id
        super().__init__(store, f"no recipient group has id {group_id}")


class CampaignClosedError(StoreError):
    """The campaign is cancelled or completed (``state``) and takes no more messages."""

    def __init__(self, store: str, campaign_id: int, state: str) -> None:
        self.campaign_id = campaign_id
        self.state = state
        super().__init__(store, f"campaign {campaign_id} is {state}: it takes no more messages")


class UnknownUtilityError(StoreError):
    """No billing utility has the id ``utility_id`` (None: no utility is stored at all)."""

    def __init__(self, store: str, utility_id: str | None) -> None:
        self.utility_id = utility_id
        what = "is stored" if utility_id is None else f"has the id {utility_id!r}"
        super().__init__(store, f"no billing utility {what}")
