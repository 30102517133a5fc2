"""The engine's settings: one pydantic model per TOML table.

Cross-table rules (unique route names, the billing route among them) live in
:mod:`.checks`, so that each problem can name the key it is about.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from billing_core import FrequencyCaps, UtilitySettings
from billing_core import QuietHours as NoticeQuietHours
from billing_core.quiet_hours import (
    WEEKDAY_DEFAULT,
    WEEKEND_DAYS_DEFAULT,
    WEEKEND_DEFAULT,
    window_text,
)
from throttling import Priority

from ..billing import SmsSelfService
from ..billing.service import DEFAULT_ASK_AGAIN_AFTER, DEFAULT_REPLY_VALIDITY
from ..campaigns import CampaignSettingError, QuietHours, RecipientTimeZones, parse_window
from ..jobs.schedule import parse_time_of_day
from ..pipeline import Pipeline
from ..routing import RoutingTable
from ..store.opening import open_store
from .api_keys import DIGEST_PATTERN, SCOPES, Scope
from .defaults import field_default, parameter_default
from .priority import NamedPriority
from .routing import RoutingSettings
from .sections import Section
from .senders import SenderId
from .smpp_server import SmppServerSettings
from .smsc import Seconds, SmscSettings
from .tenants import CallbackSettings, MoRouteSettings, TenantSettings

if TYPE_CHECKING:
    from ..simulator import Scenario

__all__ = [
    "ApiKey",
    "BillingSettings",
    "CapSettings",
    "HttpSettings",
    "LogSettings",
    "NoticeSettings",
    "PipelineSettings",
    "RetentionSettings",
    "Settings",
    "SimulatorSettings",
    "StoreSettings",
]

#: A quiet window "HH:MM-HH:MM", or "off" for none.
_OFF = "off"


class StoreSettings(Section):
    """``[store]``: where messages are kept."""

    url: str = "sqlite:///smpp-engine.db"
    #: PostgreSQL: connections this process opens at most for messages, campaigns,
    #: the HTTP API and billing (SQLite has one).
    pool_size: int = Field(default=parameter_default(open_store, "pool_size"), ge=1, le=1000)
    #: PostgreSQL: connections it opens at most, when the first is needed, for the SMS
    #: self-service's answers (their statements are planned once per connection).
    answers_pool_size: int = Field(
        default=parameter_default(open_store, "answers_pool_size"), ge=1, le=1000
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        if not separator or scheme not in ("sqlite", "postgresql", "postgres") or not rest:
            raise ValueError("expected sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")
        return value


class LogSettings(Section):
    """``[log]``: auto is console on a terminal, JSON otherwise."""

    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"


class ApiKey(Section):
    """One HTTP API key, by name and the SHA-256 digest of the key (``config hash-key``).

    ``scopes`` limits what the key may do; a key without it may do everything
    (the keys of settings written before scopes existed keep working).
    """

    name: str = Field(min_length=1, max_length=64)
    sha256: str
    scopes: list[Scope] | None = Field(default=None, min_length=1)
    #: The [[tenants]] entry the key acts for; none: the operator's key (sees everything).
    tenant: str | None = None

    def granted(self) -> frozenset[str]:
        """The scopes this key holds: all of them when none are listed."""
        return frozenset(SCOPES if self.scopes is None else self.scopes)

    @field_validator("sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        digest = value.lower()
        if not DIGEST_PATTERN.fullmatch(digest):
            raise ValueError(
                "expected a SHA-256 digest: 64 hex digits (smpp-engine config hash-key)"
            )
        return digest


class HttpSettings(Section):
    """``[http]``: the HTTP API and /metrics."""

    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)
    api_keys: list[ApiKey] = []
    #: /metrics answers without a key.
    metrics_public: bool = False
    #: The priority of a message submitted without one.
    default_priority: NamedPriority = Priority.TRANSACTIONAL

    def api_key_digests(self) -> dict[str, str]:
        """Key name -> digest, as the HTTP API takes them."""
        return {key.name: key.sha256 for key in self.api_keys}

    def api_key_scopes(self) -> dict[str, frozenset[str]]:
        """Key name -> the scopes it holds, as the HTTP API takes them."""
        return {key.name: key.granted() for key in self.api_keys}

    def api_key_tenants(self) -> dict[str, str]:
        """Key name -> the tenant it acts for, for the keys that act for one."""
        return {key.name: key.tenant for key in self.api_keys if key.tenant is not None}

    def priority(self) -> Priority:
        return self.default_priority


class SimulatorSettings(Section):
    """``[simulator]``: the built-in SMSC simulator, run in the same process."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=2775, ge=0, le=65535)
    #: A scenario name (config/scenarios/NAME.toml) or a path to a scenario file.
    scenario: str = Field(default="healthy", min_length=1)
    #: The one account the simulator accepts; an empty system_id accepts any.
    system_id: str = Field(default="", max_length=15)
    password: str = Field(default="", max_length=8)

    @field_validator("scenario")
    @classmethod
    def _scenario_exists(cls, value: str, info: ValidationInfo) -> str:
        if not info.data.get("enabled"):
            return value  # not run: need not exist here
        # The simulator package brings its web stack; only a check that needs it pays.
        from ..simulator import ScenarioError, find_scenario, load_scenario  # noqa: PLC0415

        base = (info.context or {}).get("base_dir")
        folders = [base / "scenarios", base] if isinstance(base, Path) else []
        try:
            path = Path(value).expanduser()
            if path.suffix == ".toml" or "/" in value:
                if not path.is_absolute() and isinstance(base, Path):
                    path = base / path
                if not path.is_file():
                    raise ValueError(f"expected a scenario file, there is none at {path}")
            else:
                path = find_scenario(value, folders)
            load_scenario(path, search=folders)
        except ScenarioError as exc:
            raise ValueError(str(exc)) from None
        return str(path)

    def load_scenario(self) -> Scenario:
        """The scenario to run, accepting only the configured account when one is set.

        A scenario with phases keeps the accounts of its phases.
        """
        from ..simulator import Account, find_scenario, load_scenario  # noqa: PLC0415

        path = Path(self.scenario)  # a path once validated with the simulator enabled
        scenario = load_scenario(path if path.is_file() else find_scenario(self.scenario))
        if not self.system_id or scenario.has_phases:
            return scenario
        account = Account(system_id=self.system_id, password=self.password)
        others = tuple(a for a in scenario.accounts if a.system_id != self.system_id)
        return scenario.model_copy(update={"accounts": (account, *others)})


