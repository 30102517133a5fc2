"""How a command fails: one line on stderr, every secret masked, an exit status that says why.

Exit status 2 (:data:`EXIT_BAD_INPUT`) is an ordinary mistake the operator can
fix: an option, a missing or unreadable file, invalid settings, a port in use,
a store that cannot be opened. 1 (:data:`EXIT_FAILED`) is the work itself
failing. Commands raise :class:`CommandError` (:func:`fail`); the root group,
:class:`ReportingGroup`, prints it and the ordinary errors that escaped a
command (a missing file, invalid settings) as one ``error: ...`` line, with
URL credentials and every remembered secret masked (:mod:`smpp_engine.redaction`).
Anything else is a bug: its traceback is printed, masked the same way, exit
status 1.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence
from functools import partial
from typing import Any

import typer

# typer carries its own copy of click: its usage errors are these, not click's.
from typer._click import exceptions as usage
from typer.core import TyperGroup

from ..redaction import mask_text

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "LISTEN_ERRNOS",
    "CommandError",
    "ReportingGroup",
    "fail",
    "say_error",
    "single_error",
]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

#: Errors of listening on an address: in use, not allowed, not an address of this machine.
LISTEN_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


class CommandError(Exception):
    """A command cannot go on; ``message`` says why in one line (``error: `` is added)."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def fail(message: str, exit_code: int = EXIT_BAD_INPUT) -> CommandError:
    """The error to raise: ``raise fail(f"--csv {path}: cannot be read")``."""
    return CommandError(message, exit_code)


def say_error(message: str, *, lines: bool = False) -> None:
    """``error: message`` on stderr, masked; one line unless ``lines`` (a list of problems)."""
    text = mask_text(message)
    if not lines:
        text = "; ".join(part.strip() for part in text.splitlines() if part.strip())
    typer.echo(f"error: {text}", err=True)


class ReportingGroup(TyperGroup):
    """The root command group: every failure leaves as :func:`say_error` says it."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; a usage mistake (an unknown option, a value that is
        not a number) is one line and exit 2, like every other mistake, not a box."""
        run = partial(
            super().main,
            args,
            prog_name,
            complete_var,
            standalone_mode=False,
            windows_expand_args=windows_expand_args,
            **extra,
        )
        if not standalone_mode:  # a caller that handles click's exceptions itself
            return run()
        try:
            result = run()
        except usage.NoArgsIsHelpError as exc:
            exc.show()  # the help itself, as asked for by giving nothing
            sys.exit(exc.exit_code)
        except usage.UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            say_error(exc.format_message() + hint)
            sys.exit(EXIT_BAD_INPUT)
        except usage.ClickException as exc:
            say_error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            say_error("aborted")
            sys.exit(EXIT_FAILED)
        # An explicit exit's status, or what the command returned (None: success).
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own: usage errors, explicit exits
        except Exception as exc:  # the one place every failure is reported
            raise typer.Exit(_report(exc)) from None


def _report(exc: BaseException) -> int:
    """Print ``exc`` as the operator should see it; the exit status."""
    error = single_error(exc)
    if isinstance(error, BrokenPipeError):
        # The reader left (``| head``): nothing to say, and nowhere to say it. Later
        # writes and the flush at exit go nowhere instead of failing again.
        _drop_standard_output()
        return EXIT_FAILED
    if isinstance(error, CommandError):
        say_error(error.message)
        return error.exit_code
    # Imported here: the root group is loaded by every command, these by few of them.
    from ..logs import LogSettingError  # noqa: PLC0415
    from ..settings import SettingsError  # noqa: PLC0415
    from ..store import StoreError  # noqa: PLC0415

    if isinstance(error, SettingsError):
        say_error(str(error), lines=True)
        return EXIT_BAD_INPUT
    if isinstance(error, LogSettingError):
        say_error(str(error))
        return EXIT_BAD_INPUT
    if isinstance(error, OSError) and error.filename is not None:
        say_error(f"{error.filename}: {error.strerror or error}")
        return EXIT_BAD_INPUT
    if isinstance(error, OSError) and error.errno in LISTEN_ERRNOS:
        # A command that listens names the setting (cli.ports); this is the last resort.
        from ..asgi_serving import ListenError  # noqa: PLC0415 - the web stack loads with it

        named = isinstance(error, ListenError) or error.strerror is None
        say_error(str(error) if named else f"cannot listen: {error.strerror}")
        return EXIT_BAD_INPUT
    if isinstance(error, StoreError):
        say_error(str(error))
        return EXIT_FAILED
    text = "".join(traceback.format_exception(exc))
    typer.echo(mask_text(text).rstrip("\n"), err=True)
    return EXIT_FAILED


def _drop_standard_output() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def single_error(exc: BaseException) -> BaseException:
    """The one error inside nested exception groups (trio nurseries wrap), else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
