"""One ``[[smsc]]`` table: an SMSC account the pipeline sends to, and its route.

Names are plain words; ``config/README.md`` maps the usual gateway knob names
(throughput, max-pending-submits, msg-id-type, alt-charset...) onto them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..esme import BindType, ConfigError, EsmeConfig, ReconnectPolicy, TlsConfig
from ..pipeline import (
    ReceiptLevel,
    RetryPolicy,
    ScheduleForm,
    SmscRoute,
    SubmitOptions,
    ValidityForm,
)
from ..protocol import Alphabet, Concatenation, MessageIdPolicy, TextProfile
from .defaults import field_default
from .sections import Section

__all__ = ["RetrySettings", "SmscSettings", "TlsSettings"]

Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
#: Route names are addressed from environment variable names, hence the plain alphabet.
RouteName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _existing_file(value: str | None, info: ValidationInfo) -> str | None:
    """``value`` resolved against the settings file's folder; it must be a file."""
    if value is None:
        return None
    path = Path(value).expanduser()
    base = (info.context or {}).get("base_dir")
    if not path.is_absolute() and isinstance(base, Path):
        path = base / path
    if not path.is_file():
        raise ValueError(f"expected an existing file, there is none at {path}")
    return str(path)


class TlsSettings(Section):
    """``[smsc.tls]``: present means the SMSC is reached over TLS."""

    ca_file: str | None = field_default(TlsConfig, "ca_file")
    cert_file: str | None = field_default(TlsConfig, "cert_file")
    key_file: str | None = field_default(TlsConfig, "key_file")
    verify: bool = field_default(TlsConfig, "verify")
    server_hostname: str | None = field_default(TlsConfig, "server_hostname")

    _files = field_validator("ca_file", "cert_file", "key_file")(_existing_file)

    def to_config(self) -> TlsConfig:
        return TlsConfig(
            ca_file=self.ca_file,
            verify=self.verify,
            server_hostname=self.server_hostname,
            cert_file=self.cert_file,
            key_file=self.key_file,
        )


class RetrySettings(Section):
    """``[smsc.retry]``: back-off for refused or unanswered submits."""

    first_delay: Seconds = field_default(RetryPolicy, "first_delay")
    factor: float = Field(default=field_default(RetryPolicy, "factor"), ge=1, allow_inf_nan=False)
    max_delay: Seconds = field_default(RetryPolicy, "max_delay")
    max_attempts: int = Field(default=field_default(RetryPolicy, "max_attempts"), ge=1)
    throttled_delay: Seconds = field_default(RetryPolicy, "throttled_delay")

    def to_policy(self) -> RetryPolicy:
        return RetryPolicy(
            first_delay=self.first_delay,
            factor=self.factor,
            max_delay=self.max_delay,
            max_attempts=self.max_attempts,
            throttled_delay=self.throttled_delay,
        )