class PipelineSettings(Section):
    """``[pipeline]``: the write-behind batching, housekeeping and shutdown."""

    writer_batch: int = Field(default=parameter_default(Pipeline, "writer_batch"), ge=1)
    writer_delay: float = Field(
        default=parameter_default(Pipeline, "writer_delay"), gt=0, allow_inf_nan=False
    )
    housekeeping: Seconds = parameter_default(Pipeline, "housekeeping")
    #: Seconds to let the windows settle on shutdown before the binds are cut.
    drain_timeout: Seconds = 10.0
    #: A message in flight at this many unclean stops in a row is quarantined.
    quarantine_after: int = Field(default=parameter_default(Pipeline, "quarantine_after"), ge=1)
    #: First and longest wait before a route whose task failed is started again.
    route_restart_delay: Seconds = parameter_default(Pipeline, "restart_delay")
    route_restart_max_delay: Seconds = parameter_default(Pipeline, "restart_max_delay")


class RetentionSettings(Section):
    """``[retention]``: finished messages older than this are purged, counted by day first.

    Off by default: purging is for good, and what an operator must keep (and
    for how long) is theirs to decide.
    """

    #: Days after a message finished (delivered, rejected, ...) that it is purged; 0: never.
    finished_after_days: int = Field(default=0, ge=0, le=36_500)
    #: The time of day (UTC) the purge runs.
    run_at: str = "03:30"
    #: Message ids looked at per transaction: each batch is short, so sending goes on.
    batch: int = Field(default=1000, ge=10, le=100_000)
    #: Seconds between two batches, for the pipeline's transactions.
    pause: Seconds = 0.05

    @field_validator("run_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        parse_time_of_day(value)
        return value

    @property
    def enabled(self) -> bool:
        return self.finished_after_days > 0


class BillingSettings(Section):
    """``[billing]``: the SMS self-service (meter readings in, balances out)."""

    enabled: bool = False
    #: The [[smsc]] name replies and notices go out on.
    route: str = "default"
    #: Sender of replies; empty: the utility's own sender_id.
    source_addr: SenderId = ""
    #: Seconds a reply may wait to go out before it expires.
    reply_validity: Seconds = DEFAULT_REPLY_VALIDITY
    #: Seconds within which the same balance or help request is one question.
    ask_again_after: Seconds = DEFAULT_ASK_AGAIN_AFTER
    #: The utility answering numbers bound to no account; empty: the default one.
    utility: str = ""
    workers: int = Field(default=parameter_default(SmsSelfService, "workers"), ge=1)
    backlog: int = Field(default=parameter_default(SmsSelfService, "backlog"), ge=1)
    #: On PostgreSQL, MO waiting at once (of different phones) answered together: one
    #: context load and one save for all of them; 1: one at a time.
    batch: int = Field(default=parameter_default(SmsSelfService, "batch"), ge=1, le=256)
    #: On PostgreSQL with batch > 1, the tasks answering batches (at most ``workers``).
    batch_workers: int = Field(default=parameter_default(SmsSelfService, "batch_workers"), ge=1)
    #: The day of the month (1-28) the gateway closes the month before; 0: it does not
    #: (smpp-engine billing close-period does it by hand).
    close_period_day: int = Field(default=1, ge=0, le=28)
    #: The time of day it does, in the utility's time zone.
    close_period_at: str = "02:00"

    @field_validator("close_period_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        parse_time_of_day(value)  # ValueError says what is expected
        return value

    def apply_to(self, utility: UtilitySettings) -> UtilitySettings:
        """``utility`` with this sender id, when one is configured."""
        if not self.source_addr:
            return utility
        return dataclasses.replace(utility, sender_id=self.source_addr)


class CapSettings(Section):
    """``[notices.caps]``: debt notices in any rolling day, week and 30 days."""

    per_day: int = Field(default=field_default(FrequencyCaps, "per_day"), ge=1)
    per_week: int = Field(default=field_default(FrequencyCaps, "per_week"), ge=1)
    per_month: int = Field(default=field_default(FrequencyCaps, "per_month"), ge=1)


class NoticeSettings(Section):
    """``[notices]``: quiet hours and frequency caps for campaigns and billing notices."""

    quiet_weekday: str = window_text(WEEKDAY_DEFAULT)
    quiet_weekend: str = window_text(WEEKEND_DEFAULT)
    #: 0 = Monday ... 6 = Sunday.
    weekend_days: list[Annotated[int, Field(ge=0, le=6)]] = sorted(WEEKEND_DAYS_DEFAULT)
    #: Recipients' zone when their number's country code says none.
    time_zone: str = parameter_default(RecipientTimeZones, "default")
    #: Longer number prefixes with their own zone, e.g. {"1212" = "America/New_York"}.
    time_zone_prefixes: dict[str, str] = {}
    caps: CapSettings = CapSettings()
    #: The time of day (the utility's zone) the gateway runs the notices when billing
    #: is enabled; "off": it does not (smpp-engine notices run does it by hand).
    run_at: str = "10:00"
    #: Hours a disconnection warning may wait for its DELIVRD receipt before it is sent
    #: again (a failed one is sent again at once).
    warning_wait_hours: float = Field(default=48.0, gt=0, allow_inf_nan=False)
    #: How many times a warning is sent again; one still undelivered after the last is
    #: listed for paper mail (smpp-engine notices warnings).
    warning_retries: int = Field(default=1, ge=0, le=10)

    @field_validator("run_at")
    @classmethod
    def _run_at(cls, value: str) -> str:
        if value != _OFF:
            parse_time_of_day(value)  # ValueError says what is expected
        return value

    @field_validator("quiet_weekday", "quiet_weekend")
    @classmethod
    def _window(cls, value: str) -> str:
        if value != _OFF:
            try:
                parse_window(value)
            except CampaignSettingError:
                raise ValueError('expected "HH:MM-HH:MM" or "off"') from None
        return value

    @field_validator("time_zone_prefixes")
    @classmethod
    def _zones(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        try:
            RecipientTimeZones(default=info.data.get("time_zone", "UTC"), prefixes=value)
        except CampaignSettingError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            RecipientTimeZones(default=value)
        except CampaignSettingError:
            raise ValueError("expected an IANA time zone name such as Europe/Berlin") from None
        return value

    def _windows(self) -> tuple[str | None, str | None]:
        return (
            None if self.quiet_weekday == _OFF else self.quiet_weekday,
            None if self.quiet_weekend == _OFF else self.quiet_weekend,
        )

    def quiet_hours(self) -> QuietHours:
        """The campaigns' quiet hours."""
        weekday, weekend = self._windows()
        return QuietHours.parse(weekday, weekend, frozenset(self.weekend_days))

    def notice_quiet_hours(self) -> NoticeQuietHours:
        """The same windows for the billing core's notice rules."""
        hours = self.quiet_hours()
        return NoticeQuietHours(hours.weekday, hours.weekend, hours.weekend_days)

    def time_zones(self) -> RecipientTimeZones:
        return RecipientTimeZones(default=self.time_zone, prefixes=self.time_zone_prefixes)

    def frequency_caps(self) -> FrequencyCaps:
        return FrequencyCaps(self.caps.per_day, self.caps.per_week, self.caps.per_month)

    def apply_to(self, utility: UtilitySettings) -> UtilitySettings:
        """``utility`` with these quiet hours and caps for its notices: the engine's
        settings say when SMS may go out, over what the billing data says.

        The consumer's clock stays the account's zone, else the utility's: the
        billing data knows it, where ``time_zone`` guesses from a number.
        """
        rules = dataclasses.replace(
            utility.notices, quiet_hours=self.notice_quiet_hours(), caps=self.frequency_caps()
        )
        return dataclasses.replace(utility, notices=rules)


class Settings(Section):
    """Everything the engine reads from its settings file."""

    store: StoreSettings = StoreSettings()
    log: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    smsc: list[SmscSettings] = Field(min_length=1)
    pipeline: PipelineSettings = PipelineSettings()
    billing: BillingSettings = BillingSettings()
    notices: NoticeSettings = NoticeSettings()
    retention: RetentionSettings = RetentionSettings()
    routing: RoutingSettings | None = None

    def routing_table(self) -> RoutingTable | None:
        """The routing table; None without ``[routing]`` (every message on its request's
        route or the first ``[[smsc]]``)."""
        if self.routing is None:
            return None
        return self.routing.to_table(self.smsc[0].name)

    tenants: list[TenantSettings] = []
    callbacks: CallbackSettings = CallbackSettings()
    mo_routes: list[MoRouteSettings] = []
    #: None (no [smpp_server] table): no SMPP listener.
    smpp_server: SmppServerSettings | None = None

    def route(self, name: str) -> SmscSettings:
        """The ``[[smsc]]`` called ``name``; KeyError if none is."""
        for smsc in self.smsc:
            if smsc.name == name:
                return smsc
        raise KeyError(name)
