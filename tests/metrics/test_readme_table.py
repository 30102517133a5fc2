"""The README's metric table is the catalogue's, rendered by metrics.readme_table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from metrics.readme_table import catalogue_metrics, exposed_name, render_table

ROOT = Path(__file__).resolve().parents[2]
START = "<!-- metrics-table:start -->"
END = "<!-- metrics-table:end -->"


def readme_table() -> str:
    readme = (ROOT / "README.md").read_text()
    assert readme.count(START) == 1 and readme.count(END) == 1
    return readme.split(START, 1)[1].split(END, 1)[0].strip()


def test_the_readme_table_is_the_rendered_catalogue() -> None:
    assert readme_table() == render_table(), "run: python -m metrics.readme_table"


def test_the_table_lists_each_metric_once_with_type_labels_and_help() -> None:
    rows = {}
    for line in render_table().splitlines()[2:]:
        name, kind, labels, meaning = (cell.strip() for cell in line.strip("|").split(" | "))
        rows[name.strip("`")] = (kind, re.findall(r"`(\w+)`", labels), meaning)
    expected = {
        exposed_name(m): (m._type, list(m._labelnames), m._documentation)
        for m in catalogue_metrics()
    }
    assert rows == expected
    assert "smpp_pdus_total" in rows and "smpp_queue_messages" in rows


def test_the_module_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "metrics.readme_table"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == render_table()
