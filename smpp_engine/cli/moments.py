"""The ``--now`` a command may be given: an ISO 8601 time with its zone, else now (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import fail

__all__ = ["moment_option"]


def moment_option(text: str | None, option: str = "--now") -> datetime:
    """``text`` as an aware time, or now when None; one line naming ``option`` if not."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"{option} {text!r}: expected ISO 8601, e.g. 2024-03-20T09:00:00+00:00"
        ) from None
    if at.utcoffset() is None:
        raise fail(f"{option} {text!r}: give a time zone, e.g. +00:00")
    return at
