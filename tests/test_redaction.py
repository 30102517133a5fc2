"""Masking secrets: by key, in store URLs and connection strings of any shape, by value."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine import redaction
from smpp_engine.redaction import MASK, mask_text, mask_url, remember, remember_url, secrets_in


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    redaction.forget_all()
    yield
    redaction.forget_all()


# Letters and digits only: what is left after masking can be searched for them reliably.
SECRETS = st.text(string.ascii_letters + string.digits, min_size=8, max_size=24)
# Any printable password, as people paste them into URLs (unencoded, sometimes).
PASSWORDS = st.text(
    string.ascii_letters + string.digits + "!#$%^*()-_=+[]{}~.,/:@", min_size=6, max_size=20
)


@given(PASSWORDS)
def test_a_url_password_is_masked_in_every_shape(password: str) -> None:
    shapes = [
        f"postgresql://engine:{password}@db.example:5432/gateway",
        f"postgres://engine:{password}@db.example/gateway",
        f"engine:{password}@db.example/gateway",  # no scheme
        f"postgresql://:{password}@db.example/gateway",  # no user
    ]
    for url in shapes:
        masked = mask_url(url)
        assert MASK in masked
        assert masked.endswith("@db.example:5432/gateway") or masked.endswith("@db.example/gateway")
        assert f":{password}@" not in masked


@given(SECRETS)
def test_query_parameters_and_dsn_pairs_are_masked(secret: str) -> None:
    shapes = [
        f"postgresql://engine@db/gateway?password={secret}&sslmode=require",
        f"postgresql://engine@db/gateway?sslpassword={secret}",
        f"host=db user=engine password={secret} dbname=gateway",
        f"host=db password='{secret} with space' dbname=gateway",
        f'host=db password = "{secret}"',
    ]
    for url in shapes:
        assert secret not in mask_url(url)
        assert secret not in mask_text(f"error: store {url!r} cannot be opened")
    assert mask_url(shapes[0]).endswith("?password=***&sslmode=require")


def test_a_url_without_credentials_is_left_alone() -> None:
    for url in (
        "sqlite:///var/lib/engine.db",
        "postgresql://engine@db:5432/x",
        "sqlite://:memory:",
    ):
        assert mask_url(url) == url


@given(SECRETS)
def test_text_masks_credentials_in_quoted_urls_json_and_headers(secret: str) -> None:
    texts = [
        f"store url 'mysql://u:{secret}@h/x': unknown scheme",
        f"(got 'u:{secret}@h/db')",
        json.dumps({"password": secret, "host": "h"}),
        repr({"api_key": secret}),
        f"Authorization: Bearer {secret}",
        f"X-API-Key: {secret}",
    ]
    for text in texts:
        assert secret not in mask_text(text), text


def test_masking_twice_keeps_the_text_around_the_mask() -> None:
    once = f"store {mask_url('postgresql://u@h/x?password=abcdef')}: cannot be opened"
    assert mask_text(once) == "store postgresql://u@h/x?password=***: cannot be opened"


@given(SECRETS)
def test_a_remembered_secret_is_masked_wherever_it_appears(secret: str) -> None:
    assert secret in mask_text(f"system_id {secret!r} too long")  # not known yet
    remember(secret)
    for text in (
        f"system_id {secret!r} too long",
        f"scenario {secret}.toml not found",
        json.dumps({"note": f"x{secret}y"}),
        f"path /tmp/{quote(secret + '/é', safe='')}",
    ):
        assert secret not in mask_text(text)
    assert MASK in mask_text(secret)


def test_secrets_shorter_than_the_minimum_are_not_masked_by_value() -> None:
    remember("abc")
    assert mask_text("abc abcdef") == "abc abcdef"


def test_a_remembered_url_password_is_masked_decoded_and_encoded() -> None:
    remember_url("postgresql://engine:p%40ss%2Fw0rd@db/x")
    assert mask_text("the password p@ss/w0rd") == "the password ***"
    assert mask_text("p%40ss%2Fw0rd") == MASK


def test_secrets_in_finds_values_under_secret_keys_and_in_urls() -> None:
    data = {
        "store": {"url": "postgresql://engine:dbpass01@db/x"},
        "smsc": [{"name": "a", "password": "smscpass"}],
        "http": {"api_keys": [{"name": "ops", "sha256": "ab" * 32}]},
        "other": {"dsn": "host=h password=dsnpass1"},
    }
    found = secrets_in(data)
    assert {"dbpass01", "smscpass", "dsnpass1"} <= found
    assert "ops" not in found and "a" not in found


def test_redact_mapping_masks_by_key_and_inside_text() -> None:
    remember("remembered-secret")
    event = {
        "event": "store failed: postgresql://u:dbpass@h/x",
        "password": "hunter22",
        "detail": ["remembered-secret in a list"],
        "nested": {"Token": "t0k3n-value"},
    }
    assert redaction.redact_mapping(event) == {
        "event": "store failed: postgresql://u:***@h/x",
        "password": MASK,
        "detail": ["*** in a list"],
        "nested": {"Token": MASK},
    }
