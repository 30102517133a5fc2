"""``smpp-engine bench``: the benchmarks run in their own processes and their figures are shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from smpp_engine.cli.bench import BENCHMARKS

from .test_cli import run

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def test_bench_lists_every_benchmark_module_that_exists() -> None:
    done = run("bench", "--list")
    assert done.returncode == 0, done.stderr
    for name, benchmark in BENCHMARKS.items():
        assert name in done.stdout
        assert (RESULTS.parent / f"{benchmark.module}.py").is_file(), benchmark.module


def test_bench_refuses_an_unknown_name() -> None:
    done = run("bench", "b99")
    assert done.returncode == 2
    assert "unknown benchmark 'b99'" in done.stderr


def test_bench_runs_one_quick_benchmark_and_shows_its_figures() -> None:
    before = set(RESULTS.glob("b1_codec-*.json"))
    done = run("bench", "b1", "--quick")
    try:
        assert done.returncode == 0, done.stderr
        [written] = set(RESULTS.glob("b1_codec-*.json")) - before
        figures = json.loads(written.read_text())["figures"]
        assert f"engine_ops_per_s={figures['engine_ops_per_s']}" in done.stdout.replace("\n", "")
    finally:
        for path in set(RESULTS.glob("b1_codec-*.json")) - before:
            path.unlink()  # a test's run is no measurement to keep


def test_b5_refuses_more_readings_than_consumers() -> None:
    # A second reading from one phone is a duplicate: its round trip would be miscounted.
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.b5_billing", "--accounts", "20", "--messages", "30"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=RESULTS.parent.parent,
    )
    assert done.returncode == 2
    assert "--messages 30 is more than --accounts 20" in done.stderr
    assert "Traceback" not in done.stderr
