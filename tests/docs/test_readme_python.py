"""The README's Python blocks run as shown, against the simulator where they connect.

The one change made: the ESME example's SMSC port (2775) becomes the port the
simulator got. A Python block added to the README without a check here fails
the test, as the shell blocks do in :mod:`.test_readme_examples`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .blocks import Block, blocks_in

ROOT = Path(__file__).resolve().parents[2]


def python_blocks() -> dict[str, Block]:
    return {
        block.key: block
        for block in blocks_in(ROOT / "README.md", ROOT)
        if block.language == "python"
    }


@pytest.fixture(scope="module")
def simulator_port() -> Iterator[int]:
    """The built-in simulator on a free port (its default scenario binds any account)."""
    with subprocess.Popen(
        [sys.executable, "-m", "smpp_engine", "sim", "--port", "0", "--control-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as sim:
        assert sim.stdout is not None
        first = json.loads(sim.stdout.readline())
        try:
            yield int(first["port"])
        finally:
            sim.terminate()
            sim.wait(timeout=30)


def run_block(text: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", text],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def protocol_core(block: Block, _port: int) -> None:
    # One submit_sm encoded, fed back, read as one PDU.
    assert run_block(block.text) == "submit_sm 1\n"


def esme_client(block: Block, port: int) -> None:
    assert "port=2775" in block.text
    out = run_block(block.text.replace("port=2775", f"port={port}"))
    # The bind logs its binding and unbinding around the line the example prints.
    (printed,) = [line for line in out.splitlines() if line.startswith("Outcome.")]
    outcome, message_id = printed.split()
    assert outcome == "Outcome.ACCEPTED" and message_id


#: Each Python block of the README by its first line, and what it must do.
CHECKS: dict[str, Callable[[Block, int], None]] = {
    "README.md: from smpp_engine.protocol import PduStream, SubmitSm, Tag, encode_pdu": (
        protocol_core
    ),
    "README.md: import trio": esme_client,
}


def test_every_python_block_has_a_check() -> None:
    assert sorted(python_blocks()) == sorted(CHECKS)


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_a_python_block_runs_as_shown(key: str, simulator_port: int) -> None:
    CHECKS[key](python_blocks()[key], simulator_port)
