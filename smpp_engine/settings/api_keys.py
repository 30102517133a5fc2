"""HTTP API keys are configured by their SHA-256 digest, so the file holds no usable key."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Literal, get_args

__all__ = ["DIGEST_PATTERN", "SCOPES", "Scope", "hash_api_key", "new_api_key"]

#: What a key may do: queue messages (send), steer campaigns and groups (campaigns),
#: post payments and run notices (billing), read anything (read), and control the
#: gateway itself: pause, resume and rebind routes, reload the settings (admin).
Scope = Literal["send", "campaigns", "billing", "read", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

#: A SHA-256 digest as :func:`hash_api_key` writes it: 64 lowercase hex digits.
DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")


def hash_api_key(plain: str) -> str:
    """The digest to configure for the key ``plain`` (sha256 of its UTF-8 bytes, hex)."""
    if not plain:
        raise ValueError("an API key must not be empty")
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A fresh random key: 256 bits, URL-safe, so it passes in a header as it is."""
    return secrets.token_urlsafe(32)
