"""Interop with npm's ``smpp`` package (0.5.1): its SMSC and its ESME against ours.

The peers are the Node scripts beside this file (installed by ``.ci/run`` with
``npm ci --prefix tests/interop/node``). They print one JSON object per line of
what they received and did, which is what these tests read. Under ``CI=true`` a
missing Node.js or missing ``node_modules`` fails the tests instead of skipping them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.esme import BindRejectedError, EsmeConfig, Inbound, open_bind
from smpp_engine.protocol import MessageState
from smpp_engine.simulator import parse_scenario

from ..simulator.helpers import running

NODE_DIR = Path(__file__).parent / "node"


def _node() -> str:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "Node.js is not installed"
    elif not (NODE_DIR / "node_modules" / "smpp").is_dir():
        problem = f"npm's smpp is not installed: run npm ci --prefix {NODE_DIR}"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"interop peer missing under CI: {problem}")
        pytest.skip(problem)
    assert node is not None
    return node


class NodePeer:
    """A Node script's process and the JSON lines it has printed so far."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._changed = trio.Event()

    async def read_forever(self) -> None:
        assert self.process.stdout is not None
        async for chunk in self.process.stdout:
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            self.events.extend(json.loads(line) for line in lines if line.strip())
            self._changed.set()
            self._changed = trio.Event()
        self._changed.set()

    async def wait_for(self, event: str, count: int = 1) -> list[dict[str, Any]]:
        """The first ``count`` lines whose event is ``event``, waiting for them to appear."""
        while True:
            found = [e for e in self.events if e["event"] == event]
            if len(found) >= count:
                return found[:count]
            if self.process.returncode is not None:
                raise AssertionError(f"peer exited before {count} {event!r}: {self.events}")
            await self._changed.wait()

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]


@asynccontextmanager
async def node_peer(script: str, *args: str) -> AsyncIterator[NodePeer]:
    command = [_node(), str(NODE_DIR / script), *args]
    async with trio.open_nursery() as nursery:
        process = await trio.lowlevel.open_process(command, stdout=subprocess.PIPE)
        peer = NodePeer(process)
        nursery.start_soon(peer.read_forever)
        try:
            yield peer
        finally:
            if process.returncode is None:
                process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()


def _config(port: int, password: str = "npmpass") -> EsmeConfig:
    return EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="engine",
        password=password,
        window_size=10,
        response_timeout=10.0,
        enquire_link_interval=None,
    )


async def test_our_esme_binds_submits_and_takes_deliver_sm_from_npm_server() -> None:
    async with node_peer("server.js", "0", "engine", "npmpass") as smsc:
        with trio.fail_after(20):
            (listening,) = await smsc.wait_for("listening")
            send_inbound, receive_inbound = trio.open_memory_channel[Inbound](math.inf)
            async with open_bind(_config(listening["port"]), inbound=send_inbound) as bind:
                outcomes = [
                    await bind.submit(
                        source_addr="ACME",
                        source_addr_ton=5,
                        destination_addr=f"44770090000{i}",
                        dest_addr_ton=1,
                        dest_addr_npi=1,
                        registered_delivery=1,
                        short_message=f"Debt notice {i}".encode(),
                    )
                    for i in range(3)
                ]
                # one MO after the bind, and one receipt per submit
                delivered = [await receive_inbound.receive() for _ in range(4)]
                await smsc.wait_for("deliver_sm_resp", 4)
            await smsc.wait_for("unbind")

    assert [o.accepted for o in outcomes] == [True, True, True]
    assert [o.message_id for o in outcomes] == ["npm1", "npm2", "npm3"]
    (bind_line,) = smsc.of("bind_transceiver")
    assert bind_line == {"event": "bind_transceiver", "system_id": "engine", "accepted": True}
    submits = smsc.of("submit_sm")
    assert [s["text"] for s in submits] == ["Debt notice 0", "Debt notice 1", "Debt notice 2"]
    assert [s["destination_addr"] for s in submits] == [f"44770090000{i}" for i in range(3)]
    assert all(s["source_addr"] == "ACME" and s["registered_delivery"] == 1 for s in submits)

    mo = [item for item in delivered if item.receipt is None]
    receipts = [item.receipt for item in delivered if item.receipt is not None]
    assert len(mo) == 1
    assert mo[0].pdu.short_message == b"MO from npm smpp"
    assert mo[0].pdu.source_addr == "447700900001"
    assert sorted(r.message_id for r in receipts) == ["npm1", "npm2", "npm3"]
    assert all(r.state is MessageState.DELIVERED for r in receipts)
    # our deliver_sm_resp reached npm's SMSC as ESME_ROK, for the MO and every receipt
    answers = smsc.of("deliver_sm_resp")
    assert sorted(a["kind"] for a in answers) == ["mo", "receipt", "receipt", "receipt"]
    assert all(a["command_status"] == 0 for a in answers)


async def test_npm_server_refusing_our_password_is_a_typed_bind_rejection() -> None:
    async with node_peer("server.js", "0", "engine", "npmpass") as smsc:
        with trio.fail_after(20):
            (listening,) = await smsc.wait_for("listening")
            with pytest.raises(BindRejectedError) as caught:
                async with open_bind(_config(listening["port"], password="wrong")):
                    pytest.fail("bound with a wrong password")
    assert caught.value.status == 0x0E  # ESME_RINVPASWD, as npm's server answered
    assert smsc.of("bind_transceiver")[0]["accepted"] is False


async def test_npm_client_binds_submits_and_gets_receipts_from_our_simulator() -> None:
    scenario = parse_scenario(
        {
            "accounts": [{"system_id": "npmclient", "password": "pw123"}],
            "receipts": {"prefixes": {"44770090000": "DELIVRD"}},
        }
    )
    count = 5
    async with running(scenario) as sim:
        with trio.fail_after(30):
            async with node_peer(
                "client.js", "127.0.0.1", str(sim.port), "npmclient", "pw123", str(count)
            ) as esme:
                await esme.wait_for("unbound")
                await esme.process.wait()
        records = sim.messages(system_id="npmclient")

    assert esme.process.returncode == 0, esme.events
    (bind_resp,) = esme.of("bind_transceiver_resp")
    assert bind_resp["command_status"] == 0
    responses = esme.of("submit_sm_resp")
    assert len(responses) == count
    assert all(r["command_status"] == 0 for r in responses)
    receipts = [e for e in esme.of("deliver_sm") if e["receipt"]]
    assert sorted(r["id"] for r in receipts) == sorted(r["message_id"] for r in responses)
    assert all("stat:DELIVRD" in r["text"] for r in receipts)
    assert all(r["message_state"] == 2 for r in receipts)  # DELIVERED, in the TLV too
    # what the simulator recorded is what npm's client sent
    assert sorted(record.destination for record in records) == [
        f"4477009{i:05d}" for i in range(count)
    ]
    assert {record.message_id for record in records} == {r["message_id"] for r in responses}
