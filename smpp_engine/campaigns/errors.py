"""The base of every error the campaign domain raises."""

from __future__ import annotations


class CampaignError(ValueError):
    """A campaign input that cannot be used; ``field`` names it, ``value`` is what was found.

    ``reason`` is the human-readable cause without the field and value, so a UI can
    lay the three out as it likes.
    """

    def __init__(self, reason: str, *, field: str, value: object) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(f"{reason} (field {field}, value {value!r})")


class CampaignSettingError(CampaignError):
    """A campaign setting out of range: a rate, a start time, a time zone, a window."""
