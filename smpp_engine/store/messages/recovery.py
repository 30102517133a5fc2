"""Where a message found SUBMITTING with its lease run out goes: one rule for both stores.

Its process stopped uncleanly (killed, crashed, lost its database). What it did
with the message decides the message's fate:

- never dispatched (claimed, not yet sent): back to its queue as it was, the
  claim's attempt taken back; nothing reached the SMSC, so nothing is flagged;
- dispatched: it may have reached the SMSC, so it is requeued flagged
  possible_duplicate, and the unclean stop is counted against it;
- dispatched at ``quarantine_after`` unclean stops in a row: the message is
  the likely reason the gateway keeps stopping, so it is QUARANTINED (final)
  instead of being sent again.

A claim a live gateway gives back untried (:func:`release_moves`) goes back to
its queue the same way, unflagged, its attempt taken back.

"Its queue" is where a waiting message of its campaign waits (see
:func:`~..campaigns.model.waiting_state`). The backends read the rows and write the
moves; the decision is made here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..campaigns.model import waiting_state
from .model import MessageState, RecoveryReport

__all__ = [
    "LeaseRow",
    "RecoveryPlan",
    "UnleaseMove",
    "plan_recovery",
    "release_moves",
    "unlease_moves",
]

#: (message id, smsc, lease owner, campaign state or None, dispatched, unclean stops so far)
LeaseRow = tuple[int, str, str | None, str | None, int | bool, int]


@dataclass(slots=True)
class RecoveryPlan:
    """The rows of :func:`plan_recovery`, by destination."""

    untried: list[LeaseRow] = field(default_factory=list)
    suspects: list[LeaseRow] = field(default_factory=list)
    quarantined: list[LeaseRow] = field(default_factory=list)

    def report(self) -> RecoveryReport:
        requeued = sorted(r[0] for r in (*self.untried, *self.suspects))
        return RecoveryReport(
            requeued=len(requeued),
            message_ids=tuple(requeued),
            possible_duplicates=len(self.suspects),
            quarantined=tuple(sorted(r[0] for r in self.quarantined)),
        )


def plan_recovery(rows: Iterable[LeaseRow], quarantine_after: int) -> RecoveryPlan:
    """Sort the expired leases ``rows`` into untried, suspects and quarantined."""
    plan = RecoveryPlan()
    for row in rows:
        if not row[4]:
            plan.untried.append(row)
        elif row[5] + 1 >= quarantine_after:
            plan.quarantined.append(row)
        else:
            plan.suspects.append(row)
    return plan


@dataclass(frozen=True, slots=True)
class UnleaseMove:
    """What a backend writes for one expired lease.

    ``unclean_stop``: it was dispatched, so it is flagged possible_duplicate and its
    unclean stops go up by one; otherwise the claim's attempt is taken back.
    """

    message_id: int
    smsc: str
    state: str
    unclean_stop: bool
    event: str
    detail: str


def unlease_moves(plan: RecoveryPlan) -> list[UnleaseMove]:
    """The writes of ``plan``, one per message, with the events the history shows."""
    moves = []
    for row in plan.untried:
        state = waiting_state(row[3]).value
        detail = f"owner={row[2]} -> {state} never dispatched"
        moves.append(UnleaseMove(row[0], row[1], state, False, "lease_expired", detail))
    for row in plan.suspects:
        state = waiting_state(row[3]).value
        detail = f"owner={row[2]} -> {state} possible_duplicate unclean_stops={row[5] + 1}"
        moves.append(UnleaseMove(row[0], row[1], state, True, "lease_expired", detail))
    for row in plan.quarantined:
        state = MessageState.QUARANTINED.value
        detail = f"owner={row[2]} -> {state} in flight at {row[5] + 1} unclean stops in a row"
        moves.append(UnleaseMove(row[0], row[1], state, True, "quarantined", detail))
    return moves


def release_moves(rows: Iterable[LeaseRow], owner: str) -> list[UnleaseMove]:
    """The writes that give ``owner``'s claims ``rows`` back untried (a gateway stopping)."""
    moves = []
    for row in rows:
        state = waiting_state(row[3]).value
        moves.append(
            UnleaseMove(row[0], row[1], state, False, "released", f"owner={owner} -> {state}")
        )
    return moves
