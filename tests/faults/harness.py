"""The fault suite's gateway: ``smpp-engine run`` as a real process, driven over HTTP.

The simulator runs in the test process (it outlives every kill of the gateway
and records what reached it); the gateway is configured by a TOML file the
test writes, with the store, the route and short housekeeping and leases so
recovery happens within a test's patience.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import trio

from smpp_engine.settings import hash_api_key

ROOT = Path(__file__).resolve().parents[2]
KEY = "fault-suite-key-0123456789"
ROUTE = "sim"
SMSC_PASSWORD = "simpass8"  # SMPP 3.4: at most 8 characters
HEADERS = {"X-API-Key": KEY}


def write_config(
    tmp_path: Path,
    store_url: str,
    smsc_port: int,
    *,
    window: int = 16,
    binds: int = 1,
    throughput: float | None = None,
    lease: float = 4.0,
    response_timeout: float = 2.0,
    housekeeping: float = 0.5,
    extra: str = "",
) -> Path:
    """A settings file for one gateway on ``store_url`` with one route to ``smsc_port``."""
    rate = f"throughput = {throughput}\n" if throughput is not None else ""
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[store]
url = "{store_url}"

[log]
format = "json"
level = "warning"

[http]
port = 0
api_keys = [{{ name = "ops", sha256 = "{hash_api_key(KEY)}" }}]

[simulator]
enabled = false

[[smsc]]
name = "{ROUTE}"
host = "127.0.0.1"
port = {smsc_port}
system_id = "gateway"
password = "{SMSC_PASSWORD}"
window = {window}
binds = {binds}
lease = {lease}
response_timeout = {response_timeout}
reconnect_delay = 0.2
{rate}
[pipeline]
housekeeping = {housekeeping}
drain_timeout = 5

{extra}
"""
    )
    return path


