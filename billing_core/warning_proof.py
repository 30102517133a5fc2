"""A disconnection warning's proof: its delivery receipt, else a retry, else paper mail.

The consumer's time to pay counts from the warning's delivery (the DLR's done
date), so a warning is proven once one of its attempts is delivered. An attempt
not delivered within ``wait`` (or known to have failed) is sent again, up to
``retries`` times; a warning whose every attempt went undelivered is unreached:
the utility sends it on paper.

Attempts of one warning share a key: the first is the notices run's key, the
n-th retry that key with ``:retry{n}`` after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .model import FastEnum

__all__ = [
    "ProofStatus",
    "WarningAttempt",
    "WarningProof",
    "attempt_of",
    "judge_warnings",
    "retry_key",
]

_RETRY = ":retry"


class ProofStatus(FastEnum):
    PROVEN = "proven"  # delivered: the deadline counts from delivered_at
    AWAITING = "awaiting"  # the last attempt may still be delivered
    RETRY = "retry"  # send it again now
    UNREACHED = "unreached"  # every attempt undelivered: paper mail


@dataclass(frozen=True, slots=True)
class WarningAttempt:
    """One sending of a warning: its key, account, phone, when it was stored, when it
    was delivered (None: not yet), and whether it is known to have failed."""

    key: str
    account_number: str
    msisdn: str
    sent_at: datetime
    delivered_at: datetime | None
    failed: bool


@dataclass(frozen=True, slots=True)
class WarningProof:
    """Where a warning stands: ``attempts`` made, ``delivered_at`` when proven, and the
    key of the next attempt when it is to be sent again."""

    key: str
    account_number: str
    msisdn: str
    status: ProofStatus
    attempts: int
    first_sent_at: datetime
    delivered_at: datetime | None = None
    next_key: str | None = None


def attempt_of(key: str) -> tuple[str, int]:
    """The warning's own key and which attempt ``key`` is (0: the first)."""
    base, found, number = key.rpartition(_RETRY)
    if found and number.isdigit() and base:
        return base, int(number)
    return key, 0


def retry_key(key: str, attempt: int) -> str:
    """The key of attempt ``attempt`` (1 and on) of the warning keyed ``key``."""
    if attempt < 1:
        raise ValueError(f"a retry is attempt 1 or later, not {attempt}")
    return f"{key}{_RETRY}{attempt}"


def judge_warnings(
    attempts: Iterable[WarningAttempt], now: datetime, *, wait: timedelta, retries: int
) -> list[WarningProof]:
    """Each warning's standing at ``now``, in the order its first attempt came."""
    if retries < 0 or wait <= timedelta(0):
        raise ValueError(f"retries >= 0 and wait > 0, not {retries} and {wait}")
    grouped: dict[str, list[tuple[int, WarningAttempt]]] = {}
    for attempt in attempts:
        base, number = attempt_of(attempt.key)
        grouped.setdefault(base, []).append((number, attempt))
    return [_judge(base, sorted(found, key=lambda f: f[0]), now, wait, retries)
            for base, found in grouped.items()]  # fmt: skip


def _judge(
    key: str,
    numbered: Sequence[tuple[int, WarningAttempt]],
    now: datetime,
    wait: timedelta,
    retries: int,
) -> WarningProof:
    first = numbered[0][1]
    made = len(numbered)
    proof = WarningProof(key, first.account_number, first.msisdn, ProofStatus.AWAITING, made,
                         first.sent_at)  # fmt: skip
    delivered = [a.delivered_at for _, a in numbered if a.delivered_at is not None]
    if delivered:
        return replace(proof, status=ProofStatus.PROVEN, delivered_at=min(delivered))
    last_number, last = numbered[-1]
    if not last.failed and now - last.sent_at < wait:
        return proof
    if last_number < retries:
        return replace(proof, status=ProofStatus.RETRY, next_key=retry_key(key, last_number + 1))
    return replace(proof, status=ProofStatus.UNREACHED)
