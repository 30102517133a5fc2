"""Config validation names the field and the value; back-off grows, caps and jitters."""

from __future__ import annotations

import random
from typing import Any

import pytest

from smpp_engine.esme import (
    Backoff,
    BindType,
    ConfigError,
    EsmeConfig,
    ReconnectPolicy,
    TlsConfig,
)
from smpp_engine.protocol import CommandStatus

BASE: dict[str, Any] = {"host": "smsc.example", "port": 2775, "system_id": "acme", "password": "pw"}


def test_defaults() -> None:
    config = EsmeConfig(**BASE)
    assert config.name == "acme"
    assert config.bind_type is BindType.TRANSCEIVER
    assert config.interface_version == 0x34
    assert config.deliver_error_status == CommandStatus.ESME_RX_T_APPN
    assert config.tls is None
    assert "pw" not in repr(config)


def test_bind_type_from_text() -> None:
    assert EsmeConfig(**BASE, bind_type="receiver").bind_type is BindType.RECEIVER  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("port", 0, "EsmeConfig.port = 0"),
        ("port", 70000, "EsmeConfig.port = 70000"),
        ("host", "", "EsmeConfig.host = ''"),
        ("system_id", "x" * 16, "EsmeConfig.system_id = 'xxxxxxxxxxxxxxxx'"),
        ("system_id", "", "EsmeConfig.system_id = ''"),
        ("system_type", "y" * 13, "EsmeConfig.system_type"),
        ("address_range", "1" * 41, "EsmeConfig.address_range"),
        ("addr_ton", 256, "EsmeConfig.addr_ton = 256"),
        ("interface_version", -1, "EsmeConfig.interface_version = -1"),
        ("window_size", 0, "EsmeConfig.window_size = 0"),
        ("response_timeout", -1.0, "EsmeConfig.response_timeout = -1.0"),
        ("response_timeout", float("inf"), "EsmeConfig.response_timeout = inf"),
        ("enquire_link_interval", 0, "EsmeConfig.enquire_link_interval = 0"),
        ("connect_timeout", 0.0, "EsmeConfig.connect_timeout = 0.0"),
        ("deliver_timeout", 0, "EsmeConfig.deliver_timeout = 0"),
        ("deliver_error_status", 0, "EsmeConfig.deliver_error_status = 0"),
        ("max_command_length", 16, "EsmeConfig.max_command_length = 16"),
        ("bind_type", "sideways", "EsmeConfig.bind_type = 'sideways'"),
    ],
)
def test_bad_values_name_field_and_value(field: str, value: object, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EsmeConfig(**{**BASE, field: value})
    assert caught.value.field == f"EsmeConfig.{field}"
    assert str(caught.value).startswith(named)


def test_password_error_does_not_show_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        EsmeConfig(**{**BASE, "password": "topsecret"})
    assert caught.value.field == "EsmeConfig.password"
    assert "topsecret" not in str(caught.value)
    assert "9 characters" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_delay": 0}, "ReconnectPolicy.min_delay"),
        ({"min_delay": 5, "max_delay": 1}, "ReconnectPolicy.max_delay"),
        ({"jitter": 1.5}, "ReconnectPolicy.jitter"),
        ({"multiplier": 0.5}, "ReconnectPolicy.multiplier"),
        ({"bind_failure_min_delay": -1}, "ReconnectPolicy.bind_failure_min_delay"),
    ],
)
def test_reconnect_policy_is_checked(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ReconnectPolicy(**kwargs)
    assert caught.value.field == field


def test_tls_key_needs_a_certificate() -> None:
    with pytest.raises(ConfigError) as caught:
        TlsConfig(key_file="client.key")
    assert caught.value.field == "TlsConfig.key_file"


def test_backoff_grows_to_the_cap_and_resets() -> None:
    backoff = Backoff(1.0, 8.0)
    assert [backoff.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.failures == 6
    backoff.reset()
    assert (backoff.next(), backoff.failures) == (1.0, 1)


def test_backoff_jitter_stays_within_its_fraction() -> None:
    backoff = Backoff(1.0, 60.0, jitter=0.5, rng=random.Random(7))
    delays = [backoff.next() for _ in range(8)]
    bases = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert all(b * 0.5 <= d <= b for d, b in zip(delays, bases, strict=True))
    assert len(set(delays)) == len(delays)  # the jitter really varies
