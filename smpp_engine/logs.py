"""Log set-up for the command line: structlog to stderr, console in a terminal, JSON otherwise.

stdout stays for the commands' results (JSON lines a script or CI reads).
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

LEVEL_VARIABLE = "SMPP_ENGINE_LOG_LEVEL"


def configure(level: str | None = None) -> None:
    """Configure structlog once per process; ``level`` overrides $SMPP_ENGINE_LOG_LEVEL."""
    name = (level or os.environ.get(LEVEL_VARIABLE) or "info").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        raise ValueError(f"{LEVEL_VARIABLE}: unknown log level {name!r}")
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
