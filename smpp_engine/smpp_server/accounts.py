"""Who may bind to the SMPP server face, and what each bound account may do.

Each ``[[tenants.smpp]]`` credential is an :class:`Account`: its tenant, its
limits, and the binds it holds in this process. A bind is checked in the order
the spec's statuses suggest: an unknown system_id is ESME_RINVSYSID, a wrong
password ESME_RINVPASWD, a bind type the credential may not use or one bind
more than ``max_binds`` ESME_RBINDFAIL (ESME_RALYBND is for a bind on a session
already bound; the session answers that by itself).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from throttling import GCRA

from ..protocol import CommandId, CommandStatus
from ..settings import Settings, SmppCredential, TenantSettings, check_smpp_password
from ..tenant_rates import TenantRates

__all__ = ["Account", "Accounts", "BindKind", "Throughput"]


class BindKind(enum.Enum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def sends(self) -> bool:
        """It submits messages (transmitter, transceiver)."""
        return self is not BindKind.RECEIVER

    @property
    def receives(self) -> bool:
        """It is sent receipts (receiver, transceiver)."""
        return self is not BindKind.TRANSMITTER

    @classmethod
    def of(cls, command_id: int) -> BindKind:
        return _KINDS[command_id]


_KINDS = {
    CommandId.bind_transmitter.value: BindKind.TRANSMITTER,
    CommandId.bind_receiver.value: BindKind.RECEIVER,
    CommandId.bind_transceiver.value: BindKind.TRANSCEIVER,
}


class Throughput:
    """Messages per second with a second's burst; ``None`` rate: no limit. Given
    ``shared`` (the process's shares of the tenants' throughputs, and a tenant's name),
    taken from that limiter instead: the HTTP API takes from it too."""

    __slots__ = ("_gcra", "rate", "shared")

    def __init__(self, rate: float | None, shared: tuple[TenantRates, str] | None = None) -> None:
        self.rate = rate
        self.shared = shared
        self._gcra: GCRA | None = None

    def take(self, now: float) -> bool:
        """Take one message; False (nothing taken) when over the rate."""
        if self.rate is None:
            return True
        if self.shared is not None:
            rates, tenant = self.shared
            return rates.take(tenant, 1, now) == 0
        if self._gcra is None:
            self._gcra = GCRA(self.rate, max(self.rate, 1.0), now=now)
        if self._gcra.wait(1, now=now) > 0:
            return False
        self._gcra.take(1, now=now)
        return True


@dataclass(eq=False)
class Account:
    """One credential as the server applies it; ``binds`` counts those held now."""

    credential: SmppCredential
    tenant: TenantSettings
    route: str
    rate: Throughput
    tenant_rate: Throughput
    #: The route was named (by the credential or [smpp_server]): the routing rules
    #: do not choose for this account's messages.
    explicit_route: bool = False
    binds: int = 0
    kinds: frozenset[BindKind] = field(default_factory=frozenset)

    @property
    def system_id(self) -> str:
        return self.credential.system_id

    def format_id(self, message_id: int) -> str:
        """The gateway's id of a message as this account reads it."""
        if self.credential.id_format == "hex":
            return f"{message_id:X}"
        return str(message_id)

    def parse_id(self, text: str) -> int | None:
        """The store id of an id this account was given, or None."""
        try:
            return int(text, 16 if self.credential.id_format == "hex" else 10)
        except ValueError:
            return None

    def take(self, now: float) -> bool:
        """One message of the credential's and the tenant's throughput; False: over either."""
        if not self.rate.take(now):
            return False
        return self.tenant_rate.take(now)

    def allows_source(self, source: str) -> bool:
        senders = self.tenant.senders
        if senders and source not in senders:
            return False
        return self.credential.allows_source(source)


class Accounts:
    """Every credential of every tenant, by system_id."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self.by_system_id = {a.system_id: a for a in accounts}

    @classmethod
    def of(cls, settings: Settings, rates: TenantRates | None = None) -> Accounts:
        server = settings.smpp_server
        server_route = server.route if server else ""
        default_route = server_route or settings.smsc[0].name
        found = []
        for tenant in settings.tenants:
            # One throughput per tenant, shared by all its credentials' binds here.
            shared = None if rates is None else (rates, tenant.name)
            tenant_rate = Throughput(tenant.throughput, shared)
            for credential in tenant.smpp:
                found.append(
                    Account(
                        credential,
                        tenant,
                        credential.route or default_route,
                        Throughput(credential.throughput),
                        tenant_rate,
                        kinds=frozenset(BindKind(k) for k in credential.bind_types),
                        explicit_route=bool(credential.route or server_route),
                    )
                )
        return cls(found)

    def check_bind(self, system_id: str, password: str, kind: BindKind) -> Account | int:
        """The account a bind binds to, or the status refusing it."""
        account = self.by_system_id.get(system_id)
        if account is None:
            return CommandStatus.ESME_RINVSYSID
        if not check_smpp_password(password, account.credential.password_digest):
            return CommandStatus.ESME_RINVPASWD
        if kind not in account.kinds or account.binds >= account.credential.max_binds:
            return CommandStatus.ESME_RBINDFAIL
        return account
