"""``smpp-engine run`` with ``[smpp_server]`` over TLS: port 0 is reported as
``smpp_server_port`` on the first JSON line, and a client binds over TLS."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import trio

from .conftest import DIGEST, PASSWORD
from .esme import RawEsme


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _settings(folder: Path, cert: Path, key: Path) -> Path:
    path = folder / "engine.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{folder / "engine.db"}"

[log]
format = "json"

[http]
enabled = false

[simulator]
enabled = true
port = 0

[[smsc]]
name = "default"
host = "127.0.0.1"
port = 2775
system_id = "engine"
password = "sim-only"

[[tenants]]
name = "acme"

[[tenants.smpp]]
system_id = "acme1"
password_digest = "{DIGEST}"

[smpp_server]
port = 0
tls_cert_file = "{cert}"
tls_key_file = "{key}"
"""
    )
    return path


def test_run_reports_the_port_and_a_client_binds_over_tls(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    config = _settings(tmp_path, cert, key)
    process = subprocess.Popen(
        [sys.executable, "-m", "smpp_engine", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        port = json.loads(line)["smpp_server_port"]
        assert isinstance(port, int) and port > 0

        async def bind() -> int:
            context = ssl.create_default_context(cafile=str(cert))
            tcp = await trio.open_tcp_stream("127.0.0.1", port)
            stream = trio.SSLStream(tcp, context, server_hostname="127.0.0.1")
            esme = RawEsme(stream)
            with trio.fail_after(30):
                status = await esme.bind(password=PASSWORD)
            await esme.aclose()
            return status

        assert trio.run(bind) == 0
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
