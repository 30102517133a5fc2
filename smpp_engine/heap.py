"""What start-up built is set aside from the garbage collector's full passes.

A gateway builds most of its lasting objects while it starts: imported modules,
settings, routes, compiled patterns, the HTTP application. CPython's full
(oldest-generation) collection walks every tracked object, and it runs on the
event loop's thread: with about 95,000 objects, each pass stalled every MO,
receipt and request in flight for 45-85 ms, the largest part of the SMS
round trip's tail (B5). Moved to the permanent generation, those objects are
skipped by every later pass; they are still freed as usual when nothing refers
to them (only a reference cycle among them would stay).

The youngest generation is collected after 10,000 new objects instead of
CPython's 700: a gateway at work allocates and frees objects by the million, nearly
all freed by their reference counts, and the default made a thousand small
passes over a B4 run of 50,000 messages, about 5% of its CPU (0.43 s against
0.06 s); cyclic garbage waits a little longer to be freed, a few megabytes at most.
"""

from __future__ import annotations

import gc

import structlog

__all__ = ["YOUNG_COLLECTION_THRESHOLD", "settle_after_start"]

_log = structlog.get_logger("smpp_engine.heap")

#: New (tracked, not yet freed) objects between two collections of the youngest generation.
YOUNG_COLLECTION_THRESHOLD = 10_000


def settle_after_start() -> int:
    """Collect start-up's garbage, freeze what is left and space the young collections
    out (see the module's docstring); the objects now frozen (also logged)."""
    gc.collect()  # what start-up threw away is freed now, not kept for ever
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)
    frozen = gc.get_freeze_count()
    _log.info("start-up objects set aside from full collections", objects=frozen)
    return frozen
