"""Delivery callbacks: events of the store's outbox POSTed, signed, to clients' endpoints.

- :class:`CallbackSender`: claims due events, posts them, settles them (retry with
  back-off, dead letters); one per gateway process.
- :func:`verify_signature`: what a receiver runs on each request (docs/callbacks.md).
"""

from .body import event_body, event_json
from .sender import CallbackPolicy, CallbackSender
from .signing import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE,
    SignatureError,
    sign,
    signed_headers,
    verify_signature,
)

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE",
    "CallbackPolicy",
    "CallbackSender",
    "SignatureError",
    "event_body",
    "event_json",
    "sign",
    "signed_headers",
    "verify_signature",
]
