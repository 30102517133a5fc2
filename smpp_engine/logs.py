"""Log set-up for the command line: structlog to stderr, console in a terminal, JSON otherwise.

stdout stays for the commands' results (JSON lines a script or CI reads).
Secrets never reach the output: :func:`redact_secrets` replaces the value of
every key named like a password, secret, API key, authorization or token, in
nested dicts and lists too, before rendering.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

__all__ = ["FORMATS", "LEVEL_VARIABLE", "REDACTED", "configure", "redact_secrets"]

LEVEL_VARIABLE = "SMPP_ENGINE_LOG_LEVEL"
#: ``auto``: console in a terminal, JSON otherwise (a file, a pipe, a log collector).
FORMATS = ("auto", "json", "console")
REDACTED = "***"

_SECRET_KEY = re.compile(r"pass(?:word|wd)|secret|api[_-]?key|authorization|token", re.IGNORECASE)


def configure(level: str | None = None, format: str = "auto") -> None:
    """Configure structlog once per process.

    ``level`` overrides $SMPP_ENGINE_LOG_LEVEL (default info); ``format`` is one
    of :data:`FORMATS`.
    """
    name = (level or os.environ.get(LEVEL_VARIABLE) or "info").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        raise ValueError(f"{LEVEL_VARIABLE}: unknown log level {name!r}")
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {format!r}")
    console = format == "console" or (format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_secrets,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: the values of secret-named keys become :data:`REDACTED`."""
    redacted: EventDict = _redact_mapping(event_dict)
    return redacted


def _is_secret(key: object) -> bool:
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def _redact_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    return {
        key: REDACTED if _is_secret(key) else _redact_value(value) for key, value in mapping.items()
    }


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _redact_mapping(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(item) for item in value)
    return value
