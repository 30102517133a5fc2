"""A command group that imports a command's module only when that command runs.

The command modules reach the whole engine (the store, the pipeline, the
settings, the web stack); importing them all for ``smpp-engine --help`` or for
one ``billing sms`` costs more CPU than the work itself. The root therefore
knows each command by a :class:`LazyCommand` entry: its name, where it lives
and the one line its ``--help`` lists. Listing the commands reads the entries;
running one, or asking for its own help, imports its module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from rich.markup import escape
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from .help_text import plain_help

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command known by where it lives: ``attribute`` of ``module`` is a ``typer.Typer``
    (a command group) or a command function. ``summary`` is what the group's help lists
    for it: the first line of its help, kept equal to it by a test."""

    name: str
    module: str
    attribute: str
    summary: str

    def load(self) -> TyperCommand | TyperGroup:
        """Import the module and build the command as ``typer`` would have."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(target, typer.Typer):
            # A lone command function: a Typer with one command builds that command.
            single = typer.Typer()
            single.command(self.name)(target)
            target = single
        command = typer.main.get_command(target)
        assert isinstance(command, TyperCommand | TyperGroup)
        command.name = self.name
        plain_help(command)
        return command


class LazyGroup(TyperGroup):
    """A typer group whose ``lazy_commands`` are imported on first use.

    Commands added the ordinary way (``app.add_typer``, ``app.command``) work
    as before and are listed after the lazy ones.
    """

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = {entry.name: entry for entry in self.lazy_commands}
        # While the help is written, a pending command is listed by its summary alone.
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in self._pending]
        return [entry.name for entry in self.lazy_commands] + eager

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self._pending.get(cmd_name)
        if entry is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(name=entry.name, short_help=escape(entry.summary))
        command = entry.load()
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as exc:
            # typer suggests among the commands loaded so far; a pending one counts too.
            if self.suggest_commands and args and "Did you mean" not in exc.message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(f"{m!r}" for m in matches)
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
