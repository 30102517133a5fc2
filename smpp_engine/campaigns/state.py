"""The life of a campaign: which actions are allowed in which state.

::

    DRAFT --schedule--> SCHEDULED --start--> RUNNING --complete--> COMPLETED
      ^                     |                 |   ^
      +-----unschedule------+           pause |   | resume
                                              v   |
                                              PAUSED

    cancel: from DRAFT, SCHEDULED, RUNNING or PAUSED to CANCELLED

CANCELLED and COMPLETED are final. A paused campaign is completed by resuming
it first, so the sender is the one place that decides the last message went out.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final

from ..store.campaigns.model import CampaignState
from .errors import CampaignError

__all__ = ["TRANSITIONS", "CampaignAction", "CampaignState"]


class CampaignAction(enum.Enum):
    """What an operator (or the scheduler, for start and complete) does to a campaign."""

    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    COMPLETE = "complete"


_S = CampaignState
_A = CampaignAction

TRANSITIONS: Final = MappingProxyType(
    {
        _S.DRAFT: MappingProxyType({_A.SCHEDULE: _S.SCHEDULED, _A.CANCEL: _S.CANCELLED}),
        _S.SCHEDULED: MappingProxyType(
            {_A.START: _S.RUNNING, _A.UNSCHEDULE: _S.DRAFT, _A.CANCEL: _S.CANCELLED}
        ),
        _S.RUNNING: MappingProxyType(
            {_A.PAUSE: _S.PAUSED, _A.COMPLETE: _S.COMPLETED, _A.CANCEL: _S.CANCELLED}
        ),
        _S.PAUSED: MappingProxyType({_A.RESUME: _S.RUNNING, _A.CANCEL: _S.CANCELLED}),
        _S.CANCELLED: MappingProxyType({}),
        _S.COMPLETED: MappingProxyType({}),
    }
)


class IllegalTransitionError(CampaignError):
    """An action the campaign's state does not allow; ``value`` is the state."""

    def __init__(self, state: CampaignState, action: CampaignAction) -> None:
        self.state = state
        self.action = action
        allowed = ", ".join(a.value for a in TRANSITIONS[state]) or "nothing (final state)"
        super().__init__(
            f"cannot {action.value} a {state.value} campaign (allowed: {allowed})",
            field="state",
            value=state.value,
        )


def allowed_actions(state: CampaignState) -> frozenset[CampaignAction]:
    """The actions ``state`` allows (what a UI offers as buttons)."""
    return frozenset(TRANSITIONS[state])


def transition(state: CampaignState, action: CampaignAction) -> CampaignState:
    """The state after ``action``; raises :class:`IllegalTransitionError`."""
    try:
        return TRANSITIONS[state][action]
    except KeyError:
        raise IllegalTransitionError(state, action) from None
