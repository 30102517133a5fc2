"""Idempotency keys: each API key has its own, and a key names one message.

A client's key is stored as ``api:NAME:KEY``, NAME being the API key's
configured name with ``%`` and ``:`` percent-encoded, so two names never make the
same prefix. Two clients (two API keys) sending the same key string get two
messages, and no client can take the key of a billing reply (``reply:...``), a
notice (``notice:...``) or a campaign message (``campaign:...``), which would
have silenced it.

A key sent again is answered as the first time (same id, 200, ``duplicate``)
when it comes with the same message, and refused with a 409 naming the key when
it comes with another: a second message is never dropped in silence. The same
message is the message as accepted: route, from, to, text, priority (a
missing priority counts as the configured default) and flash, the fields the store gives
back (:meth:`~smpp_engine.store.Store.get`). ``registered_delivery``, the
validity and ``send_at`` are not kept in a form that can be read back, so they are not compared
against a stored message; inside one batch, where both bodies are at hand, they
are.
"""

from __future__ import annotations

from urllib.parse import quote

from ..routing import EXPLICIT_RULE
from ..store import MessageView, NewMessage

__all__ = ["client_key", "differences", "scoped_key", "stored_differences"]

_PREFIX = "api:"


def scoped_key(api_key_name: str, key: str) -> str:
    """The key as stored for the client authenticated as ``api_key_name``."""
    return f"{_PREFIX}{quote(api_key_name, safe='')}:{key}"


def client_key(stored: str | None) -> str | None:
    """The key as its client sent it, from the stored form; other keys as stored."""
    if stored is None or not stored.startswith(_PREFIX):
        return stored
    _, separator, key = stored[len(_PREFIX) :].partition(":")
    return key if separator else stored


def stored_differences(stored: MessageView, message: NewMessage) -> list[str]:
    """The request fields in which ``message`` differs from the ``stored`` one.

    The route counts only when the request named it: a route the routing rules
    chose is no field of the request (an hour later they may choose another),
    and the stored one is where the message was first sent (it may have failed
    over since).
    """
    first_route = stored.route_plan[0] if stored.route_plan else stored.smsc
    named = message.route_rule in (None, EXPLICIT_RULE)
    pairs = {
        "route": (first_route, message.smsc if named else first_route),
        "from": (stored.source, message.source),
        "to": (stored.destination, message.destination),
        "text": (stored.text, message.text),
        "priority": (stored.priority, message.priority),
        "flash": (stored.flash, message.flash),
    }
    return [name for name, (was, now) in pairs.items() if was != now]


def differences(first: NewMessage, second: NewMessage) -> list[str]:
    """The request fields in which two messages of one batch differ (same ``now``)."""
    pairs = {
        "route": (first.smsc, second.smsc),
        "from": (
            (first.source, first.source_ton, first.source_npi),
            (second.source, second.source_ton, second.source_npi),
        ),
        "to": (first.destination, second.destination),
        "text": (first.text, second.text),
        "priority": (first.priority, second.priority),
        "flash": (first.flash, second.flash),
        "registered_delivery": (first.registered_delivery, second.registered_delivery),
        "validity": (first.expires_at, second.expires_at),
        "send_at": (first.not_before, second.not_before),
    }
    return [name for name, (a, b) in pairs.items() if a != b]
