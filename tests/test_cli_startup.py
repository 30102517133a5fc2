"""``smpp-engine --help`` and the commands that need little load little.

The root imports a command's module only when that command runs
(``smpp_engine.cli.lazy``); these tests fail when a module-level import brings
the engine's heavy parts back into every start. They check what is imported,
never how long it takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from smpp_engine.cli import RootGroup, app

#: Loaded by none of the commands below: the web stack, PostgreSQL, the metrics
#: exporter, the settings' models, the pipeline and the SMPP client.
HEAVY = (
    "asyncpg",
    "smpp_engine.asgi_serving",
    "starlette",
    "prometheus_client",
    "smpp_engine.store.postgres",
    "smpp_engine.settings",
    "smpp_engine.pipeline",
    "smpp_engine.esme",
    "smpp_engine.app",
)
#: Not needed by one consumer SMS against a SQLite store: the reply goes into the
#: store, so neither the pipeline's dispatcher nor the notices runs load.
NOT_FOR_BILLING_SMS = (
    "asyncpg",
    "smpp_engine.asgi_serving",
    "starlette",
    "smpp_engine.store.postgres",
    "smpp_engine.settings",
    "smpp_engine.app",
    "smpp_engine.pipeline.dispatcher",
    "smpp_engine.pipeline.pipeline",
    "smpp_engine.billing.notice_run",
)
#: Not needed to list the commands or show a group's help.
NOT_FOR_HELP = (*HEAVY, "trio", "structlog", "billing_core", "smpp_engine.store")

_LOADED = """
import contextlib, io, json, sys
from smpp_engine.cli import app
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    app(sys.argv[1:], prog_name="smpp-engine")
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_loaded_by(*args: str) -> set[str]:
    """The modules a fresh process has imported after running ``smpp-engine ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(loaded: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(name for name in heavy if name in loaded)


@pytest.mark.parametrize("args", [["--help"], ["billing", "--help"], ["pdu", "--help"]])
def test_help_loads_none_of_the_engine(args: list[str]) -> None:
    assert _heavy(_modules_loaded_by(*args), NOT_FOR_HELP) == []


def test_pdu_decode_loads_the_protocol_alone() -> None:
    loaded = _modules_loaded_by("pdu", "decode", "00000010800000150000000000000007")
    assert "smpp_engine.protocol" in loaded
    assert _heavy(loaded, NOT_FOR_HELP) == []


def test_the_root_lists_every_command_by_the_first_line_of_its_own_help() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, RootGroup)
    ctx = typer.Context(root)
    for entry in RootGroup.lazy_commands:
        command = entry.load()
        assert isinstance(command, TyperCommand | TyperGroup)
        written = command.short_help or command.help or ""
        assert written.split("\n\n")[0].strip() == escape(entry.summary), entry.name
    assert root.list_commands(ctx)[: len(RootGroup.lazy_commands)] == [
        entry.name for entry in RootGroup.lazy_commands
    ]


def test_billing_sms_on_sqlite_loads_neither_postgresql_nor_the_web_stack(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'billing.db'}"
    example = Path(__file__).resolve().parent.parent / "config" / "billing-example.json"
    imported = subprocess.run(
        [sys.executable, "-m", "smpp_engine", "billing", "import", str(example), "--store", store],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    loaded = _modules_loaded_by(
        *("billing", "sms", "--store", store, "--from", "+79161234567", "--text", "12150 5080"),
        *("--now", "2024-03-20T09:00:00+00:00"),
    )
    assert "smpp_engine.billing.service" in loaded  # it did run
    assert _heavy(loaded, NOT_FOR_BILLING_SMS) == []
