"""``smpp-engine bench``: run the load benchmarks of ``benchmarks/`` and show their figures.

Each benchmark is its own process (``python -m benchmarks.NAME``), as when run
by hand, so one's memory and threads never colour the next. The figures are
read back from the JSON record each one writes to ``benchmarks/results/`` and
shown each with its target and a verdict (:mod:`.bench_verdicts`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .bench_verdicts import Verdict, judge

__all__ = ["BENCHMARKS", "bench", "summary_table"]


@dataclass(frozen=True, slots=True)
class Benchmark:
    module: str
    what: str
    quick: tuple[str, ...]


#: The benchmarks of the README's Benchmarks section; ``quick`` arguments finish in about a
#: minute each.
BENCHMARKS: dict[str, Benchmark] = {
    "b1": Benchmark("b1_codec", "PDU encode+decode, against smpplib", ("--ops", "20000")),
    "b2": Benchmark(
        "b2_wire",
        "submit_sm/s over TCP by window, against smpplib and aiosmpplib",
        ("--messages", "20000", "--rounds", "1", "--peer-messages", "2000"),
    ),
    "b3": Benchmark(
        "b3_receipts",
        "submits with their receipts matched",
        ("--messages", "20000", "--rounds", "1"),
    ),
    "b4": Benchmark("b4_durable", "queued to DELIVRD through the store", ("--messages", "10000")),
    "b4-store": Benchmark(
        "b4_store",
        "the store alone: accept, claim, record",
        ("--messages", "20000", "--rounds", "1"),
    ),
    "b5": Benchmark(
        "b5_billing",
        "SMS self-service round trip (needs PostgreSQL by default)",
        ("--accounts", "2000", "--messages", "1000", "--rate", "200", "--store", "sqlite"),
    ),
    "b6": Benchmark(
        "b6_kannel",
        "HTTP in, submit_sm out: against Kannel (needs Debian's kannel)",
        ("--messages", "3000"),
    ),
    "b7": Benchmark(
        "b7_simulator", "the simulator's acks/s", ("--messages", "50000", "--rounds", "1")
    ),
    "b8": Benchmark(
        "b8_memory", "RSS with many messages queued", ("--messages", "100000", "--run-seconds", "5")
    ),
    "b9": Benchmark(
        "b9_server_face",
        "a raw ESME through the SMPP server face to the simulator, with receipts",
        ("--messages", "10000"),
    ),
    "b10": Benchmark(
        "b10_callbacks",
        "delivery callbacks/s with 10 % of receivers failing, and a receiver outage",
        ("--events", "2000", "--outage", "10", "--rate", "50", "--max-delay", "4"),
    ),
    "b11": Benchmark(
        "b11_shared_rate",
        "one account's rate held by 1-3 processes on PostgreSQL, and after a kill",
        ("--window", "4", "--processes", "1,2"),
    ),
}


def _project_root() -> Path | None:
    """The checkout holding ``benchmarks/`` (they are not part of the installed package)."""
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "benchmarks" / "report.py").is_file() else None


def _latest_record(root: Path, module: str) -> dict[str, Any] | None:
    records = sorted((root / "benchmarks" / "results").glob(f"{module}-*.json"))
    if not records:
        return None
    loaded: dict[str, Any] = json.loads(records[-1].read_text())
    return loaded


_VERDICT_STYLE = {Verdict.MET: "green", Verdict.NOT_MET: "red", Verdict.NO_TARGET: "dim"}


def summary_table(records: dict[str, dict[str, Any] | str]) -> Table:
    """One row per figure of each benchmark's record, with its target and verdict; a
    benchmark whose record is a string failed, and the string says how."""
    table = Table("benchmark", "figure", "value", "target", "verdict", title="Benchmark figures")
    for name, record in records.items():
        if isinstance(record, str):
            table.add_row(name, "", "", "", f"[red]{record}[/red]")
            continue
        for judged in judge(record):
            style = _VERDICT_STYLE[judged.verdict]
            table.add_row(
                name,
                judged.figure,
                str(judged.value),
                judged.target,
                f"[{style}]{judged.verdict.value}[/{style}]",
            )
    return table


def bench(
    names: Annotated[
        list[str] | None,
        typer.Argument(help=f"Benchmarks to run: {', '.join(BENCHMARKS)}; all when none."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: about a minute each.")
    ] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the benchmarks.")] = False,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Run nothing; judge the latest record of each benchmark."),
    ] = False,
) -> None:
    """Run benchmarks (each in its own process) and print a table of their figures.

    Full sizes are those of the README's Benchmarks section (python -m
    benchmarks.NAME) and take minutes each; --quick is for a first look.
    Results are kept in benchmarks/results/ with the machine's description.
    Each figure is shown with the target its record carries and a verdict: met,
    not met, or no target. Exit status 1 when one failed.
    """
    console = Console()
    if list_only:
        table = Table("name", "module", "measures", "--quick arguments")
        for name, b in BENCHMARKS.items():
            table.add_row(name, b.module, b.what, " ".join(b.quick))
        console.print(table)
        return
    chosen = names or list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        typer.echo(
            f"error: unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}", err=True
        )
        raise typer.Exit(2)
    root = _project_root()
    if root is None:
        typer.echo("error: the benchmarks live in the source checkout; run from it", err=True)
        raise typer.Exit(2)
    records: dict[str, dict[str, Any] | str] = {}
    for name in chosen:
        benchmark = BENCHMARKS[name]
        if latest:
            record = _latest_record(root, benchmark.module)
            records[name] = record if record is not None else "no record yet"
            continue
        command = [sys.executable, "-m", f"benchmarks.{benchmark.module}"]
        if quick:
            command += benchmark.quick
        console.rule(f"{name}: {benchmark.what}")
        console.print(" ".join(command[1:]), style="dim")
        before = _latest_record(root, benchmark.module)
        done = subprocess.run(command, cwd=root, check=False)
        after = _latest_record(root, benchmark.module)
        if done.returncode != 0 or after is None or after == before:
            records[name] = f"failed (exit status {done.returncode})"
            continue
        records[name] = after
    console.print(summary_table(records))
    if any(isinstance(record, str) for record in records.values()) and not latest:
        raise typer.Exit(1)
