"""B6 against Kannel: HTTP in, submit_sm out, through the same simulator, same window.

Both gateways take ``--messages`` SMS on their HTTP front door with
``--concurrency`` requests in flight: Kannel through smsbox's ``sendsms``
(bearerbox keeps its file store), this engine through ``POST /v1/messages``
(each answered once durable in its SQLite store). One SMPP bind each, window
``--window``, no delivery receipts asked. Measured: HTTP requests answered per
second, and submit_sm accepted per second at the simulator from the first
request to the last message accepted. The simulator runs in its own process;
each gateway runs alone. The requests come from a lean keep-alive client
(benchmarks/http_load.py), one connection per request in flight: httpx, used
before, spent about 2 ms of CPU per request and was the ceiling for every peer.

Each gateway's CPU (user and system, every process and thread of it, from
/proc) is given per message, from the first request until the last message is
at the SMSC.

Then the engine again with ``POST /v1/messages/batch`` (``--batch`` messages per
request, an eighth of the requests in flight), which Kannel's sendsms has no
equivalent of.

Then the floors (benchmarks/peers/http_floor.py, skipped with ``--no-floors``):
HTTP servers that answer the engine's request 202 and store and send nothing, each
one layer more than the one before (bare sockets, h11, the engine's HTTP server,
Starlette), each in its own process. A floor's rate is the most a front door built
that way could reach here; the steps between their CPU per request say what each
layer costs.

Jasmin 0.11 is the second peer when its virtual environment is found
(``--jasmin-venv`` or ``JASMIN_VENV``; see benchmarks/peers/jasmin.py): its
HTTP API ``/send``, one message per request, through the same simulator. Its
SMPP client connector has no window setting (it takes one message at a time
from RabbitMQ); it runs as Jasmin ships it, with its default one-submit-a-second
throttle lifted.

    python -m benchmarks.b6_kannel [--messages 20000] [--concurrency 64] [--window 256]
        [--batch 100] [--no-floors] [--jasmin-venv PATH]

Needs Debian's ``kannel`` package (bearerbox, smsbox).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import trio

from smpp_engine.settings import hash_api_key

from .http_load import HttpConnection
from .peers.http_floor import FLOORS
from .peers.jasmin import INSTALL, find_venv, jasmin, version
from .processes import simulator_with_control
from .report import write

KEY = "b6-bench-key"
SYSTEM_ID, PASSWORD = "b6", "bench"
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
TEXT = "Your bill of 42.50 EUR is due on 15 December. Pay at demopower.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kannel_conf(folder: Path, smsc_port: int, window: int) -> tuple[Path, int]:
    """A bearerbox + smsbox configuration; returns it and the sendsms port."""
    admin, box, sendsms = free_port(), free_port(), free_port()
    conf = folder / "kannel.conf"
    conf.write_text(
        f"""group = core
admin-port = {admin}
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = {box}
log-level = 2
log-file = "{folder}/bearerbox.log"
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
store-type = file
store-location = "{folder}/kannel.store"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = "{SYSTEM_ID}"
smsc-password = "{PASSWORD}"
system-type = ""
max-pending-submits = {window}
enquire-link-interval = 30

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-level = 2
log-file = "{folder}/smsbox.log"

group = sendsms-user
username = bench
password = bench
max-messages = 10
"""
    )
    return conf, sendsms


def engine_conf(folder: Path, smsc_port: int, window: int) -> Path:
    conf = folder / "engine.toml"
    conf.write_text(
        f"""[store]
url = "sqlite:///{folder}/engine.db"

[log]
format = "json"
level = "warning"

[http]
port = 0
api_keys = [{{ name = "bench", sha256 = "{hash_api_key(KEY)}" }}]

[simulator]
enabled = false

