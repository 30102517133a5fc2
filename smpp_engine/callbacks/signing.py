"""Callback signatures: HMAC-SHA256 over the timestamp and the body, with the tenant's secret.

Every callback carries three headers:

- ``X-Smpp-Event-Id``: the event's stable id (the same on every retry and replay:
  a receiver that saw it before has nothing to do);
- ``X-Smpp-Timestamp``: when this attempt was signed, in whole seconds since the
  epoch;
- ``X-Smpp-Signature``: ``v1=`` and the lowercase hex HMAC-SHA256, keyed with the
  tenant's ``callback_secret``, of the timestamp, a ``.`` and the body's bytes.

A receiver recomputes the signature over the bytes it received, compares in
constant time, and refuses a timestamp more than five minutes from its clock:
a captured request cannot be replayed later, and a changed body or timestamp
does not verify. :func:`verify_signature` does exactly that; receivers in other
languages follow the same four steps (docs/callbacks.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE",
    "SignatureError",
    "sign",
    "signed_headers",
    "verify_signature",
]

EVENT_HEADER = "X-Smpp-Event-Id"
TIMESTAMP_HEADER = "X-Smpp-Timestamp"
SIGNATURE_HEADER = "X-Smpp-Signature"
#: A signature older or newer than this (seconds) is refused by a receiver.
TOLERANCE = 300


class SignatureError(ValueError):
    """A callback whose signature does not verify; the message says why."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Smpp-Signature`` value of ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt to post ``body``."""
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float, tolerance: int = TOLERANCE
) -> str:
    """Check a received callback; return its event id, or raise :class:`SignatureError`.

    ``headers`` as received (names in any case); ``body`` the raw bytes, before any
    JSON parsing; ``now`` the receiver's clock (seconds since the epoch).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    event_id = lowered.get(EVENT_HEADER.lower(), "")
    if not stamp.isdigit() or not given or not event_id:
        raise SignatureError("missing timestamp, signature or event id")
    if abs(now - int(stamp)) > tolerance:
        raise SignatureError("timestamp too far from now: a replay, or a clock to fix")
    expected = sign(secret, int(stamp), body)
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().encode("ascii", "replace")):
        raise SignatureError("signature does not match")
    return event_id
