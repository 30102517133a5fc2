"""What the store keeps of a paused route: since when, and who paused it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RoutePause"]


@dataclass(frozen=True, slots=True)
class RoutePause:
    """``route`` is paused since ``since`` (epoch seconds), by ``by`` (an API key's name,
    or the command line)."""

    route: str
    since: float
    by: str
