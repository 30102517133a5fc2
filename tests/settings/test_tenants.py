"""``[[tenants]]``, ``[callbacks]`` and ``[[mo_routes]]``: loaded, checked across tables,
secrets from the environment, every mistake naming its key."""

from __future__ import annotations

from pathlib import Path

from smpp_engine.settings import settings_data

from .helpers import MINIMAL, load_text
from .test_errors import problems_of

KEY = "0" * 64

TENANT = f"""{MINIMAL}
[http]
api_keys = [{{ name = "acme-key", sha256 = "{KEY}", tenant = "acme" }}]

[[tenants]]
name = "acme"
senders = ["ACME", "ACME2"]
default_sender = "ACME"
daily_quota = 1000
callback_url = "https://hooks.acme.example/sms"
callback_secret = "in-the-file"
callback_hosts = ["hooks2.acme.example"]

[[mo_routes]]
name = "acme-code"
destination = "7000"
target = "tenant"
tenant = "acme"
"""


def test_a_tenant_loads_with_its_secret_from_the_environment(tmp_path: Path) -> None:
    settings = load_text(
        tmp_path, TENANT, {"SMPP_ENGINE__TENANTS__ACME__CALLBACK_SECRET": "from-env"}
    )
    (tenant,) = settings.tenants
    assert tenant.callback_secret == "from-env"  # the environment wins over the file
    assert tenant.allowed_hosts() == {"hooks.acme.example", "hooks2.acme.example"}
    assert settings.http.api_key_tenants() == {"acme-key": "acme"}
    assert settings.mo_routes[0].tenant == "acme"
    shown = settings_data(settings)
    assert shown["tenants"][0]["callback_secret"] == "***"


def test_mistakes_name_their_key(tmp_path: Path) -> None:
    cases = {
        # A callback URL needs a secret to sign with.
        TENANT.replace('callback_secret = "in-the-file"', ""): "tenants[acme].callback_secret",
        TENANT.replace('tenant = "acme" }', 'tenant = "other" }'): "http.api_keys[0].tenant",
        TENANT.replace('default_sender = "ACME"', 'default_sender = "ZETA"'): (
            "tenants[acme].default_sender"
        ),
        TENANT.replace('tenant = "acme"\n', 'tenant = "beta"\n'): "mo_routes[0].tenant",
        TENANT.replace('target = "tenant"', 'target = "billing"'): "mo_routes[0].target",
        TENANT.replace("https://hooks.acme.example/sms", "ftp://x"): "tenants[acme].callback_url",
        TENANT + "\n[callbacks]\nper_host = 0\n": "callbacks.per_host",
    }
    for text, key in cases.items():
        keys = [p.key for p in problems_of(tmp_path, text)]
        assert key in keys, (key, keys)
