"""Start the engine's processes for a benchmark: each in its own OS process.

This machine has two cores; client and simulator must not share one interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "config" / "scenarios"


@contextmanager
def simulator(scenario: str | Path | None = None, *, port: int = 0) -> Iterator[int]:
    """Run ``smpp-engine sim`` on loopback; yield its SMPP port; stop it afterwards."""
    with simulator_with_control(scenario, port=port, control=False) as (smpp_port, _):
        yield smpp_port


@contextmanager
def simulator_with_control(
    scenario: str | Path | None = None, *, port: int = 0, control: bool = True
) -> Iterator[tuple[int, int | None]]:
    """Like :func:`simulator`, with its HTTP control API on a free port when ``control``.

    Yields (SMPP port, control port or None).
    """
    command = [
        sys.executable,
        "-m",
        "smpp_engine",
        "sim",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if control:
        command += ["--control-port", "0"]
    if scenario is not None:
        path = Path(scenario)
        if not path.exists():
            path = SCENARIOS / f"{scenario}.toml"
        command += ["--scenario", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator exited with {process.wait()} before listening")
        listening = json.loads(line)
        yield int(listening["port"]), listening.get("control_port")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
