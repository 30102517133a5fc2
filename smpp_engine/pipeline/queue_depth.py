"""Queue depth for the metrics: the store's message counts per route and state, sampled.

The counts come from the store (the one truth shared by every gateway process),
not from this process's lanes, so any process's gauge shows the whole route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
import trio

from metrics import QUEUE_MESSAGES, STORE_ERRORS, child

from ..store import MessageState, Store, StoreError

__all__ = ["sample_queue_depth"]

_log = structlog.get_logger("smpp_engine.pipeline")
_OPERATION = "count_by_state"


async def sample_queue_depth(
    store: Store,
    routes: Sequence[str],
    *,
    every: float,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Set smpp_queue_messages for each route (by name) every ``every`` seconds.

    Runs until cancelled; the first sample is taken before ``task_status.started()``.
    Every state is set each time, 0 when the store has none, so a state that
    emptied does not keep its last count. A failed count is logged and counted
    in smpp_store_errors_total, and the route keeps its previous values until
    the next sample succeeds.
    """
    if every <= 0:
        raise ValueError(f"every: the sampling period must be positive, got {every!r}")
    gauges = {
        route: [(state, child(QUEUE_MESSAGES, route, state.value)) for state in MessageState]
        for route in routes
    }
    errors = child(STORE_ERRORS, store.name, _OPERATION)
    started = False
    while True:
        for route, states in gauges.items():
            try:
                counts = await store.count_by_state(smsc=route)
            except StoreError as exc:
                errors.inc()
                _log.warning(
                    "queue depth not sampled: the store failed", smsc=route, error=str(exc)
                )
                continue
            for state, gauge in states:
                gauge.set(counts.get(state, 0))
        if not started:
            task_status.started()
            started = True
        await trio.sleep(every)
