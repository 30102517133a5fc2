"""``[smpp_server]`` and each tenant's ``smpp`` credentials: downstream ESMEs bind to the gateway.

Off unless ``[smpp_server]`` is present. A tenant's systems bind with one of its
credentials (``[[tenants.smpp]]``): a system_id and the digest of its password
(:func:`hash_smpp_password`; SMPP passwords are at most 8 characters, so the
digest is salted and slow, not a bare hash), which bind types it may use, how
many binds it may hold, its window, its throughput, the sources it may send
from, and how its message ids are written (hex or decimal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Literal

from pydantic import Field, field_validator, model_validator

from throttling import Priority

from .priority import NamedPriority
from .sections import Section
from .senders import SenderId
from .smsc import Seconds, _existing_file

__all__ = [
    "SmppCredential",
    "SmppServerSettings",
    "check_smpp_password",
    "hash_smpp_password",
]

_ITERATIONS = 20_000
_DIGEST = re.compile(r"^pbkdf2_sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")

BindTypeName = Literal["transmitter", "receiver", "transceiver"]


def hash_smpp_password(plain: str, *, iterations: int = _ITERATIONS) -> str:
    """The ``password_digest`` to configure for ``plain``: PBKDF2-SHA256, salted."""
    if not plain:
        raise ValueError("an SMPP password must not be empty")
    salt = secrets.token_bytes(16)
    key = hashlib.pbkdf2_hmac("sha256", plain.encode("latin-1"), salt, iterations)
    return (
        f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}"
        f"${base64.b64encode(key).decode()}"
    )


def check_smpp_password(plain: str, digest: str) -> bool:
    """Whether ``plain`` is the password ``digest`` was made from (constant time)."""
    match = _DIGEST.match(digest)
    if match is None:
        return False
    iterations, salt, key = int(match[1]), base64.b64decode(match[2]), base64.b64decode(match[3])
    try:
        raw = plain.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", raw, salt, iterations), key)


class SmppCredential(Section):
    """``[[tenants.smpp]]``: one system_id a tenant's systems bind with."""

    system_id: str = Field(min_length=1, max_length=15, pattern=r"^[\x21-\x7e]+$")
    #: From :func:`hash_smpp_password` (``pbkdf2_sha256$...``); the password is never kept.
    password_digest: str
    bind_types: list[BindTypeName] = ["transmitter", "receiver", "transceiver"]
    #: Binds held at once with this system_id (all types), in this process.
    max_binds: int = Field(default=4, ge=1, le=1000)
    #: Requests of one bind answered at once; more wait (back-pressure: not read).
    window: int = Field(default=64, ge=1, le=10_000)
    #: submit_sm per second over all its binds; over it: ESME_RTHROTTLED.
    throughput: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: Source addresses it may send from (exact); with source_range, either matches.
    source_addresses: list[SenderId] = []
    #: A regular expression a source address must match in full (SMPP's address_range).
    source_range: str = ""
    #: How the gateway's message ids are written in submit_sm_resp and receipts.
    id_format: Literal["decimal", "hex"] = "decimal"
    #: The [[smsc]] its messages go to; empty: [smpp_server] route.
    route: str = ""

    @field_validator("password_digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if _DIGEST.match(value) is None:
            raise ValueError(
                "expected a digest from hash_smpp_password (pbkdf2_sha256$ITERATIONS$SALT$KEY)"
            )
        return value

    @field_validator("source_range")
    @classmethod
    def _range(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"expected a regular expression ({exc})") from None
        return value

    @field_validator("bind_types")
    @classmethod
    def _bind_types(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one bind type")
        return value

    def allows_source(self, source: str) -> bool:
        """Whether this credential may send from ``source``."""
        if not self.source_addresses and not self.source_range:
            return True
        if source in self.source_addresses:
            return True
        return bool(self.source_range) and re.fullmatch(self.source_range, source) is not None


class SmppServerSettings(Section):
    """``[smpp_server]``: the SMPP listener downstream ESMEs bind to."""

    host: str = Field(default="127.0.0.1", min_length=1)
    #: 0: any free port (the first JSON line of ``run`` says which).
    port: int = Field(default=2776, ge=0, le=65535)
    #: Present: TLS only, with this certificate (PEM, with its chain) and key.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    #: A connection not bound this long after it opened is closed.
    bind_timeout: Seconds = 10.0
    #: enquire_link after this long without hearing from the client.
    enquire_link_interval: Seconds = 30.0
    #: How long a deliver_sm waits for its deliver_sm_resp.
    response_timeout: Seconds = 30.0
    #: The [[smsc]] messages go to unless the credential names one; empty: the first.
    route: str = ""
    #: The priority of messages taken over SMPP.
    priority: NamedPriority = Priority.TRANSACTIONAL
    #: Receipts (and other deliver_sm) in flight per receiver bind.
    deliver_window: int = Field(default=64, ge=1, le=10_000)
    #: A bind refused for its credentials is answered after this long, doubling for
    #: each further refusal to the same address (up to 30 s): guessing costs time.
    failed_bind_delay: float = Field(default=1.0, ge=0, le=30, allow_inf_nan=False)
    #: Longest wait between looks at the outbox for receipts to send.
    receipt_poll: Seconds = 0.25

    _files = field_validator("tls_cert_file", "tls_key_file")(_existing_file)

    @model_validator(mode="after")
    def _pair(self) -> SmppServerSettings:
        if (self.tls_key_file is None) != (self.tls_cert_file is None):
            raise ValueError("give tls_cert_file and tls_key_file together")
        return self
