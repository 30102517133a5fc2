"""The campaign state machine: allowed transitions, and a typed error for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.campaigns import (
    CampaignAction,
    CampaignError,
    CampaignState,
    IllegalTransitionError,
    allowed_actions,
    transition,
)

S = CampaignState
A = CampaignAction

LEGAL = {
    (S.DRAFT, A.SCHEDULE): S.SCHEDULED,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.START): S.RUNNING,
    (S.SCHEDULED, A.UNSCHEDULE): S.DRAFT,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.RUNNING, A.PAUSE): S.PAUSED,
    (S.RUNNING, A.COMPLETE): S.COMPLETED,
    (S.RUNNING, A.CANCEL): S.CANCELLED,
    (S.PAUSED, A.RESUME): S.RUNNING,
    (S.PAUSED, A.CANCEL): S.CANCELLED,
}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", list(A))
def test_every_state_and_action(state: CampaignState, action: CampaignAction) -> None:
    expected = LEGAL.get((state, action))
    if expected is not None:
        assert transition(state, action) is expected
        assert action in allowed_actions(state)
        return
    with pytest.raises(IllegalTransitionError) as info:
        transition(state, action)
    assert isinstance(info.value, CampaignError)
    assert (info.value.field, info.value.value) == ("state", state.value)
    assert (info.value.state, info.value.action) == (state, action)
    assert action not in allowed_actions(state)


def test_pause_resume_cancel_of_a_running_campaign() -> None:
    state = transition(transition(S.DRAFT, A.SCHEDULE), A.START)
    state = transition(state, A.PAUSE)
    with pytest.raises(IllegalTransitionError, match="cannot pause a paused campaign"):
        transition(state, A.PAUSE)
    state = transition(state, A.RESUME)
    assert transition(state, A.CANCEL) is S.CANCELLED


def test_final_states() -> None:
    assert {s for s in S if s.is_final} == {S.CANCELLED, S.COMPLETED}
    with pytest.raises(IllegalTransitionError, match="nothing"):
        transition(S.COMPLETED, A.RESUME)


@given(st.lists(st.sampled_from(list(A)), max_size=30))
def test_once_final_every_action_is_refused(actions: list[CampaignAction]) -> None:
    state = S.DRAFT
    for action in actions:
        if state.is_final:
            with pytest.raises(IllegalTransitionError):
                transition(state, action)
            continue
        if action in allowed_actions(state):
            state = transition(state, action)
