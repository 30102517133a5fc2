"""Log set-up for the command line: structlog to stderr, console in a terminal, JSON otherwise.

stdout stays for the commands' results (JSON lines a script or CI reads).
Libraries that log through the standard library (asyncpg, trio's helpers) come
out the same way: one rendered line each, masked, with their traceback inside
it, never as bare text between the JSON lines.
Secrets never reach the output: :func:`redact_secrets` replaces the value of
every key named like a password, secret, API key, authorization or token, in
nested dicts and lists too, and masks URL credentials and remembered secrets
inside text values, before rendering (:mod:`smpp_engine.redaction` knows how).
"""

from __future__ import annotations

import logging
import os
import sys

import structlog
from structlog.typing import EventDict, WrappedLogger

from .redaction import MASK, redact_mapping

__all__ = [
    "FORMATS",
    "LEVEL_VARIABLE",
    "REDACTED",
    "LogSettingError",
    "configure",
    "redact_secrets",
]

LEVEL_VARIABLE = "SMPP_ENGINE_LOG_LEVEL"
#: ``auto``: console in a terminal, JSON otherwise (a file, a pipe, a log collector).
FORMATS = ("auto", "json", "console")
REDACTED = MASK


class LogSettingError(ValueError):
    """An unknown log level or format; the message names the setting and the value."""


def configure(level: str | None = None, format: str = "auto") -> None:
    """Configure structlog once per process.

    ``level`` overrides $SMPP_ENGINE_LOG_LEVEL (default info); ``format`` is one
    of :data:`FORMATS`.
    """
    name = (level or os.environ.get(LEVEL_VARIABLE) or "info").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        raise LogSettingError(f"{LEVEL_VARIABLE}: unknown log level {name!r}")
    if format not in FORMATS:
        raise LogSettingError(f"format: expected one of {', '.join(FORMATS)}, got {format!r}")
    console = format == "console" or (format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    stamped: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Last before rendering: a formatted traceback is text to mask too.
    rendered: list[structlog.typing.Processor] = [
        structlog.processors.format_exc_info,
        redact_secrets,
        renderer,
    ]
    _route_standard_logging(numeric, stamped, rendered)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *stamped, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes (runners and tests swap it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # always the current sys.stderr


def _route_standard_logging(
    level: int,
    stamped: list[structlog.typing.Processor],
    rendered: list[structlog.typing.Processor],
) -> None:
    """Render the standard library's log records as structlog renders its own."""
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *stamped],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: the values of secret-named keys become :data:`REDACTED`,
    credentials and remembered secrets inside text are masked."""
    redacted: EventDict = redact_mapping(event_dict)
    return redacted
