"""Run a long-lived command under trio until Ctrl-C, which is how it is meant to stop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

__all__ = ["run_until_interrupted"]


def run_until_interrupted(main: Callable[[], Awaitable[None]]) -> None:
    """``trio.run(main)``; a KeyboardInterrupt ends it quietly, even inside exception groups.

    trio delivers Ctrl-C as a KeyboardInterrupt that nurseries wrap in exception
    groups on the way out (after the shutdown code in ``finally`` blocks ran).
    Any other error is re-raised, unwrapped when it was alone in its group, so
    callers can catch their typed errors as usual.
    """
    try:
        trio.run(main)
    except KeyboardInterrupt:
        return
    except BaseExceptionGroup as group:
        _, rest = group.split(KeyboardInterrupt)
        if rest is None:
            return
        error: BaseException = rest
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        raise error from None
