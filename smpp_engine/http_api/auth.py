"""API keys: a request names its key in ``Authorization: Bearer`` or ``X-API-Key``.

Only SHA-256 digests of the keys are configured. A presented key is hashed and
compared with every configured digest in constant time (``hmac.compare_digest``,
no early exit), so the answer's timing says nothing about which key came close.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ..settings import SCOPES, hash_api_key

__all__ = ["KeyCheck", "KeyRing"]


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """Who a request is (``name``) and what its key may do (``scopes``), or why it is
    refused (``reason``: missing, invalid)."""

    name: str | None
    reason: str | None = None
    scopes: frozenset[str] = frozenset()


class KeyRing:
    """The configured keys, by name; :meth:`check` says whose key a request carries.

    ``scopes`` maps a key's name to what it may do; a key it leaves out holds
    every scope (:data:`~smpp_engine.settings.SCOPES`).
    """

    def __init__(
        self, digests: Mapping[str, str], scopes: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        # Bytes: compare_digest refuses a str with non-ASCII characters (a mistyped digest).
        self._digests = [
            (name, digest.strip().lower().encode("utf-8")) for name, digest in digests.items()
        ]
        given = scopes or {}
        self._scopes = {name: frozenset(given.get(name, SCOPES)) for name in digests}

    def check(self, headers: Mapping[str, str]) -> KeyCheck:
        """``headers`` with lower-case names, as ASGI gives them."""
        key = presented_key(headers)
        if key is None:
            return KeyCheck(None, "missing")
        digest = hash_api_key(key).encode("ascii")
        found: str | None = None
        for name, expected in self._digests:
            if hmac.compare_digest(digest, expected) and found is None:
                found = name
        if found is None:
            return KeyCheck(None, "invalid")
        return KeyCheck(found, scopes=self._scopes[found])


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries, if any; ``Authorization`` wins over ``X-API-Key``."""
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None
