"""The engine's settings: one TOML file (or the embedded default), overridden from the environment.

- :func:`load_settings`: read, override, validate; :class:`SettingsError` lists
  every problem with its file, key path and what was expected.
- :class:`Settings` and its tables; :meth:`SmscSettings.to_route` gives the
  pipeline's :class:`~smpp_engine.pipeline.SmscRoute`.
- :func:`settings_data` / :func:`to_toml`: the effective settings, secrets masked.
- :func:`hash_api_key`: the digest an HTTP API key is configured by.
"""

from .api_keys import hash_api_key
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
    Settings,
    SimulatorSettings,
    StoreSettings,
)
from .priority import NamedPriority
from .rendering import MASK, settings_data, to_toml
from .smsc import RetrySettings, SmscSettings, TlsSettings

__all__ = [
    "EMBEDDED_SOURCE",
    "MASK",
    "PREFIX",
    "ApiKey",
    "BillingSettings",
    "CapSettings",
    "HttpSettings",
    "LogSettings",
    "NamedPriority",
    "NoticeSettings",
    "Override",
    "PipelineSettings",
    "Problem",
    "RetrySettings",
    "Settings",
    "SettingsError",
    "SimulatorSettings",
    "SmscSettings",
    "StoreSettings",
    "TlsSettings",
    "apply_environment",
    "default_toml",
    "hash_api_key",
    "load_settings",
    "read_toml",
    "settings_data",
    "to_toml",
]
