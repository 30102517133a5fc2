"""What the HTTP API is given by the app wiring: the store, the pipeline's accept, the keys."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from throttling import Priority

from ..store import Accepted, NewMessage, Store
from .health import Readiness

__all__ = ["ApiContext"]


@dataclass
class ApiContext:
    """Everything the API's handlers use; nothing else reaches them.

    ``store`` also implements the campaign and billing store interfaces (both
    backends do). ``accept`` is the pipeline's durable accept: it returns once
    the messages are committed and wakes their route. ``routes`` are the SMSC
    route names, the first being the default. ``api_key_digests`` maps a key's
    name to the SHA-256 hex digest of the key; the keys themselves are never
    held. ``metrics_public`` serves ``/metrics`` without a key.
    """

    store: Store
    accept: Callable[[Sequence[NewMessage]], Awaitable[list[Accepted]]]
    routes: Sequence[str]
    api_key_digests: Mapping[str, str]
    metrics_public: bool
    readiness: Callable[[], Awaitable[Readiness]]
    clock: Callable[[], float] = time.time
    #: The priority of a message posted without one.
    default_priority: Priority = Priority.TRANSACTIONAL

    def __post_init__(self) -> None:
        if not self.routes:
            raise ValueError("routes: the API needs at least one SMSC route")