class SmscSettings(Section):
    """One SMSC account: where, who, how many binds, how fast, and its habits.

    Defaults are those of the route and the bind it becomes (:mod:`.defaults`).
    """

    name: RouteName
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15)
    password: str = Field(max_length=8)
    system_type: str = Field(default=field_default(EsmeConfig, "system_type"), max_length=12)
    bind_type: Literal["transceiver", "transmitter", "receiver"] = field_default(
        EsmeConfig, "bind_type"
    )
    binds: int = Field(default=field_default(SmscRoute, "binds"), ge=1, le=64)
    window: int = Field(default=field_default(EsmeConfig, "window_size"), ge=1, le=65535)
    throughput: float | None = Field(
        default=field_default(SmscRoute, "rate"), gt=0, allow_inf_nan=False
    )
    burst: float | None = Field(
        default=field_default(SmscRoute, "burst"), ge=1, allow_inf_nan=False
    )
    #: 0: never send enquire_link.
    enquire_link_interval: float = Field(
        default=field_default(EsmeConfig, "enquire_link_interval"), ge=0, allow_inf_nan=False
    )
    reconnect_delay: Seconds = field_default(ReconnectPolicy, "min_delay")
    reconnect_max_delay: Seconds = field_default(ReconnectPolicy, "max_delay")
    response_timeout: Seconds = field_default(EsmeConfig, "response_timeout")
    connect_timeout: Seconds = field_default(EsmeConfig, "connect_timeout")
    msg_id_type: Literal[
        "as_is", "hex_to_dec", "dec_to_hex", "strip_leading_zeros", "case_insensitive"
    ] = field_default(SmscRoute, "id_policy")
    default_alphabet: Literal["gsm7", "latin1", "ia5"] = field_default(
        TextProfile, "default_alphabet"
    )
    allow_latin1: bool = field_default(TextProfile, "allow_latin1")
    concatenation: Literal["udh8", "udh16", "sar", "payload"] = field_default(
        SmscRoute, "concatenation"
    )
    receipt_timeout: Seconds = field_default(SmscRoute, "receipt_timeout")
    #: A message's validity in submit_sm: "none" (the SMSC's default), "relative"
    #: (the time left when sent) or "absolute" (the moment, UTC).
    validity_period: Literal["none", "relative", "absolute"] = field_default(
        SubmitOptions, "validity"
    )
    #: Receipts asked for: "final" (success or failure), "failure" (failures only: a
    #: message with none by receipt_timeout is presumed delivered) or "intermediate"
    #: (final ones and the SMSC's intermediate notifications, kept in the history).
    receipts: Literal["final", "failure", "intermediate"] = field_default(SubmitOptions, "receipts")
    #: The most SMS one message may take on this route; longer texts are refused.
    max_parts: int = Field(default=field_default(SubmitOptions, "max_parts"), ge=1, le=255)
    #: Whether a message may ask to go as a flash SMS (data_coding message class 0);
    #: needs text written as GSM 7-bit or UCS-2 (default_alphabet "gsm7", no Latin-1).
    flash: bool = field_default(SubmitOptions, "flash")
    #: Who holds a message with a send_at until then: "gateway" (it is submitted when
    #: the time comes) or "smsc" (submitted up to schedule_lead seconds before, with
    #: schedule_delivery_time; out of the gateway's hands once handed over).
    schedule_delivery: Literal["gateway", "smsc"] = field_default(SubmitOptions, "schedule")
    schedule_lead: float = Field(
        default=field_default(SubmitOptions, "schedule_lead"), gt=0, le=3600, allow_inf_nan=False
    )
    lease: Seconds = field_default(SmscRoute, "lease")
    #: Seconds with no bind up before messages whose routing rule lists another
    #: route move to it.
    failover_after: Seconds = field_default(SmscRoute, "failover_after")
    claim_batch: int = Field(default=field_default(SmscRoute, "claim_batch"), ge=1)
    max_unsettled: int | None = Field(default=field_default(SmscRoute, "max_unsettled"), ge=1)
    tls: TlsSettings | None = None
    retry: RetrySettings = RetrySettings()

    @field_validator("password")
    @classmethod
    def _latin1(cls, value: str) -> str:
        if value and max(value) > "\xff":
            raise ValueError("expected at most 8 Latin-1 characters (SMPP 3.4)")
        return value

    @model_validator(mode="after")
    def _route_builds(self) -> SmscSettings:
        # The route's own checks span fields (lease against response_timeout, ...).
        try:
            self.to_route()
        except (ConfigError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_esme(self) -> EsmeConfig:
        """One bind's configuration (every bind of the pool is alike)."""
        return EsmeConfig(
            host=self.host,
            port=self.port,
            system_id=self.system_id,
            password=self.password,
            name=self.name,
            system_type=self.system_type,
            bind_type=BindType(self.bind_type),
            window_size=self.window,
            response_timeout=self.response_timeout,
            enquire_link_interval=self.enquire_link_interval or None,
            connect_timeout=self.connect_timeout,
            tls=self.tls.to_config() if self.tls is not None else None,
            reconnect=ReconnectPolicy(
                min_delay=self.reconnect_delay, max_delay=self.reconnect_max_delay
            ),
            # The pipeline answers a deliver_sm once what it carries is durable.
            ack_inbound=True,
        )

    def text_profile(self) -> TextProfile:
        return TextProfile(
            default_alphabet=Alphabet(self.default_alphabet), allow_latin1=self.allow_latin1
        )

    def to_route(self) -> SmscRoute:
        """The pipeline's route for this SMSC."""
        return SmscRoute(
            name=self.name,
            esme=self.to_esme(),
            binds=self.binds,
            rate=self.throughput,
            burst=self.burst,
            id_policy=MessageIdPolicy(self.msg_id_type),
            text_profile=self.text_profile(),
            concatenation=Concatenation(self.concatenation),
            retry=self.retry.to_policy(),
            claim_batch=self.claim_batch,
            lease=self.lease,
            receipt_timeout=self.receipt_timeout,
            failover_after=self.failover_after,
            max_unsettled=self.max_unsettled,
            submit_options=SubmitOptions(
                validity=ValidityForm(self.validity_period),
                max_parts=self.max_parts,
                receipts=ReceiptLevel(self.receipts),
                flash=self.flash,
                schedule=ScheduleForm(self.schedule_delivery),
                schedule_lead=self.schedule_lead,
            ),
        )
