"""The ``--store`` and ``--config`` options the store-reading commands share.

Without ``--store`` a command uses the settings' ``[store] url``: the file given
with ``--config``, else the embedded default, either overridden from the
environment (``SMPP_ENGINE__STORE__URL``), so they find what ``run`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .settings import Settings, SettingsError, load_settings

__all__ = ["EXIT_BAD_INPUT", "ConfigOpt", "StoreOpt", "settings_or_exit", "store_url"]

EXIT_BAD_INPUT = 2

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL: sqlite:///PATH or postgresql://...; default: the settings' [store] url.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (TOML); the embedded default without one."),
]


def settings_or_exit(path: Path | None) -> Settings:
    """The settings from ``path`` (or the embedded default) with environment overrides."""
    try:
        return load_settings(path, os.environ)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def store_url(store: str | None, config: Path | None) -> str:
    """``--store`` when given, else the settings' store."""
    return store if store is not None else settings_or_exit(config).store.url
