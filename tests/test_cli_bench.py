"""``smpp-engine bench``: the benchmarks run in their own processes and their figures are shown."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from smpp_engine.cli.bench import BENCHMARKS, summary_table

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
        # The summary's row, not the benchmark's own closing line of figures.
        summary = [line for line in done.stdout.splitlines() if line.startswith("│")]
        [row] = [line for line in summary if "ratio_to_smpplib" in line]
        assert str(figures["ratio_to_smpplib"]) in row
        assert f"≥ {figures['target_ratio']}" in row
        assert "met" in row  # met or not met: the machine decides, the row says which
    finally:
        for path in set(RESULTS.glob("b1_codec-*.json")) - before:
            path.unlink()  # a test's run is no measurement to keep


def _shown(records: dict[str, dict[str, object] | str]) -> dict[tuple[str, str], list[str]]:
    """The summary's rows as {(benchmark, figure): [value, target, verdict]}."""
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(summary_table(records))
    rows = {}
    for line in out.getvalue().splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 5:
            rows[cells[0], cells[1]] = cells[2:]
    return rows


def test_bench_shows_each_figure_with_the_target_its_record_carries(tmp_path: Path) -> None:
    record = tmp_path / "b5_billing-20270101T000000Z.json"
    record.write_text(
        json.dumps(
            {
                "benchmark": "b5_billing",
                "figures": {
                    "store": "sqlite",
                    "p50_ms": 0.8,
                    "p99_ms": 7.5,
                    "lost": 0,
                    "target_p99_ms": 5,
                    "target_p50_ms": 1,
                },
            }
        )
    )
    b8 = {"benchmark": "b8_memory", "figures": {"target_mib": 300, "sqlite_peak_rss_mib": 130}}
    rows = _shown({"b5": json.loads(record.read_text()), "b8": b8, "b6": "failed (exit status 1)"})
    assert rows["b5", "p50_ms"] == ["0.8", "≤ 1", "met"]
    assert rows["b5", "p99_ms"] == ["7.5", "≤ 5", "not met"]
    assert rows["b5", "lost"] == ["0", "", "no target"]
    assert rows["b5", "store"] == ["sqlite", "", "no target"]
    assert rows["b8", "sqlite_peak_rss_mib"] == ["130", "≤ 300", "met"]
    assert rows["b6", ""] == ["", "", "failed (exit status 1)"]
    # A target is shown beside the figure it judges, not as a figure of its own.
    assert not [key for key in rows if key[1].startswith("target_")]


def test_b9_is_judged_against_jasmin_only_when_its_record_measured_jasmin() -> None:
    figures = {"share_of_b4": 0.6, "target_share_of_b4": 0.5}
    with_jasmin = {**figures, "ratio_to_jasmin": 0.8, "target_ratio_to_jasmin": 1.0}
    without = {**figures, "jasmin": "not installed"}
    rows = _shown(
        {
            "b9": {"benchmark": "b9_server_face", "figures": with_jasmin},
            "b9 alone": {"benchmark": "b9_server_face", "figures": without},
        }
    )
    assert rows["b9", "ratio_to_jasmin"] == ["0.8", "≥ 1", "not met"]
    assert rows["b9", "share_of_b4"] == ["0.6", "≥ 0.5", "met"]
    assert rows["b9 alone", "jasmin"] == ["not installed", "", "no target"]
    assert ("b9 alone", "ratio_to_jasmin") not in rows


def test_b6_is_judged_against_kannel_one_per_request_and_batched() -> None:
    figures = {
        "ratio_to_kannel": 0.38,
        "target_ratio_to_kannel": 1.5,
        "batch_ratio_to_kannel": 16.2,
        "target_batch_ratio_to_kannel": 15,
        "floor_h11_ratio_to_kannel": 1.84,
    }
    rows = _shown({"b6": {"benchmark": "b6_kannel", "figures": figures}})
    assert rows["b6", "ratio_to_kannel"] == ["0.38", "≥ 1.5", "not met"]
    assert rows["b6", "batch_ratio_to_kannel"] == ["16.2", "≥ 15", "met"]
    # A floor is a bound on any front door built so, not the engine: no target.
    assert rows["b6", "floor_h11_ratio_to_kannel"] == ["1.84", "", "no target"]


def test_a_figure_of_an_unknown_benchmark_has_no_target() -> None:
    rows = _shown({"b99": {"benchmark": "b99_new", "figures": {"per_s": 10, "target": 5}}})
    assert rows["b99", "per_s"] == ["10", "", "no target"]


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


def test_b5_tells_queueing_by_round_trips_that_grow_through_the_run() -> None:
    from benchmarks.b5_billing import by_fifth  # noqa: PLC0415 - the benchmark, not the engine

    assert by_fifth([10.0] * 50) == [10.0] * 5
    growing = by_fifth([float(n) for n in range(50)])
    assert growing == [4.5, 14.5, 24.5, 34.5, 44.5]
    assert by_fifth([1.0] * 4) == []
    figures = {"growth_ms": growing[-1] - growing[0], "target_growth_ms": 10}
    rows = _shown({"b5": {"benchmark": "b5_billing", "figures": figures}})
    assert rows["b5", "growth_ms"] == ["40.0", "≤ 10", "not met"]
