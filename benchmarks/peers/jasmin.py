"""Jasmin 0.11 as a benchmark peer (B6's HTTP front door, B9's SMPP server face).

Jasmin is never a dependency of this project: it lives in its own virtual
environment (``python3 -m venv /work/jasmin-venv && /work/jasmin-venv/bin/pip
install jasmin==0.11.0``), found through ``--jasmin-venv`` or the
``JASMIN_VENV`` environment variable. It needs RabbitMQ (AMQP on
127.0.0.1:5672, guest/guest) and Redis (127.0.0.1:6379).

:func:`jasmin` writes ``jasmin.cfg`` in a temporary root (``ROOT_PATH``; logs
and its store go there too), starts ``jasmind.py`` with the DLR lookup and DLR
thrower in the same process (receipts to SMPP server users), then configures it
through jCli, its telnet console: one SMPP client connector to the simulator,
a default MT route to it, a group and a user (HTTP API and SMPP server).
The PyPI package carries no AMQP spec file; txAMQP's own 0-9-1 spec is named
in ``jasmin.cfg``.

0.11.0 rather than 0.11.1: 0.11.1's submit_sm_resp handler raises
``AttributeError: 'SubmitSM' object has no attribute 'response'`` for every
single-part message (jookies/jasmin#1236), so its receipts never reach an SMPP
server user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USERNAME, PASSWORD = "bench", "bench"
CONNECTOR = "sim"
INSTALL = (
    "python3 -m venv /work/jasmin-venv && /work/jasmin-venv/bin/pip install jasmin==0.11.0, "
    "then pass --jasmin-venv /work/jasmin-venv or set JASMIN_VENV"
)


@dataclass(frozen=True)
class Jasmin:
    pid: int
    http_port: int
    smpp_port: int
    root: Path  # ROOT_PATH: etc/jasmin/jasmin.cfg, var/log/jasmin/*.log


def find_venv(option: str | None) -> Path | None:
    """The Jasmin venv named by ``option`` or ``JASMIN_VENV``, if it holds ``jasmind.py``."""
    named = option or os.environ.get("JASMIN_VENV")
    if not named:
        return None
    venv = Path(named)
    return venv if (venv / "bin" / "jasmind.py").exists() else None


def version(venv: Path) -> str:
    """The Jasmin version installed in ``venv``, for the benchmark's record."""
    return subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('jasmin'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _spec(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/txamqp/specs/standard/amqp0-9-1*.xml"))
    if not found:
        raise RuntimeError(f"no AMQP 0-9-1 spec under {venv} (txAMQP missing?)")
    return found[0]


def _config(root: Path, venv: Path, ports: dict[str, int]) -> Path:
    sections = {
        "smpp-server": {"bind": "127.0.0.1", "port": ports["smpp"]},
        "smpp-server-pb": {"bind": "127.0.0.1", "port": ports["smpp_pb"]},
        "smpp-server-pb-client": {"host": "127.0.0.1", "port": ports["smpp_pb"]},
        "client-management": {"bind": "127.0.0.1", "port": ports["cm"]},
        "router": {"bind": "127.0.0.1", "port": ports["router"]},
        "http-api": {"bind": "127.0.0.1", "port": ports["http"]},
        "jcli": {"bind": "127.0.0.1", "port": ports["jcli"]},
        "amqp-broker": {
            "host": "127.0.0.1",
            "port": 5672,
            "username": "guest",
            "password": "guest",
            "vhost": "/",
            "spec": _spec(venv),
        },
        "redis-client": {"host": "127.0.0.1", "port": 6379, "dbid": 0},
        "service-smppclient": {},
        "sm-listener": {},
        # The simulator's receipt can come before Jasmin has mapped the submit_sm_resp;
        # Jasmin then looks the receipt up again after this delay (10 s by default).
        "dlr": {"dlr_lookup_retry_delay": 1},
        "deliversm-thrower": {},
        "dlr-thrower": {},
    }
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        # Warnings only: INFO logs a line per message, which would cost Jasmin dearly.
        lines += [f"{key} = {value}" for key, value in {**values, "log_level": "WARNING"}.items()]
        lines.append("")
    path = root / "etc" / "jasmin" / "jasmin.cfg"
    path.parent.mkdir(parents=True)
    (path.parent / "store").mkdir()
    (root / "var" / "log" / "jasmin").mkdir(parents=True)
    path.write_text("\n".join(lines))
    return path


class _JCli:
    """A line-by-line conversation with jCli over telnet (negotiation bytes ignored)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.seen = ""

    def _until(self, *prompts: str) -> str:
        while not any(self.seen.rstrip(" \r\n").endswith(p.rstrip(" ")) for p in prompts):
            data = self.sock.recv(4096)
            if not data:
                raise RuntimeError(f"jCli closed the connection after: {self.seen[-300:]!r}")
            self.seen += data.decode("latin-1")
        out, self.seen = self.seen, ""
        return out

    def say(self, line: str, *prompts: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self._until(*(prompts or ("jcli : ", "> ")))

    def login(self) -> None:
        # The first "Username: " prompt is only drawn once a line is typed.
        self._until("Authentication required.")
        self.say("jcliadmin", "Password: ")
        self.say("jclipwd", "jcli : ")

    def close(self) -> None:
        self.sock.close()


def _configure(jcli_port: int, smsc_port: int, system_id: str, password: str) -> None:
    jcli = _JCli(jcli_port)
    try:
        jcli.login()
        script = [
            "smppccm -a",
            f"cid {CONNECTOR}",
            "host 127.0.0.1",
            f"port {smsc_port}",
            f"username {system_id}",
            f"password {password}",
            "bind transceiver",
            # 0 lifts Jasmin's default of one submit_sm per second.
            "submit_throughput 0",
            "ok",
            f"smppccm -1 {CONNECTOR}",
            "group -a",
            "gid bench",
            "ok",
            "user -a",
            f"username {USERNAME}",
            f"password {PASSWORD}",
            "uid bench",
            "gid bench",
            "ok",
            "mtrouter -a",
            "type defaultroute",
            f"connector smppc({CONNECTOR})",
            "rate 0.00",
            "ok",
        ]
        for line in script:
            answer = jcli.say(line)
            if "Error" in answer or "Unknown" in answer or "Invalid" in answer:
                raise RuntimeError(f"jCli refused {line!r}: {answer.strip()!r}")
        deadline = time.monotonic() + 30
        while "BOUND_TRX" not in (listing := jcli.say("smppccm -l")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Jasmin's connector never bound to the simulator: {listing!r}")
            time.sleep(0.2)
        jcli.say("quit", "")
    finally:
        jcli.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"jasmind exited with {process.returncode}: {tail}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"jasmind did not listen within 60 s: {log.read_text()[-2000:]}")


@contextmanager
def jasmin(venv: Path, smsc_port: int, system_id: str, password: str) -> Iterator[Jasmin]:
    """Run ``jasmind.py`` from ``venv``, its connector bound to ``smsc_port``."""
    names = ("smpp", "smpp_pb", "cm", "router", "http", "jcli")
    ports = {name: _free_port() for name in names}
    with tempfile.TemporaryDirectory(prefix="jasmin-") as name:
        root = Path(name)
        config = _config(root, venv, ports)
        log = root / "jasmind.out"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(venv / "bin" / "python"),
                    str(venv / "bin" / "jasmind.py"),
                    "--config",
                    str(config),
                    "--enable-dlr-lookup",
                    "--enable-dlr-thrower",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ROOT_PATH": str(root)},
                cwd=root,
            )
        try:
            _wait_listening(ports["jcli"], process, log)
            _configure(ports["jcli"], smsc_port, system_id, password)
            yield Jasmin(process.pid, ports["http"], ports["smpp"], root)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            shutil.rmtree(root / "var", ignore_errors=True)
