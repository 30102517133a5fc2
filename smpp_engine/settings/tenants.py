"""``[[tenants]]`` and ``[callbacks]``: the gateway's clients and how their callbacks go out.

A tenant is a client sending through the gateway with its own API keys
(``[http] api_keys`` entries with ``tenant = "NAME"``): it may send only from
its sender ids, within its quotas and throughput, sees only its own messages,
and gets its messages' state changes posted to its callback URL, signed with
its secret. Settings without tenants keep working as before: every key is the
operator's, sees everything and sends from any sender.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from ..store.callbacks import CALLBACK_EVENTS, DEFAULT_CALLBACK_EVENTS
from .sections import Section
from .senders import SenderId
from .smpp_server import SmppCredential
from .smsc import Seconds

__all__ = [
    "CallbackSettings",
    "MoRouteSettings",
    "TenantSettings",
    "callback_secrets",
    "check_callback_url",
]

_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"

CallbackEvent = Annotated[str, Field(min_length=1)]


def check_callback_url(value: str) -> str:
    """``value`` when it is an absolute http(s) URL with a host and no credentials."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("expected a URL without user:password (the signature authenticates)")
    return value


def _check_events(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - CALLBACK_EVENTS)
    if unknown:
        known = ", ".join(sorted(CALLBACK_EVENTS))
        raise ValueError(f"unknown event {', '.join(unknown)} (known: {known})")
    return value


class TenantSettings(Section):
    """One client of the gateway."""

    name: str = Field(min_length=1, max_length=64, pattern=_NAME_PATTERN)
    #: The sender ids it may send from; empty: any.
    senders: list[SenderId] = []
    #: The sender of a message sent without one; empty: "from" is required.
    default_sender: SenderId = ""
    #: Messages per second it may submit to the API (all its keys, in each process).
    throughput: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: Messages it may send per UTC day and per UTC month; none: no limit.
    daily_quota: int | None = Field(default=None, ge=0)
    monthly_quota: int | None = Field(default=None, ge=0)
    #: Where its messages' state changes are posted by default; empty: nowhere.
    callback_url: str = ""
    #: The HMAC-SHA256 key of its callbacks' signatures (secret); checked even when
    #: left out, so a callback_url without one is refused.
    callback_secret: Annotated[str, Field(validate_default=True)] = ""
    #: Hosts a message's own callback_url may name; empty: only callback_url's host.
    callback_hosts: list[str] = []
    #: The events posted when a message does not say.
    callback_events: list[CallbackEvent] = sorted(DEFAULT_CALLBACK_EVENTS)
    #: The system_ids its systems bind to the SMPP server face with ([smpp_server]).
    smpp: list[SmppCredential] = []

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_callback_url(value) if value else value

    @field_validator("callback_events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return _check_events(value)

    @field_validator("default_sender")
    @classmethod
    def _default_sender(cls, value: str, info: ValidationInfo) -> str:
        senders = info.data.get("senders") or []
        if value and senders and value not in senders:
            raise ValueError("expected one of the tenant's senders")
        return value

    @field_validator("callback_secret", mode="after")
    @classmethod
    def _secret(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("callback_url") and not value:
            raise ValueError("a tenant with a callback_url needs a callback_secret to sign with")
        return value

    def allowed_hosts(self) -> frozenset[str]:
        """The hosts its messages' callbacks may go to (lower case)."""
        hosts = {h.lower() for h in self.callback_hosts}
        if self.callback_url:
            hosts.add((urlsplit(self.callback_url).hostname or "").lower())
        return frozenset(hosts)


class CallbackSettings(Section):
    """``[callbacks]``: how events are posted, retried and parked."""

    enabled: bool = True
    #: Seconds an attempt may take (connect, send, answer) before it fails.
    timeout: Seconds = 10.0
    #: First wait after a failure; each next one `factor` times longer, at most `max_delay`.
    first_delay: Seconds = 1.0
    factor: float = Field(default=2.0, ge=1.0, allow_inf_nan=False)
    max_delay: Seconds = 300.0
    #: An event still failing this long after it was written is parked as a dead letter.
    retry_for: Seconds = 86_400.0
    #: Requests in flight at once: in all, to one host, for one tenant.
    concurrency: int = Field(default=64, ge=1)
    per_host: int = Field(default=8, ge=1)
    per_tenant: int = Field(default=16, ge=1)
    #: The secret of callbacks of messages with no tenant (the operator's own).
    secret: str = ""
    #: How long a claimed event is held before another process may take it.
    lease: Seconds = 120.0
    #: Longest wait between looks at the outbox when it had nothing due.
    poll: Seconds = 1.0


def callback_secrets(
    tenants: list[TenantSettings], callbacks: CallbackSettings
) -> dict[str | None, str]:
    """The signing secret of each tenant's callbacks, and the operator's (None)."""
    secrets: dict[str | None, str] = {t.name: t.callback_secret for t in tenants}
    secrets[None] = callbacks.secret
    return secrets


class MoRouteSettings(Section):
    """One ``[[mo_routes]]`` rule: MO messages it matches go to ``target``.

    Rules are tried in order; the first that matches takes the message. A rule
    matches on each key it sets (none set: every message).
    """

    #: The rule's name, for logs and environment variables; unique.
    name: str = Field(min_length=1, max_length=64, pattern=_NAME_PATTERN)
    #: The short code (or number) the consumer texted; empty: any.
    destination: str = Field(default="", max_length=21)
    #: The text's first word, case aside; empty: any.
    keyword: str = Field(default="", max_length=64, pattern=r"^\S*$")
    #: The sender's number starts with this (+ and 00 aside); empty: any.
    source_prefix: str = Field(default="", max_length=21, pattern=r"^[+0-9]*$")
    #: "billing": the SMS self-service; "tenant": the tenant's callback_url; "smpp":
    #: the tenant's SMPP receiver/transceiver binds, as deliver_sm.
    target: Literal["billing", "tenant", "smpp"]
    #: The [[tenants]] entry whose endpoint (or SMPP binds) gets them.
    tenant: str = ""
    #: With target "smpp": the [[tenants.smpp]] system_id whose binds get them; empty:
    #: the tenant's one credential that may bind as a receiver.
    system_id: str = Field(default="", max_length=15)