[[smsc]]
name = "sim"
host = "127.0.0.1"
port = {smsc_port}
system_id = "{SYSTEM_ID}"
password = "{PASSWORD}"
window = {window}
"""
    )
    return conf


@contextmanager
def processes(*commands: list[str]) -> Iterator[list[subprocess.Popen[str]]]:
    started = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for c in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def message(n: int) -> dict[str, Any]:
    """The engine's request body for message ``n``."""
    return {"to": f"4477009{n:05d}", "from": "ACME", "text": TEXT, "registered_delivery": False}


async def post_message(connection: HttpConnection, n: int) -> int:
    """``POST /v1/messages`` for message ``n``; its status."""
    data = json.dumps(message(n)).encode()
    return await connection.request("POST", "/v1/messages", data, "application/json")


async def accepted(control: httpx.AsyncClient) -> int:
    count: int = (await control.get("/stats")).json()["messages"]["accepted"]
    return count


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    with trio.move_on_after(timeout):
        while not await check():
            await trio.sleep(0.1)
        return
    raise RuntimeError(f"timed out waiting for {what}")


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time (user and system, every thread) the processes ``pids`` have used."""
    ticks = 0
    for pid in pids:
        # The command name (field 2) may hold spaces: count fields after its ')'.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _TICKS_PER_SECOND


async def blast(
    control: httpx.AsyncClient,
    messages: int,
    concurrency: int,
    send: Callable[[HttpConnection, int], Awaitable[int]],
    connect: Callable[[], HttpConnection],
    per_request: int = 1,
    *,
    server: Sequence[int] = (),
    to_smsc: bool = True,
) -> dict[str, Any]:
    """Send ``messages`` in requests of ``per_request``, ``concurrency`` requests at a
    time, each worker on its own keep-alive connection (``connect()``);
    ``send(connection, first)`` sends the request starting at message ``first`` and
    returns its status. The CPU the ``server`` processes spend from the first request
    until the last message is at the SMSC (``to_smsc``) or the last answer is in is
    given per message."""
    before = await accepted(control) if to_smsc else 0
    refused = 0
    queue = iter(range(0, messages, per_request))
    cpu = cpu_seconds(server)
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal refused
        connection = connect()
        try:
            for first in queue:
                if await send(connection, first) >= 300:
                    refused += min(per_request, messages - first)
        finally:
            await connection.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    http_done = time.perf_counter() - started
    figures: dict[str, Any] = {"http_per_s": round(messages / http_done), "refused": refused}
    if to_smsc:

        async def all_in() -> bool:
            return await accepted(control) - before >= messages - refused

        await wait_until(all_in, 120 + messages / 100, "the SMSC to accept every message")
        smsc_done = time.perf_counter() - started
        figures["smsc_per_s"] = round((messages - refused) / smsc_done)
        figures["seconds"] = round(smsc_done, 2)
    else:
        figures["seconds"] = round(http_done, 2)
    if server:
        figures["server_cpu_us_per_msg"] = round((cpu_seconds(server) - cpu) / messages * 1e6, 1)
    return figures


async def run_kannel(control: httpx.AsyncClient, smsc_port: int, args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="b6-kannel-") as name:
        folder = Path(name)
        conf, sendsms = kannel_conf(folder, smsc_port, args.window)
        with processes(["bearerbox", str(conf)]) as (bearerbox,):

            async def bound() -> bool:
                return bool((await control.get("/stats")).json()["binds"])

            # smsbox gives up when bearerbox is not listening yet: bearerbox first.
            await wait_until(bound, 30, "Kannel's bind")
            with processes(["smsbox", str(conf)]) as (smsbox,):
                return await _blast_kannel(control, sendsms, (bearerbox.pid, smsbox.pid), args)


async def _blast_kannel(
    control: httpx.AsyncClient, sendsms: int, server: Sequence[int], args: Any
) -> dict[str, Any]:
    params = {"username": "bench", "password": "bench", "from": "ACME", "text": TEXT}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sendsms}", timeout=60) as client:

        async def ready() -> bool:
            try:
                await client.get("/cgi-bin/sendsms")
            except httpx.TransportError:
                return False
            return True

        await wait_until(ready, 30, "smsbox")

        async def send(c: HttpConnection, n: int) -> int:
            query = urlencode({**params, "to": f"4477009{n:05d}"})
            return await c.request("GET", f"/cgi-bin/sendsms?{query}")

        def connect() -> HttpConnection:
            return HttpConnection("127.0.0.1", sendsms)

        return await blast(control, args.messages, args.concurrency, send, connect, server=server)


async def run_jasmin(
    control: httpx.AsyncClient, smsc_port: int, venv: Path, args: Any
) -> dict[str, Any]:
    with jasmin(venv, smsc_port, SYSTEM_ID, PASSWORD) as peer:
        params = {"username": "bench", "password": "bench", "from": "ACME", "content": TEXT}

        async def send(c: HttpConnection, n: int) -> int:
            query = urlencode({**params, "to": f"4477009{n:05d}"})
            return await c.request("GET", f"/send?{query}")

        def connect() -> HttpConnection:
            return HttpConnection("127.0.0.1", peer.http_port)

        return await blast(control, args.messages, args.concurrency, send, connect)


async def run_engine(control: httpx.AsyncClient, smsc_port: int, args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="b6-engine-") as name:
        conf = engine_conf(Path(name), smsc_port, args.window)
        command = [sys.executable, "-m", "smpp_engine", "run", "--config", str(conf)]
        with processes(command) as (engine,):
            assert engine.stdout is not None
            line = await trio.to_thread.run_sync(engine.stdout.readline)
            if not line:
                raise RuntimeError("the engine exited before it ran")
            http_port = json.loads(line)["http_port"]
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{http_port}",
                headers={"X-API-Key": KEY},
                timeout=60,
            ) as client:

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await wait_until(ready, 30, "the engine's bind")

                def connect() -> HttpConnection:
                    return HttpConnection("127.0.0.1", http_port, {"X-API-Key": KEY})

                single = await blast(
                    control,
                    args.messages,
                    args.concurrency,
                    post_message,
                    connect,
                    server=(engine.pid,),
                )
                batch = args.batch

                async def send_batch(c: HttpConnection, first: int) -> int:
                    last = min(first + batch, args.messages)
                    items = [message(n) for n in range(first, last)]
                    data = json.dumps({"messages": items}).encode()
                    return await c.request("POST", "/v1/messages/batch", data, "application/json")

                # Fewer requests in flight: each carries a batch.
                batched = await blast(
                    control,
                    args.messages,
                    max(1, args.concurrency // 8),
                    send_batch,
                    connect,
                    batch,
                    server=(engine.pid,),
                )
                return {"single": single, "batch": batched}


async def run_floors(control: httpx.AsyncClient, args: Any) -> dict[str, Any]:
    """Each floor (benchmarks/peers/http_floor.py) in its own process, sent the engine's
    requests: the most a front door built that way reaches here, and its CPU."""
    results = {}
    for floor in FLOORS:
        command = [sys.executable, "-m", "benchmarks.peers.http_floor", floor]
        with processes(command) as (server,):
            assert server.stdout is not None
            line = await trio.to_thread.run_sync(server.stdout.readline)
            if not line:
                raise RuntimeError(f"the {floor} floor exited before it ran")
            port = json.loads(line)["http_port"]
            results[floor] = await blast(
                control,
                args.messages,
                args.concurrency,
                post_message,
                partial(HttpConnection, "127.0.0.1", port, {"X-API-Key": KEY}),
                server=(server.pid,),
                to_smsc=False,
            )
    return results


async def run(args: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with simulator_with_control("healthy") as (port, control_port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control_port}") as control:
            results["kannel"] = await run_kannel(control, port, args)
            if args.jasmin is not None:
                results["jasmin"] = await run_jasmin(control, port, args.jasmin, args)
            results["engine"] = await run_engine(control, port, args)
            if args.floors:
                results["floors"] = await run_floors(control, args)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--batch", type=int, default=100, help="messages per batch request")
    parser.add_argument(
        "--no-floors",
        dest="floors",
        action="store_false",
        help="skip the floors (benchmarks/peers/http_floor.py)",
    )
    parser.add_argument(
        "--jasmin-venv",
        help="virtual environment holding Jasmin 0.11 (default: $JASMIN_VENV)",
    )
    args = parser.parse_args()
    args.jasmin = find_venv(args.jasmin_venv)
    if args.jasmin is None:
        print(f"Jasmin not installed: {INSTALL}")
    if shutil.which("bearerbox") is None or shutil.which("smsbox") is None:
        raise SystemExit("B6 needs Kannel: apt-get install kannel")
    results = trio.run(run, args)
    rows = {
        "kannel sendsms": results["kannel"],
        "engine POST /v1/messages": results["engine"]["single"],
        f"engine batch of {args.batch}": results["engine"]["batch"],
    }
    if "jasmin" in results:
        rows["jasmin /send"] = results["jasmin"]
    for floor, figures in results.get("floors", {}).items():
        rows[f"floor {floor}"] = figures
    for name, figures in rows.items():
        smsc = f"{figures['smsc_per_s']:>6,}/s" if "smsc_per_s" in figures else "     -  "
        cpu = figures.get("server_cpu_us_per_msg")
        print(
            f"{name:>26}: HTTP {figures['http_per_s']:>6,} msg/s   to the SMSC {smsc}   "
            + (f"server CPU {cpu:>6,.1f} µs/msg   " if cpu is not None else "")
            + f"refused {figures['refused']}"
        )
    kannel = max(1, results["kannel"]["smsc_per_s"])
    figures = {
        "kannel_smsc_per_s": results["kannel"]["smsc_per_s"],
        "engine_smsc_per_s": results["engine"]["single"]["smsc_per_s"],
        "engine_batch_smsc_per_s": results["engine"]["batch"]["smsc_per_s"],
        "ratio_to_kannel": round(results["engine"]["single"]["smsc_per_s"] / kannel, 2),
        "target_ratio_to_kannel": 1.5,
        "batch_ratio_to_kannel": round(results["engine"]["batch"]["smsc_per_s"] / kannel, 2),
        "target_batch_ratio_to_kannel": 15,
        "kannel_cpu_us_per_msg": results["kannel"]["server_cpu_us_per_msg"],
        "engine_cpu_us_per_msg": results["engine"]["single"]["server_cpu_us_per_msg"],
        "engine_batch_cpu_us_per_msg": results["engine"]["batch"]["server_cpu_us_per_msg"],
    }
    for floor, floor_figures in results.get("floors", {}).items():
        # A floor stores and sends nothing: its rate bounds any front door built so.
        figures[f"floor_{floor}_http_per_s"] = floor_figures["http_per_s"]
        figures[f"floor_{floor}_ratio_to_kannel"] = round(floor_figures["http_per_s"] / kannel, 2)
        figures[f"floor_{floor}_cpu_us_per_msg"] = floor_figures["server_cpu_us_per_msg"]
    if "jasmin" in results:
        jasmin_rate = max(1, results["jasmin"]["smsc_per_s"])
        figures["jasmin_smsc_per_s"] = results["jasmin"]["smsc_per_s"]
        figures["ratio_to_jasmin"] = round(
            results["engine"]["single"]["smsc_per_s"] / jasmin_rate, 2
        )
        figures["batch_ratio_to_jasmin"] = round(
            results["engine"]["batch"]["smsc_per_s"] / jasmin_rate, 2
        )
        print(
            f"engine/Jasmin: {figures['ratio_to_jasmin']}x single, "
            f"{figures['batch_ratio_to_jasmin']}x batched"
        )
    else:
        figures["jasmin"] = "not installed"
    parameters = {
        **vars(args),
        "jasmin": str(args.jasmin) if args.jasmin else None,
        "jasmin_version": version(args.jasmin) if args.jasmin else None,
    }
    write("b6_kannel", parameters, figures, results)


if __name__ == "__main__":
    main()
