"""What every benchmark records: the machine, the parameters, the figures, as JSON.

Each benchmark prints a table, writes ``benchmarks/results/<name>-<UTC time>.json``
and ends its output with one line holding the figures as a JSON object.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("smpp-engine", *packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def write(
    name: str,
    params: dict[str, Any],
    figures: dict[str, Any],
    raw: dict[str, Any],
    packages: tuple[str, ...] = (),
) -> Path:
    """Write the JSON record and print the closing line of figures."""
    now = datetime.now(UTC)
    record = {
        "benchmark": name,
        "time": now.isoformat(timespec="seconds"),
        "machine": machine(packages),
        "params": params,
        "figures": figures,
        "runs": raw,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {path.relative_to(RESULTS.parent.parent)}")
    print(json.dumps({"benchmark": name, **figures}))
    return path
