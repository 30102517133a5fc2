"""What one ESME bind needs to know: where, who, how, and how to come back after a failure.

Every value is checked when the config is built; a bad one raises
:class:`ConfigError` naming the field and the value (a password is never shown).
The limits on system_id, password, system_type and address_range are SMPP 3.4's
C-octet string sizes without the terminating NUL.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from ..protocol import CommandStatus

__all__ = ["BindType", "ConfigError", "EsmeConfig", "ReconnectPolicy", "TlsConfig"]


class ConfigError(ValueError):
    """A configuration value out of bounds; ``field`` names it (``EsmeConfig.port``)."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} = {value!r}: {reason}")


class BindType(enum.StrEnum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def sends(self) -> bool:
        """Whether this bind may submit messages."""
        return self is not BindType.RECEIVER

    @property
    def receives(self) -> bool:
        """Whether the SMSC delivers MO messages and receipts on this bind."""
        return self is not BindType.TRANSMITTER


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS over the TCP connection.

    The server certificate is verified against ``ca_file`` (PEM), or against the
    system trust store when it is None. ``verify=False`` switches verification
    off, for test SMSCs with self-signed certificates only. ``server_hostname``
    is the name the certificate must carry (default: the configured host).
    ``cert_file``/``key_file`` present a client certificate when the SMSC wants one.
    """

    ca_file: str | None = None
    verify: bool = True
    server_hostname: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if self.key_file is not None and self.cert_file is None:
            raise ConfigError("TlsConfig.key_file", self.key_file, "given without cert_file")
        if self.server_hostname is not None and not self.server_hostname:
            raise ConfigError("TlsConfig.server_hostname", self.server_hostname, "empty")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential back-off between connection attempts.

    The n-th consecutive failure waits ``min_delay * multiplier**(n-1)``, capped at
    ``max_delay``, less a random fraction of up to ``jitter`` of it (so that many
    binds do not come back in step). A refused bind (wrong password, unknown
    system_id, ESME_RBINDFAIL) starts at ``bind_failure_min_delay`` instead: the
    SMSC will most likely refuse again, and hammering it can get the account locked.
    """

    min_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.2
    bind_failure_min_delay: float = 30.0

    def __post_init__(self) -> None:
        _positive("ReconnectPolicy.min_delay", self.min_delay)
        _positive("ReconnectPolicy.bind_failure_min_delay", self.bind_failure_min_delay)
        if not (math.isfinite(self.max_delay) and self.max_delay >= self.min_delay):
            raise ConfigError(
                "ReconnectPolicy.max_delay", self.max_delay, "must be finite and >= min_delay"
            )
        if not (math.isfinite(self.multiplier) and self.multiplier >= 1.0):
            raise ConfigError("ReconnectPolicy.multiplier", self.multiplier, "must be >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigError("ReconnectPolicy.jitter", self.jitter, "must be in 0..1")


#: SMPP 3.4 C-octet string sizes, without the NUL.
_MAX_SYSTEM_ID = 15
_MAX_PASSWORD = 8
_MAX_SYSTEM_TYPE = 12
_MAX_ADDRESS_RANGE = 40
_MIN_COMMAND_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class EsmeConfig:
    """One bind to one SMSC account.

    ``name`` labels the bind in logs and metrics (default: ``system_id``).
    ``response_timeout`` is every request's deadline: after it the outcome is
    UNKNOWN and the window slot is free. ``enquire_link_interval`` is the idle
    time after which a keep-alive goes out (None: never). ``deliver_timeout`` is
    how long an inbound deliver_sm/data_sm waits for the application to take it
    before it is answered with ``deliver_error_status`` (ESME_RX_T_APPN: the
    SMSC retries later). ``ack_inbound``: the deliver_sm_resp waits until the
    application calls :meth:`Inbound.ack` (e.g. once a receipt is durable), not
    only until it took the message; an ack missing after ``deliver_timeout``
    from arrival is answered with ``deliver_error_status``. ``bind_wait_timeout``
    bounds how long a supervised bind's submit waits for a bound link.
    ``unbind_timeout`` bounds the wait for unbind_resp on shutdown.
    """

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    name: str = ""
    system_type: str = ""
    bind_type: BindType = BindType.TRANSCEIVER
    address_range: str = ""
    addr_ton: int = 0
    addr_npi: int = 0
    interface_version: int = 0x34
    window_size: int = 10
    response_timeout: float = 30.0
    enquire_link_interval: float | None = 30.0
    connect_timeout: float = 10.0
    unbind_timeout: float = 2.0
    bind_wait_timeout: float = 30.0
    tls: TlsConfig | None = None
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    deliver_error_status: int = CommandStatus.ESME_RX_T_APPN
    deliver_timeout: float = 5.0
    ack_inbound: bool = False
    max_command_length: int = 65536

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.system_id or f"{self.host}:{self.port}")
        bind_type: object = self.bind_type  # TOML and the CLI give a plain string
        if not isinstance(bind_type, BindType):
            try:
                object.__setattr__(self, "bind_type", BindType(str(bind_type)))
            except ValueError:
                raise ConfigError(
                    "EsmeConfig.bind_type",
                    bind_type,
                    "must be transmitter, receiver or transceiver",
                ) from None
        if not self.host:
            raise ConfigError("EsmeConfig.host", self.host, "empty")
        if not (isinstance(self.port, int) and 1 <= self.port <= 65535):
            raise ConfigError("EsmeConfig.port", self.port, "must be an integer in 1..65535")
        _c_string("EsmeConfig.system_id", self.system_id, _MAX_SYSTEM_ID, empty=False)
        if not _latin1(self.password) or len(self.password) > _MAX_PASSWORD:
            # The value is a secret: say what is wrong without showing it.
            raise ConfigError(
                "EsmeConfig.password",
                f"<{len(self.password)} characters>",
                f"must be at most {_MAX_PASSWORD} Latin-1 characters (SMPP 3.4)",
            )
        _c_string("EsmeConfig.system_type", self.system_type, _MAX_SYSTEM_TYPE)
        _c_string("EsmeConfig.address_range", self.address_range, _MAX_ADDRESS_RANGE)
        for name in ("addr_ton", "addr_npi", "interface_version"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 0 <= value <= 255):
                raise ConfigError(f"EsmeConfig.{name}", value, "must be an integer in 0..255")
        if not (isinstance(self.window_size, int) and 1 <= self.window_size <= 65535):
            raise ConfigError(
                "EsmeConfig.window_size", self.window_size, "must be an integer in 1..65535"
            )
        _positive("EsmeConfig.response_timeout", self.response_timeout)
        if self.enquire_link_interval is not None:
            _positive("EsmeConfig.enquire_link_interval", self.enquire_link_interval)
        _positive("EsmeConfig.connect_timeout", self.connect_timeout)
        _positive("EsmeConfig.unbind_timeout", self.unbind_timeout)
        _positive("EsmeConfig.bind_wait_timeout", self.bind_wait_timeout)
        _positive("EsmeConfig.deliver_timeout", self.deliver_timeout)
        if not (isinstance(self.deliver_error_status, int) and self.deliver_error_status > 0):
            raise ConfigError(
                "EsmeConfig.deliver_error_status",
                self.deliver_error_status,
                "must be a non-zero command_status",
            )
        if not (
            isinstance(self.max_command_length, int)
            and _MIN_COMMAND_LENGTH <= self.max_command_length <= 0x7FFFFFFF
        ):
            raise ConfigError(
                "EsmeConfig.max_command_length",
                self.max_command_length,
                f"must be an integer in {_MIN_COMMAND_LENGTH}..{0x7FFFFFFF}",
            )


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(name, value, "must be a positive finite number of seconds")


def _latin1(value: str) -> bool:
    return value.isascii() or max(value) <= "\xff"


def _c_string(name: str, value: str, limit: int, *, empty: bool = True) -> None:
    if not isinstance(value, str):
        raise ConfigError(name, value, "must be a string")
    if not value and not empty:
        raise ConfigError(name, value, "empty")
    if len(value) > limit or not _latin1(value) or "\x00" in value:
        raise ConfigError(
            name, value, f"must be at most {limit} Latin-1 characters without NUL (SMPP 3.4)"
        )
