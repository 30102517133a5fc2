"""Small settings files for the tests: one valid SMSC, and a way to write variants."""

from __future__ import annotations

from pathlib import Path

from smpp_engine.settings import Settings, load_settings

MINIMAL = """\
[[smsc]]
name = "primary"
host = "127.0.0.1"
port = 2775
system_id = "utility"
password = "secret1"
"""


def write(folder: Path, text: str, name: str = "engine.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(folder: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    return load_settings(write(folder, text), environ or {})
