"""The callback outbox: events for clients' HTTP endpoints, durable until posted."""

from .interface import CallbackStore
from .model import (
    ACCEPTED,
    CALLBACK_EVENTS,
    DEFAULT_CALLBACK_EVENTS,
    MO_EVENT,
    OutboxEvent,
    OutboxSettlement,
    OutboxStats,
    OutboxStatus,
    decode_events,
    encode_events,
)
from .queries import SMPP_URL_PREFIX
from .rules import Backoff, OutboxRow, wanted

__all__ = [
    "ACCEPTED",
    "CALLBACK_EVENTS",
    "DEFAULT_CALLBACK_EVENTS",
    "MO_EVENT",
    "SMPP_URL_PREFIX",
    "Backoff",
    "CallbackStore",
    "OutboxEvent",
    "OutboxRow",
    "OutboxSettlement",
    "OutboxStats",
    "OutboxStatus",
    "decode_events",
    "encode_events",
    "wanted",
]
