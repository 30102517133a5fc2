"""B9 SMPP server face: a raw ESME bound to the gateway, window 256, to the simulator upstream,
with a receipt per message.

Three processes: the simulator (healthy: every submit accepted, DELIVRD at once),
the gateway (``smpp-engine run`` with ``[smpp_server]`` and a SQLite store) and
this one, whose raw client (benchmarks/raw_client.py) keeps 256 submit_sm
outstanding on one transceiver bind and answers every receipt. The clock runs
from the first submit until every submit is answered and every receipt has
come back; the gateway's CPU time (all its threads) is read from /proc. B4
(SQLite, the pipeline from the store) runs against the same simulator in the
same run, for the target: at least half of B4's rate.

When Jasmin 0.11's virtual environment is found (``--jasmin-venv`` or
``JASMIN_VENV``; see benchmarks/peers/jasmin.py), the same client, window and
receipts go to Jasmin's SMPP server (a Jasmin user, a default route to a
connector bound to the same simulator), and the ratio engine/Jasmin is reported.

    python -m benchmarks.b9_server_face [--messages 50000] [--window 256]
        [--jasmin-venv PATH] [--jasmin-messages N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trio

from smpp_engine import logs
from smpp_engine.settings import hash_smpp_password

from .b4_durable import run_store
from .peers.jasmin import INSTALL, find_venv, jasmin, version
from .processes import simulator
from .raw_client import blast
from .report import write

PASSWORD = "bench"


def _settings(folder: Path, sim_port: int, window: int) -> Path:
    path = folder / "b9.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{folder / "b9.db"}"

[log]
level = "warning"
format = "json"

[http]
enabled = false

[simulator]
enabled = false

[[smsc]]
name = "sim"
host = "127.0.0.1"
port = {sim_port}
system_id = "b9"
password = "bench"
window = {window}

[[tenants]]
name = "bench"

[[tenants.smpp]]
system_id = "bench"
password_digest = "{hash_smpp_password(PASSWORD)}"
window = {window}

[smpp_server]
port = 0
deliver_window = {window}
"""
    )
    return path


@contextmanager
def gateway(settings: Path) -> Iterator[tuple[int, int]]:
    """``smpp-engine run``; yields (its pid, its SMPP server port)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smpp_engine", "run", "--config", str(settings)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the gateway exited with {process.wait()} before running")
        yield process.pid, int(json.loads(line)["smpp_server_port"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pid: int, port: int, messages: int, window: int) -> tuple[Any, float]:
    """A warm-up, then ``messages`` with receipts; returns the result and the CPU seconds."""
    blast(
        "127.0.0.1",
        port,
        2_000,
        window,
        system_id="bench",
        password=PASSWORD,
        registered_delivery=1,
        wait_receipts=True,
        timeout=600,
    )
    before = cpu_seconds(pid)
    result = blast(
        "127.0.0.1",
        port,
        messages,
        window,
        system_id="bench",
        password=PASSWORD,
        registered_delivery=1,
        wait_receipts=True,
        timeout=600,
    )
    assert result.acked == messages, result
    assert result.receipts >= result.acked, result
    return result, cpu_seconds(pid) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument(
        "--jasmin-venv",
        help="virtual environment holding Jasmin 0.11 (default: $JASMIN_VENV)",
    )
    parser.add_argument(
        "--jasmin-messages", type=int, help="messages sent to Jasmin (default: --messages)"
    )
    args = parser.parse_args()
    venv = find_venv(args.jasmin_venv)
    if venv is None:
        print(f"Jasmin not installed: {INSTALL}")
    logs.configure("warning")
    peer: dict[str, Any] | None = None
    with simulator("healthy") as sim_port, tempfile.TemporaryDirectory() as folder:
        with gateway(_settings(Path(folder), sim_port, args.window)) as (pid, port):
            result, cpu = measure(pid, port, args.messages, args.window)
        b4: dict[str, Any] = trio.run(run_store, "sqlite", sim_port, args.messages, args.window)
        if venv is not None:
            count = args.jasmin_messages or args.messages
            with jasmin(venv, sim_port, "b9", "bench") as running:
                jasmin_result, jasmin_cpu = measure(
                    running.pid, running.smpp_port, count, args.window
                )
            peer = {
                "messages": count,
                "messages_per_s": round(count / jasmin_result.elapsed_s),
                "cpu_us_per_msg": round(1e6 * jasmin_cpu / count, 1),
                "client": vars(jasmin_result),
            }
    per_s = args.messages / result.elapsed_s
    figures = {
        "messages_per_s": round(per_s),
        "gateway_cpu_us_per_msg": round(1e6 * cpu / args.messages, 1),
        "b4_sqlite_delivered_per_s": b4["delivered_per_s"],
        "share_of_b4": round(per_s / b4["delivered_per_s"], 2),
        "target_share_of_b4": 0.5,
        "window": args.window,
    }
    if peer is not None:
        figures["jasmin_messages_per_s"] = peer["messages_per_s"]
        figures["jasmin_cpu_us_per_msg"] = peer["cpu_us_per_msg"]
        figures["ratio_to_jasmin"] = round(per_s / max(1, peer["messages_per_s"]), 2)
        figures["target_ratio_to_jasmin"] = 1.0  # ahead of Jasmin's SMPP server
    else:
        figures["jasmin"] = "not installed"
    print(
        f"server face: {per_s:,.0f} messages/s submitted and receipted end to end, "
        f"{figures['gateway_cpu_us_per_msg']} us gateway CPU per message; "
        f"B4 SQLite {b4['delivered_per_s']:,}/s; share {figures['share_of_b4']}"
    )
    if peer is not None:
        print(
            f"Jasmin's SMPP server: {peer['messages_per_s']:,}/s, "
            f"{peer['cpu_us_per_msg']} us CPU per message; "
            f"engine/Jasmin {figures['ratio_to_jasmin']}"
        )
    raw = {"client": vars(result), "b4": b4, "jasmin": peer}
    parameters = {
        **vars(args),
        "jasmin_venv": str(venv) if venv else None,
        "jasmin_version": version(venv) if venv else None,
    }
    write("b9_server_face", parameters, figures, raw)


if __name__ == "__main__":
    main()