class GatewayProcess:
    """One ``smpp-engine run`` process: its ports, its HTTP API, and how it ends."""

    def __init__(self, process: trio.Process, started: Mapping[str, Any], log: Path) -> None:
        self.process = process
        self.started = started
        self.log = log
        self.url = f"http://127.0.0.1:{started['http_port']}"

    @classmethod
    async def start(
        cls, config: Path, *, env: Mapping[str, str] | None = None, **popen: Any
    ) -> GatewayProcess:
        log = config.with_suffix(f".{len(list(config.parent.glob('*.log')))}.log")
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "smpp_engine", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            **popen,
        )
        assert process.stdout is not None
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some(1)
                if not chunk:
                    raise AssertionError(f"run ended at start: {log.read_text()[-3000:]}")
                line += chunk
        return cls(process, json.loads(line), log)

    def client(self, timeout: float = 10.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=HEADERS, timeout=timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM, then wait for the graceful stop; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            return await self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def errors_logged(self) -> str:
        return self.log.read_text(errors="replace")


async def post_batch(
    client: httpx.AsyncClient, destinations: list[str], *, text: str = "Debt notice {n}"
) -> list[int]:
    """Accept one message per destination in batches of 500; their ids, in order."""
    ids: list[int] = []
    for start in range(0, len(destinations), 500):
        chunk = destinations[start : start + 500]
        body = {
            "messages": [
                {"to": f"+{d}", "from": "ACME", "text": text.format(n=start + n)}
                for n, d in enumerate(chunk)
            ]
        }
        answer = await client.post("/v1/messages/batch", json=body)
        assert answer.status_code == 201, answer.text
        ids.extend(m["id"] for m in answer.json()["messages"])
    return ids


async def wait_for(
    probe: Callable[[], Any], until: Callable[[Any], bool], *, timeout: float, every: float = 0.1
) -> Any:
    """Call the async ``probe`` until ``until(result)``; the last result."""
    with trio.fail_after(timeout):
        while True:
            result = await probe()
            if until(result):
                return result
            await trio.sleep(every)


# --- shared checks of the fault tests (appended) -----------------------------------


def numbers(count: int, *, first: int = 447700900000) -> list[str]:
    """``count`` distinct destinations (digits, no '+'), as the simulator records them."""
    return [str(first + n) for n in range(count)]


async def count_states(store_url: str) -> dict[str, int]:
    """Messages per state, read through the store the gateway writes (opened in the test)."""
    from smpp_engine.store import open_store  # noqa: PLC0415 - only the tests that read it

    async with open_store(store_url) as store:
        return {str(state): n for state, n in (await store.count_by_state()).items()}


def sent_counts(sim: Any, destinations: list[str]) -> tuple[set[str], int]:
    """What reached ``sim`` of ``destinations``: the ones seen, and how many submits in all."""
    wanted = set(destinations)
    records = [r for r in sim.messages(system_id="gateway") if r.destination in wanted]
    return {r.destination for r in records}, len(records)


class Liveness:
    """Probes ``/healthz`` every ``every`` seconds while the test runs its fault.

    ``failures`` lists every probe that did not answer 200 in ``timeout`` (with why)
    and every probe that found the process gone; a test asserts it stays empty.
    """

    def __init__(self, gateway: GatewayProcess, *, every: float = 0.25, timeout: float = 5.0):
        self.gateway = gateway
        self.every = every
        self.timeout = timeout
        self.probes = 0
        self.failures: list[str] = []

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self.gateway.client(timeout=self.timeout) as client:
            task_status.started()
            while True:
                if not self.gateway.alive:
                    self.failures.append(f"process ended: {self.gateway.process.returncode}")
                    return
                try:
                    answer = await client.get("/healthz")
                    if answer.status_code != 200:
                        self.failures.append(f"/healthz {answer.status_code}: {answer.text}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"/healthz: {exc!r}")
                self.probes += 1
                await trio.sleep(self.every)


async def all_final(
    store_url: str, expected: int, *, state: str = "delivered", timeout: float = 60.0
) -> dict[str, int]:
    """Wait until ``expected`` messages are in ``state`` in the store; the counts then."""

    async def probe() -> dict[str, int]:
        return await count_states(store_url)

    try:
        counts: dict[str, int] = await wait_for(
            probe, lambda counts: counts.get(state, 0) >= expected, timeout=timeout, every=0.5
        )
    except trio.TooSlowError:
        raise AssertionError(
            f"not all {expected} messages {state} in {timeout} s: {await probe()}"
        ) from None
    return counts


class LinkCut:
    """A TCP relay to ``target_port`` that the test can cut (a network partition).

    :meth:`cut` closes every relayed connection and turns new ones away (accepted,
    then closed at once) until :meth:`mend`. The peer behind it keeps its state:
    the simulator holds the receipts it owes until the gateway binds again.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.is_cut = False
        self.turned_away = 0
        self._scopes: set[trio.CancelScope] = set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    def cut(self) -> None:
        self.is_cut = True
        for scope in self._scopes:
            scope.cancel()

    def mend(self) -> None:
        self.is_cut = False

    async def _relay(self, client: trio.SocketStream) -> None:
        if self.is_cut:
            self.turned_away += 1
            await trio.aclose_forcefully(client)
            return
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        except OSError:
            await trio.aclose_forcefully(client)
            return
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                async with client, upstream, trio.open_nursery() as nursery:
                    nursery.start_soon(_pump, client, upstream, nursery.cancel_scope)
                    nursery.start_soon(_pump, upstream, client, nursery.cancel_scope)
            finally:
                self._scopes.discard(scope)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, both: trio.CancelScope) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    both.cancel()  # one side closed: close the other too


class Acceptor:
    """Posts one message every ``every`` seconds to ``POST /v1/messages`` while it runs.

    ``accepted`` holds the destinations answered 201 (durable: they must all be
    delivered), ``statuses`` counts every answer, ``refusals`` keeps when each 503
    came (trio time), and ``failures`` anything else: another status (a 500), a
    503 that does not name the store, a request with no answer in ``timeout``.
    """

    def __init__(
        self,
        gateway: GatewayProcess,
        *,
        first: int = 447800000000,
        every: float = 0.1,
        timeout: float = 15.0,
    ) -> None:
        self.gateway = gateway
        self.first = first
        self.every = every
        self.timeout = timeout
        self.accepted: list[str] = []
        self.accepted_at: list[float] = []
        self.refusals: list[float] = []
        self.statuses: dict[int | str, int] = {}
        self.failures: list[str] = []
        self.slowest = 0.0
        self._finishing = False
        self._finished = trio.Event()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self.gateway.client(timeout=self.timeout) as client:
            task_status.started()
            for n in range(10**6):
                if self._finishing:
                    break
                destination = str(self.first + n)
                started = trio.current_time()
                status: int | str
                try:
                    answer = await client.post(
                        "/v1/messages",
                        json={"to": f"+{destination}", "from": "ACME", "text": f"Probe {n}"},
                    )
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                    self.failures.append(f"no answer: {exc!r}")
                else:
                    status = answer.status_code
                    if status == 201:
                        self.accepted.append(destination)
                        self.accepted_at.append(trio.current_time())
                    elif status == 503 and answer.json().get("error") == "store unavailable":
                        self.refusals.append(trio.current_time())
                    else:
                        self.failures.append(f"{status}: {answer.text[:500]}")
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.slowest = max(self.slowest, trio.current_time() - started)
                await trio.sleep(self.every)
        self._finished.set()

    async def finish(self) -> None:
        """Stop after the request in flight: a 201 cancelled on its way would leave a
        stored message the test does not know of."""
        self._finishing = True
        await self._finished.wait()

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "statuses": dict(self.statuses),
            "slowest_answer_s": round(self.slowest, 2),
        }


async def possible_duplicates(gateway: GatewayProcess) -> int:
    """smpp_pipeline_possible_duplicates_total summed over routes, from /metrics."""
    async with gateway.client() as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    total = 0.0
    for line in answer.text.splitlines():
        if line.startswith("smpp_pipeline_possible_duplicates_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)
