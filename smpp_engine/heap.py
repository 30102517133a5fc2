"""What start-up built is set aside from the garbage collector's full passes.

A gateway builds most of its lasting objects while it starts: imported modules,
settings, routes, compiled patterns, the HTTP application. CPython's full
(oldest-generation) collection walks every tracked object, and it runs on the
event loop's thread: with about 95,000 objects, each pass stalled every MO,
receipt and request in flight for 45-85 ms, the largest part of the SMS
round trip's tail (B5). Moved to the permanent generation, those objects are
skipped by every later pass; they are still freed as usual when nothing refers
to them (only a reference cycle among them would stay).
"""

from __future__ import annotations

import gc

__all__ = ["settle_after_start"]


def settle_after_start() -> int:
    """Collect start-up's garbage, then freeze what is left; the objects now frozen."""
    gc.collect()  # what start-up threw away is freed now, not kept for ever
    gc.freeze()
    return gc.get_freeze_count()
