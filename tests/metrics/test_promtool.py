"""The alert rules load in Prometheus and pass their unit tests (rules_test.yml)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ALERTS = Path(__file__).resolve().parents[2] / "metrics" / "alerts"


def promtool() -> str:
    """promtool's path; skips without it, or fails under CI=true where it must be there."""
    found = shutil.which("promtool")
    if found is not None:
        return found
    message = "promtool is not installed (Debian: apt-get install prometheus)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true: the alert rules must be checked")
    pytest.skip(message)


@pytest.mark.parametrize(
    "command",
    [["check", "rules", "rules.yml"], ["test", "rules", "rules_test.yml"]],
    ids=["check", "test"],
)
def test_promtool_accepts_the_rules(command: list[str]) -> None:
    result = subprocess.run(
        [promtool(), *command], cwd=ALERTS, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
