"""Every command's ``--help`` reads as written: the settings' table names survive, no reST
backticks, flags shown as plain flags; ``--version`` answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.metadata import version

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from smpp_engine.cli import app

#: Wide enough that no help line wraps inside a name.
WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}
#: A TOML table as the help names it: [store], [[smsc]], [http] api_keys...
TABLE = re.compile(r"\[\[?[a-z_.]+\]\]?")


def _commands() -> Iterator[tuple[tuple[str, ...], typer.core.TyperCommand | TyperGroup]]:
    root = typer.main.get_command(app)
    pending: list[tuple[tuple[str, ...], typer.core.TyperCommand | TyperGroup]] = [((), root)]
    while pending:
        path, command = pending.pop()
        yield path, command
        if isinstance(command, TyperGroup):
            # Asked by name: the root imports a command's module when asked for it.
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert isinstance(sub, typer.core.TyperCommand | TyperGroup), name
                pending.append(((*path, name), sub))


def _written_help(command: typer.core.TyperCommand | TyperGroup) -> str:
    """Every help string of the command as written in the source (escapes undone)."""
    texts = [command.help or ""]
    texts += [p.help or "" for p in command.params if isinstance(p, TyperOption | TyperArgument)]
    return "\n".join(texts).replace("\\[", "[")


COMMANDS = sorted(path for path, _ in _commands())


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "(root)")
def test_help_shows_every_table_name_no_backticks_and_plain_flags(path: tuple[str, ...]) -> None:
    command = dict(_commands())[path]
    shown = CliRunner().invoke(app, [*path, "--help"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    for name in TABLE.findall(_written_help(command)):
        assert name in shown.output, f"{name} is missing from {' '.join(path)} --help"
    assert "``" not in shown.output
    assert "<bool>" not in shown.output
    flags = [p for p in command.params if isinstance(p, TyperOption) and p.is_flag]
    assert all(not flag.secondary_opts for flag in flags)  # a flag is one option, not a pair


def test_the_help_that_lost_its_tables_names_them_now() -> None:
    shown = CliRunner().invoke(app, ["run", "--help"], env=WIDE)
    assert "one route per [[smsc]]" in shown.output
    shown = CliRunner().invoke(app, ["campaign", "list", "--help"], env=WIDE)
    assert "the settings' [store] url" in shown.output


def test_bench_help_cites_what_the_project_has() -> None:
    shown = CliRunner().invoke(app, ["bench", "--help"], env=WIDE)
    assert "BENCHMARKS.md" not in shown.output
    assert "README" in shown.output


def test_version_is_the_installed_one() -> None:
    shown = CliRunner().invoke(app, ["--version"])
    assert shown.exit_code == 0
    assert shown.output.strip() == f"smpp-engine {version('smpp-engine')}"
