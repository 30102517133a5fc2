"""MO messages the gateway keeps: routed to a tenant's endpoint, or taken by no route.

An MO message routed to the SMS self-service is the billing service's (it keeps
its own answers); every other one is kept here before the SMSC is answered, so
none is refused for ever because nobody consumes it. ``mo_id`` is the id an SMSC
redelivery reproduces (:func:`smpp_engine.pipeline.mo_message_id`): a message
kept twice is one row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["KeptMo", "MoRoute", "NewMo"]


class MoRoute(enum.StrEnum):
    BILLING = "billing"  # the SMS self-service (not kept here)
    TENANT = "tenant"  # a tenant's HTTP endpoint, through the callback outbox
    UNROUTED = "unrouted"  # no route took it: kept, listed, acknowledged


@dataclass(frozen=True, slots=True)
class NewMo:
    mo_id: str
    smsc: str
    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    received_at: float
    route: MoRoute
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class KeptMo:
    id: int
    mo_id: str
    smsc: str
    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    received_at: float
    route: MoRoute
    tenant: str | None
