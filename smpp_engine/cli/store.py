"""The ``--store`` and ``--config`` options the store-reading commands share, and opening the store.

Without ``--store`` a command uses the settings' ``[store] url``: the file given
with ``--config``, else the embedded default, either overridden from the
environment (``SMPP_ENGINE__STORE__URL``), so they find what ``run`` writes.

Every secret read here (the settings' passwords, the store URL's) is
remembered, so no error or log line of the command shows it. A store that
cannot be opened is :class:`StoreOpenError` (exit status 2, one line naming
the URL with its password masked); a store failing later is a ``StoreError``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..redaction import mask_url, remember, remember_url, secrets_in
from .errors import EXIT_BAD_INPUT, CommandError, single_error

if TYPE_CHECKING:
    # The settings and the store load when a command reads them, not with the options.
    from ..settings import Settings
    from ..store import Accepted, NewMessage, Store, StoreError

__all__ = [
    "EXIT_BAD_INPUT",
    "ConfigOpt",
    "StoreOpenError",
    "StoreOpt",
    "StoreQueue",
    "opened_store",
    "settings_or_exit",
    "store_failure",
    "store_url",
]

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


class StoreOpenError(CommandError):
    """The store at a URL cannot be opened (database down, no such file, a bad URL)."""

    def __init__(self, url: str, cause: StoreError) -> None:
        super().__init__(store_failure(url, cause), EXIT_BAD_INPUT)
        self.url = url
        self.cause = cause


class StoreQueue:
    """Messages go straight into the store, for a running gateway to send."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        return await self.store.accept(messages, now=time.time())


def store_failure(url: str, error: StoreError) -> str:
    """``store URL: what went wrong``, the URL's password masked."""
    reason = str(error).removeprefix(f"{error.store} store: ")
    if reason.startswith("store url "):
        return reason  # names the URL already
    if reason.startswith("open: "):
        reason = "cannot be opened: " + reason.removeprefix("open: ")
    return f"store {mask_url(url)}: {reason}"


def settings_or_exit(path: Path | None) -> Settings:
    """The settings from ``path`` (or the embedded default) with environment overrides.

    Invalid settings raise ``SettingsError``, which the command line reports
    (exit status 2); the secrets of valid ones are remembered.
    """
    from ..settings import load_settings  # noqa: PLC0415 - see the imports

    settings = load_settings(path, os.environ)
    remember(*secrets_in(settings.model_dump(mode="json")))
    return settings


def store_url(store: str | None, config: Path | None) -> str:
    """``--store`` when given, else the settings' store; its password is remembered."""
    url = store if store is not None else settings_or_exit(config).store.url
    remember_url(url)
    return url


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """:func:`~smpp_engine.store.open_store`, with a failure to open as :class:`StoreOpenError`."""
    from ..store import StoreError, open_store  # noqa: PLC0415 - see the imports

    remember_url(url)
    async with AsyncExitStack() as stack:
        try:
            store = await stack.enter_async_context(open_store(url))
        except (StoreError, BaseExceptionGroup) as exc:
            error = single_error(exc)
            if not isinstance(error, StoreError):
                raise
            raise StoreOpenError(url, error) from None
        yield store
