"""A disconnection warning's proof: delivered, awaited, sent again, or paper mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    ProofStatus,
    WarningAttempt,
    WarningProof,
    attempt_of,
    judge_warnings,
    retry_key,
)

T0 = datetime(2024, 4, 20, 10, tzinfo=UTC)
WAIT = timedelta(hours=48)
KEY = "notice:disconnection_warning:1234567890:electricity:2024-04:79161234567"


def sent(
    key: str, at: datetime, *, delivered: datetime | None = None, failed: bool = False
) -> WarningAttempt:
    return WarningAttempt(key, "1234567890", "79161234567", at, delivered, failed)


def judge(*attempts: WarningAttempt, now: datetime, retries: int = 1) -> WarningProof:
    (proof,) = judge_warnings(attempts, now, wait=WAIT, retries=retries)
    return proof


def test_a_delivered_warning_is_proven_from_its_receipt() -> None:
    done = T0 + timedelta(minutes=3)
    proof = judge(sent(KEY, T0, delivered=done), now=T0 + timedelta(days=30))
    assert (proof.status, proof.delivered_at, proof.attempts) == (ProofStatus.PROVEN, done, 1)


def test_an_undelivered_warning_is_awaited_then_sent_again_then_paper() -> None:
    assert judge(sent(KEY, T0), now=T0 + timedelta(hours=47)).status is ProofStatus.AWAITING
    late = judge(sent(KEY, T0), now=T0 + WAIT)
    assert (late.status, late.next_key) == (ProofStatus.RETRY, f"{KEY}:retry1")
    again = T0 + WAIT
    both = (sent(KEY, T0), sent(f"{KEY}:retry1", again))
    assert judge(*both, now=again + timedelta(hours=1)).status is ProofStatus.AWAITING
    paper = judge(*both, now=again + WAIT)
    assert (paper.status, paper.attempts, paper.first_sent_at) == (ProofStatus.UNREACHED, 2, T0)


def test_a_failed_attempt_is_not_waited_for() -> None:
    proof = judge(sent(KEY, T0, failed=True), now=T0 + timedelta(minutes=5))
    assert proof.status is ProofStatus.RETRY
    assert judge(sent(KEY, T0, failed=True), now=T0, retries=0).status is ProofStatus.UNREACHED


def test_a_retry_delivered_proves_the_warning() -> None:
    done = T0 + WAIT + timedelta(minutes=1)
    proof = judge(
        sent(KEY, T0, failed=True),
        sent(f"{KEY}:retry1", T0 + WAIT, delivered=done),
        now=T0 + 10 * WAIT,
    )
    assert (proof.status, proof.delivered_at, proof.key) == (ProofStatus.PROVEN, done, KEY)


def test_the_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="retries"):
        judge_warnings([], T0, wait=WAIT, retries=-1)
    with pytest.raises(ValueError, match="attempt 1"):
        retry_key(KEY, 0)


@given(
    st.text(min_size=1).filter(lambda k: not k.endswith(tuple("0123456789"))), st.integers(1, 99)
)
def test_a_retry_key_names_its_warning_and_attempt(key: str, attempt: int) -> None:
    base, first = attempt_of(key)
    assert attempt_of(retry_key(base, attempt)) == (base, attempt)
    assert first == 0 or key.endswith(f":retry{first}")
