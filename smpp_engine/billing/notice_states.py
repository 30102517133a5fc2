"""smpp_billing_notices: the notices queued in the last :data:`NOTICE_WINDOW` (and those
stored since, not yet queued) by kind and the state of the message carrying each (sent,
delivered, failed...), counted in the store (see ``BillingStore.notice_states``).

A gauge read from the store, not counters kept by each process: a notice is
queued by the process that ran the notices job, but its receipt may come in on
any gateway process, and a process that restarts would lose what it had counted.
The store's count is the same whichever process reports it and survives
restarts (aggregate it with ``max``, not ``sum``). Planned and skipped stay
counters (smpp_billing_notices_planned/_skipped): only the run that decides
knows them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
import trio

from billing_core import NoticeKind
from metrics import STORE_ERRORS, child
from metrics.catalogue import BILLING_NOTICES

from ..store import BillingStore, MessageState, Store, StoreError

__all__ = ["NOTICE_STATES", "NOTICE_WINDOW", "UNQUEUED", "count_notice_states", "sample_notices"]

_log = structlog.get_logger("smpp_engine.billing")

#: How far back notices are counted, by when their messages were queued.
NOTICE_WINDOW = timedelta(days=30)
#: The state of a notice stored and not yet queued as a message.
UNQUEUED = "unqueued"
#: Every value of the gauge's ``state`` label.
NOTICE_STATES: tuple[str, ...] = (UNQUEUED, *(state.value for state in MessageState))


async def count_notice_states(
    billing: BillingStore, *, now: datetime
) -> dict[tuple[str, str], int]:
    """Set smpp_billing_notices from the store as of ``now``; the counts it set.

    Every kind and state is set, 0 when the store has none, so a state that
    emptied does not keep its last count.
    """
    counts = await billing.notice_states(since=now - NOTICE_WINDOW)
    for kind in NoticeKind:
        for state in NOTICE_STATES:
            BILLING_NOTICES.labels(kind.value, state).set(counts.get((kind.value, state), 0))
    return counts


async def sample_notices(
    store: Store,
    *,
    every: float,
    clock: Callable[[], float],
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """:func:`count_notice_states` every ``every`` seconds until cancelled; the first
    before ``task_status.started()``. A failed count is logged and counted in
    smpp_store_errors_total; the gauge keeps its values until the next one."""
    if every <= 0:
        raise ValueError(f"every: the sampling period must be positive, got {every!r}")
    billing = cast(BillingStore, store)  # every store is a billing repository
    errors = child(STORE_ERRORS, store.name, "notice_states")
    started = False
    while True:
        try:
            await count_notice_states(billing, now=datetime.fromtimestamp(clock(), UTC))
        except StoreError as exc:
            errors.inc()
            _log.warning("notices not counted: the store failed", error=str(exc))
        if not started:
            task_status.started()
            started = True
        await trio.sleep(every)
