"""How ``--help`` reads: help strings are plain text, and a flag shows no value type.

Typer renders help through Rich, which takes ``[store]`` or ``[[smsc]]`` (the
settings' TOML tables, named all through the help) for markup and drops them;
so every help string of the command tree is escaped once, where the tree is
built, and a help string written later needs no care. Typer also labels every
boolean option ``<bool>``, which reads as if the flag took a value; a flag's
label is left empty (``--help`` included).
"""

from __future__ import annotations

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["plain_help"]


def plain_help(command: TyperCommand | TyperGroup) -> None:
    """Make the help of ``command`` and every command under it read as written."""
    if command.help:
        command.help = escape(command.help)
    if command.short_help:
        command.short_help = escape(command.short_help)
    if command.epilog:
        command.epilog = escape(command.epilog)
    for param in command.params:
        _plain_param(param)
    # The help option is made on first use, from a context; making it here lets it be plain too.
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        _plain_param(help_option)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, TyperCommand | TyperGroup):
                plain_help(sub)


def _plain_param(param: object) -> None:
    if isinstance(param, TyperOption | TyperArgument) and param.help:
        param.help = escape(param.help)
    if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
        param.metavar = ""  # shown instead of "<bool>"
