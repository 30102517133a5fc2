"""A message's route plan: the routes its rule allows, in failover order, as stored.

Kept on the message (``route_plan``, space-separated: route names hold no
spaces) so a failover needs nothing but the message: it goes to the route after
its current one. A plan of one route, or none (no routing table), never moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["REROUTED_EVENT", "decode_plan", "encode_plan", "failover_moves", "next_route"]


def encode_plan(plan: Sequence[str]) -> str | None:
    """``plan`` as the ``route_plan`` column holds it; None for no plan."""
    if not plan:
        return None
    for route in plan:
        if not route or any(c.isspace() for c in route):
            raise ValueError(f"route_plan: a route name without spaces, got {route!r}")
    return " ".join(plan)


def decode_plan(stored: str | None) -> tuple[str, ...]:
    """The ``route_plan`` column as a tuple of route names (empty for none)."""
    return tuple(stored.split()) if stored else ()


def next_route(plan: Sequence[str], current: str) -> str | None:
    """The route after ``current`` in ``plan``; None when there is none to fail over to.

    A current route the plan does not name (a message moved by hand, an old plan)
    has no next route: a failover never sends a message where its rule did not allow.
    """
    try:
        index = list(plan).index(current)
    except ValueError:
        return None
    return plan[index + 1] if index + 1 < len(plan) else None


#: The event a failover writes into a message's history.
REROUTED_EVENT = "rerouted"


def failover_moves(
    rows: Iterable[tuple[int, str | None]], smsc: str, reason: str
) -> list[tuple[int, str, str]]:
    """For waiting messages ``rows`` (id, stored route_plan) of route ``smsc``: the moves
    (id, next route, event detail) of those whose plan goes on after ``smsc``."""
    moves = []
    for message_id, stored in rows:
        target = next_route(decode_plan(stored), smsc)
        if target is not None:
            moves.append((message_id, target, f"{smsc} -> {target} reason={reason}"))
    return moves
