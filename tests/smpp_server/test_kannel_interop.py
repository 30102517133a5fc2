"""Kannel's bearerbox with the gateway as its SMSC: 300 messages through smsbox's sendsms
with delivery reports asked for (dlr-mask 9: the SMSC's acceptance and the final
delivery), to the simulator upstream; every message's acceptance report carries the
gateway's id from submit_sm_resp and its delivery report the same id from the receipt.

Needs Debian's ``kannel`` package (``.ci/run`` installs it); under ``CI=true`` a
missing bearerbox fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trio

from .conftest import PASSWORD, gateway_settings, running

MESSAGES = 300
SMSC_ACCEPTED, DELIVERED = 8, 1


def _kannel() -> None:
    if shutil.which("bearerbox") and shutil.which("smsbox"):
        return
    problem = "Kannel is not installed (apt-get install kannel)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"interop peer missing under CI: {problem}")
    pytest.skip(problem)


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _conf(folder: Path, smsc_port: int) -> tuple[Path, int]:
    admin, box, sendsms = _free_port(), _free_port(), _free_port()
    conf = folder / "kannel.conf"
    conf.write_text(
        f"""group = core
admin-port = {admin}
admin-password = test
admin-allow-ip = "127.0.0.1"
smsbox-port = {box}
log-level = 1
log-file = "{folder}/bearerbox.log"
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
store-type = file
store-location = "{folder}/kannel.store"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = gateway
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = "acme1"
smsc-password = "{PASSWORD}"
system-type = ""
max-pending-submits = 64
enquire-link-interval = 30
msg-id-type = 0x00

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-level = 1
log-file = "{folder}/smsbox.log"

group = sendsms-user
username = test
password = test
max-messages = 10
"""
    )
    return conf, sendsms


@contextmanager
def _processes(*commands: list[str]) -> Iterator[None]:
    started = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands
    ]
    try:
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class DlrReceiver:
    """The HTTP endpoint smsbox calls with each delivery report (its dlr-url)."""

    def __init__(self) -> None:
        self.reports: list[dict[str, str]] = []
        self.changed = trio.Event()

    async def serve(self, stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            data += chunk
        target = data.split(b" ", 2)[1].decode()
        query = parse_qs(urlsplit(target).query)
        self.reports.append({k: v[0] for k, v in query.items()})
        self.changed.set()
        self.changed = trio.Event()
        await stream.send_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await stream.aclose()


async def test_kannel_gets_every_acceptance_and_every_receipt_by_the_gateways_id(
    tmp_path: Path,
) -> None:
    _kannel()
    receiver = DlrReceiver()
    async with (
        running(gateway_settings(tmp_path)) as (gateway, started),
        trio.open_nursery() as web,
    ):
        assert started.smpp_server_port
        listeners = await web.start(partial(trio.serve_tcp, receiver.serve, 0, host="127.0.0.1"))
        dlr_port = listeners[0].socket.getsockname()[1]
        conf, sendsms = _conf(tmp_path, started.smpp_server_port)
        with _processes(["bearerbox", str(conf)]):
            # smsbox gives up when bearerbox is not listening yet: wait for its bind.
            with trio.fail_after(30):
                while not any(link.account for link in gateway.smpp_server.links):
                    await trio.sleep(0.05)
            with _processes(["smsbox", str(conf)]):
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{sendsms}", timeout=30
                ) as client:
                    with trio.fail_after(30):
                        while True:
                            try:
                                await client.get("/cgi-bin/sendsms")
                                break
                            except httpx.TransportError:
                                await trio.sleep(0.2)
                    with trio.fail_after(60):
                        for n in range(MESSAGES):
                            dlr_url = f"http://127.0.0.1:{dlr_port}/dlr?n={n}&type=%d&id=%F"
                            answer = await client.get(
                                "/cgi-bin/sendsms",
                                params={
                                    "username": "test",
                                    "password": "test",
                                    "from": "ACME",
                                    "to": f"4477009{n:05d}",
                                    "text": f"kannel interop {n}",
                                    "dlr-mask": "9",
                                    "dlr-url": dlr_url,
                                },
                            )
                            assert answer.status_code == 202, answer.text
                    with trio.fail_after(120):
                        while len(receiver.reports) < 2 * MESSAGES:
                            await receiver.changed.wait()
        web.cancel_scope.cancel()
    by_type: dict[int, dict[str, str]] = {SMSC_ACCEPTED: {}, DELIVERED: {}}
    for report in receiver.reports:
        kind = int(report["type"])
        assert report["n"] not in by_type[kind], report  # none twice
        by_type[kind][report["n"]] = report["id"]
    expected = {str(n) for n in range(MESSAGES)}
    assert set(by_type[SMSC_ACCEPTED]) == expected
    assert set(by_type[DELIVERED]) == expected
    assert by_type[DELIVERED] == by_type[SMSC_ACCEPTED]
    assert len(set(by_type[DELIVERED].values())) == MESSAGES
