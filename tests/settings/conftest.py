"""The commands run in-process here remember the secrets they read; forget them after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smpp_engine import redaction


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    redaction.forget_all()
