"""Callback signatures: what the gateway signs verifies, with its own check and with the
stand-alone function docs/callbacks.md gives receivers; anything changed does not."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.callbacks import SignatureError, signed_headers, verify_signature

DOCS = Path(__file__).resolve().parents[2] / "docs" / "callbacks.md"


def _documented_verify() -> Any:
    text = DOCS.read_text("utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(block, str(DOCS), "exec"), namespace)  # the documented receiver, as shown
    return namespace["verify"]


@given(
    secret=st.text(min_size=1),
    body=st.binary(),
    event_id=st.from_regex(r"[0-9]{1,12}", fullmatch=True),
)
def test_what_is_signed_verifies_both_ways(secret: str, body: bytes, event_id: str) -> None:
    now = int(time.time())
    headers = signed_headers(secret, event_id, now, body)
    assert verify_signature(secret, headers, body, now=now) == event_id
    assert _documented_verify()(secret, headers, body) == event_id


def test_anything_changed_does_not_verify() -> None:
    now = int(time.time())
    body = b'{"event_id":"7","state":"delivered"}'
    headers = signed_headers("s3cret", "7", now, body)
    documented = _documented_verify()
    changed: list[tuple[str, dict[str, str], bytes, float]] = [
        ("wrong", headers, body, now),  # another secret
        ("s3cret", headers, body.replace(b"delivered", b"expired"), now),  # another body
        ("s3cret", {**headers, "X-Smpp-Timestamp": str(now - 1)}, body, now),  # another time
        ("s3cret", headers, body, now + 301),  # replayed six minutes later
        ("s3cret", {k: v for k, v in headers.items() if k != "X-Smpp-Signature"}, body, now),
    ]
    for secret, sent, received, at in changed:
        with pytest.raises(SignatureError):
            verify_signature(secret, sent, received, now=at)
        if at == now:  # the documented function reads the clock itself
            with pytest.raises(ValueError):
                documented(secret, sent, received)


def test_header_names_are_matched_in_any_case() -> None:
    headers = {k.lower(): v for k, v in signed_headers("k", "9", 100, b"{}").items()}
    assert verify_signature("k", headers, b"{}", now=100) == "9"
