"""A nursery for async context managers that lets the body's own exception out unwrapped.

trio wraps every exception leaving a nursery in an ExceptionGroup, including one
raised by the body of ``async with open_bind(...)``. The background tasks of this
package catch what they expect, so a group holding one exception is the caller's
(or a cancellation): it is re-raised as itself, with its original context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio


@asynccontextmanager
async def open_unwrapping_nursery() -> AsyncIterator[trio.Nursery]:
    try:
        async with trio.open_nursery() as nursery:
            yield nursery
    except BaseExceptionGroup as group:
        single = _only(group)
        if single is None:
            raise
        context = single.__context__
        try:
            raise single
        finally:
            single.__context__ = context
            del single, context, group


def _only(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    while len(group.exceptions) == 1:
        inner = group.exceptions[0]
        if not isinstance(inner, BaseExceptionGroup):
            return inner
        group = inner
    return None
