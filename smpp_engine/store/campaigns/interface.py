"""Campaigns, recipient groups and the opt-out list: the second store interface.

SQLite and PostgreSQL implement it next to :class:`~.interface.Store` and pass
one contract suite. As there, every method is one transaction, a store that
cannot be reached raises :class:`StoreUnavailableError`, and values always
travel as SQL parameters. The campaign domain validates state changes
(:func:`smpp_engine.campaigns.transition`); the store persists them and moves
the campaign's messages accordingly:

- a campaign in "draft" or "paused" keeps its waiting messages HELD (never
  claimed); "scheduled" and "running" let them go back to QUEUED;
- "cancelled" cancels its QUEUED and HELD messages; a message of a cancelled
  campaign that would be requeued (a retry, a lease that ran out) is cancelled
  instead, one of a draft or paused campaign is HELD instead;
- "cancelled" and "completed" campaigns take no more messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..messages.model import Accepted, NewMessage
from .model import (
    CampaignStats,
    CampaignView,
    GroupMember,
    GroupView,
    NewCampaign,
    QueuedCampaignMessage,
)

__all__ = ["CampaignStore"]


class CampaignStore(Protocol):
    """Bulk campaigns and what they are planned against."""

    # --- campaigns ---

    async def create_campaign(self, campaign: NewCampaign, *, now: float) -> CampaignView:
        """Store ``campaign`` as a "draft"; :class:`DuplicateNameError` if its name is taken."""
        ...

    async def add_campaign_messages(
        self, campaign_id: int, messages: Sequence[NewMessage], *, now: float
    ) -> list[Accepted]:
        """:meth:`Store.accept` for the campaign: each message gets ``campaign_id``.

        Whatever campaign_id the messages carry is replaced. Stored QUEUED, or
        HELD while the campaign is a draft or paused. Raises
        :class:`UnknownCampaignError`, or :class:`CampaignClosedError` for a
        cancelled or completed campaign.
        """
        ...

    async def get_campaign(self, campaign_id: int) -> CampaignView | None: ...

    async def find_campaign(self, name: str) -> CampaignView | None: ...

    async def list_campaigns(self) -> list[CampaignView]:
        """Every campaign, newest first."""
        ...

    async def set_campaign_state(self, campaign_id: int, state: str, *, now: float) -> CampaignView:
        """Persist ``state`` (a CampaignState value the caller validated); move the messages.

        "draft", "paused": QUEUED messages become HELD. "scheduled", "running":
        HELD messages become QUEUED. "cancelled": QUEUED and HELD messages
        become CANCELLED, each with a "cancelled" event. "completed": none move.
        Holding and releasing add no event: the campaign's state says why, and
        a pause would otherwise write a history line per message.
        Raises :class:`UnknownCampaignError`, or ValueError for a value that is
        no CampaignState.
        """
        ...

    async def repace_campaign(self, campaign_id: int, *, rate: float, now: float) -> int:
        """Spread the campaign's QUEUED messages at ``rate`` from ``now``; return how many.

        In id order, the k-th (from 0) gets not_before = max(its not_before,
        now + k / rate): a resumed campaign does not burst out what piled up
        while it was paused. Raises :class:`UnknownCampaignError`.
        """
        ...

    async def queued_campaign_messages(self, campaign_id: int) -> list[QueuedCampaignMessage]:
        """The campaign's QUEUED messages in id order. Raises :class:`UnknownCampaignError`."""
        ...

    async def schedule_campaign_messages(
        self, campaign_id: int, slots: Sequence[tuple[int, float]], *, now: float
    ) -> int:
        """Set each (message id, not_before) of ``slots``; returns how many were set.

        Only the campaign's messages still QUEUED change (one claimed meanwhile
        is left alone). Raises :class:`UnknownCampaignError`.
        """
        ...

    async def campaign_stats(self, campaign_id: int) -> CampaignStats:
        """Counts of the campaign's messages (from an index; no table scan).

        Raises :class:`UnknownCampaignError`.
        """
        ...

    # --- recipient groups ---

    async def create_group(self, name: str, *, now: float) -> GroupView:
        """An empty group; :class:`DuplicateNameError` if the name is taken."""
        ...

    async def find_group(self, name: str) -> GroupView | None: ...

    async def list_groups(self) -> list[GroupView]:
        """Every group, by name."""
        ...

    async def upsert_group_members(self, group_id: int, members: Sequence[GroupMember]) -> int:
        """Add members, or replace the fields of those already in; return how many changed.

        A member whose fields are already these is not counted. When an MSISDN
        comes twice, the last one wins. Raises :class:`UnknownGroupError`.
        """
        ...

    async def remove_group_members(self, group_id: int, msisdns: Sequence[str]) -> int:
        """Remove these members; return how many were in. Raises :class:`UnknownGroupError`."""
        ...

    async def group_members(self, group_id: int) -> list[GroupMember]:
        """The members in MSISDN order. Raises :class:`UnknownGroupError`."""
        ...

    async def delete_group(self, group_id: int) -> bool:
        """Delete the group and its members; False if there was no such group."""
        ...

    # --- the opt-out list (normalised MSISDNs: the caller normalises) ---

    async def add_opt_outs(self, msisdns: Sequence[str], *, source: str, now: float) -> int:
        """Put ``msisdns`` on the list (``source`` says who asked); return how many were new."""
        ...

    async def remove_opt_outs(self, msisdns: Sequence[str]) -> int:
        """Take ``msisdns`` off the list; return how many were on it."""
        ...

    async def opted_out(self, msisdns: Sequence[str]) -> set[str]:
        """Which of ``msisdns`` are on the list (a few queries for any number of them)."""
        ...

    async def count_opt_outs(self) -> int: ...
