"""The engine's settings: one TOML file (or the embedded default), overridden from the environment.

- :func:`load_settings`: read, override, validate; :class:`SettingsError` lists
  every problem with its file, key path and what was expected.
- :class:`Settings` and its tables; :meth:`SmscSettings.to_route` gives the
  pipeline's :class:`~smpp_engine.pipeline.SmscRoute`.
- :func:`settings_data` / :func:`to_toml`: the effective settings, secrets masked.
- :func:`hash_api_key`: the digest an HTTP API key is configured by;
  :func:`new_api_key` makes one, :func:`with_api_key` adds its entry to a file's text.
"""

from .api_key_entries import ApiKeyEntryError, api_key_entry, with_api_key
from .api_keys import SCOPES, Scope, hash_api_key, new_api_key
from .environment import PREFIX, Override, apply_environment
from .errors import Problem, SettingsError
from .loading import EMBEDDED_SOURCE, default_toml, load_settings, read_toml
from .model import (
    ApiKey,
    BillingSettings,
    CapSettings,
    HttpSettings,
    LogSettings,
    NoticeSettings,
    PipelineSettings,
    RetentionSettings,
    Settings,
    SimulatorSettings,
    StoreSettings,
)
from .priority import NamedPriority
from .rendering import MASK, settings_data, to_toml
from .routing import RoutingSettings, RuleSettings
from .smpp_server import (
    SmppCredential,
    SmppServerSettings,
    check_smpp_password,
    hash_smpp_password,
)
from .smsc import RetrySettings, SmscSettings, TlsSettings
from .tenants import CallbackSettings, MoRouteSettings, TenantSettings, check_callback_url

__all__ = [
    "EMBEDDED_SOURCE",
    "MASK",
    "PREFIX",
    "SCOPES",
    "ApiKey",
    "ApiKeyEntryError",
    "BillingSettings",
    "CallbackSettings",
    "CapSettings",
    "HttpSettings",
    "LogSettings",
    "MoRouteSettings",
    "NamedPriority",
    "NoticeSettings",
    "Override",
    "PipelineSettings",
    "Problem",
    "RetentionSettings",
    "RetrySettings",
    "RoutingSettings",
    "RuleSettings",
    "Scope",
    "Settings",
    "SettingsError",
    "SimulatorSettings",
    "SmppCredential",
    "SmppServerSettings",
    "SmscSettings",
    "StoreSettings",
    "TenantSettings",
    "TlsSettings",
    "api_key_entry",
    "apply_environment",
    "check_callback_url",
    "check_smpp_password",
    "default_toml",
    "hash_api_key",
    "hash_smpp_password",
    "load_settings",
    "new_api_key",
    "read_toml",
    "settings_data",
    "to_toml",
    "with_api_key",
]
