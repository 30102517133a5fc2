"""Every command_status has a verdict; retries back off, stop, and respect validity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.pipeline.retry import RetryPolicy
from smpp_engine.pipeline.statuses import DEFAULT_VERDICTS, StatusClassifier, Verdict
from smpp_engine.protocol import CommandStatus


def test_every_defined_status_but_rok_has_a_verdict() -> None:
    defined = {int(s) for s in CommandStatus} - {0}
    assert set(DEFAULT_VERDICTS) == defined


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (CommandStatus.ESME_RTHROTTLED, Verdict.RETRY_LATER),
        (CommandStatus.ESME_RMSGQFUL, Verdict.RETRY_LATER),
        (CommandStatus.ESME_RSYSERR, Verdict.RETRY_LATER),
        (CommandStatus.ESME_RINVBNDSTS, Verdict.RETRY_ELSEWHERE),
        (CommandStatus.ESME_RINVDSTADR, Verdict.PERMANENT),
        (CommandStatus.ESME_RINVSRCADR, Verdict.PERMANENT),
        (CommandStatus.ESME_RINVDCS, Verdict.PERMANENT),
        (CommandStatus.ESME_RINVEXPIRY, Verdict.PERMANENT),
    ],
)
def test_well_known_statuses(status: CommandStatus, verdict: Verdict) -> None:
    assert StatusClassifier().verdict(status) is verdict


def test_vendor_codes_are_unknown_and_overrides_win() -> None:
    classifier = StatusClassifier({0x400: Verdict.PERMANENT, 0x58: Verdict.PERMANENT})
    assert classifier.verdict(0x400) is Verdict.PERMANENT
    assert classifier.verdict(0x401) is Verdict.RETRY_LATER
    assert classifier.verdict(0x58) is Verdict.PERMANENT
    strict = StatusClassifier(unknown=Verdict.PERMANENT)
    assert strict.verdict(0x4FF) is Verdict.PERMANENT


def test_bad_classifier_input_names_the_value() -> None:
    with pytest.raises(ValueError, match="ESME_ROK"):
        StatusClassifier().verdict(0)
    with pytest.raises(ValueError, match="-3"):
        StatusClassifier({-3: Verdict.PERMANENT})


def test_back_off_doubles_up_to_the_cap_and_gives_up() -> None:
    policy = RetryPolicy(first_delay=5, factor=2, max_delay=30, max_attempts=5)
    delays = [policy.retry_at(attempts, 100.0) for attempts in range(1, 6)]
    assert delays == [105.0, 110.0, 120.0, 130.0, None]
    assert policy.retry_at(1, 100.0, throttled=True) == 101.0


def test_no_retry_past_the_validity() -> None:
    policy = RetryPolicy(first_delay=60)
    assert policy.retry_at(1, 1000.0, expires_at=1059.0) is None
    assert policy.retry_at(1, 1000.0, expires_at=1061.0) == 1060.0


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("first_delay", {"first_delay": 0}),
        ("factor", {"factor": 0.5}),
        ("max_delay", {"first_delay": 10, "max_delay": 5}),
        ("max_attempts", {"max_attempts": 0}),
        ("throttled_delay", {"throttled_delay": -1}),
    ],
)
def test_bad_policy_names_the_field(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@given(
    attempts=st.integers(1, 50),
    now=st.floats(0, 1e10),
    first=st.floats(0.01, 100),
    factor=st.floats(1, 4),
)
def test_retry_is_after_now_and_within_the_cap(
    attempts: int, now: float, first: float, factor: float
) -> None:
    policy = RetryPolicy(first_delay=first, factor=factor, max_delay=first * 50, max_attempts=30)
    at = policy.retry_at(attempts, now)
    if attempts >= 30:
        assert at is None
    else:
        assert at is not None
        assert now < at <= now + first * 50
