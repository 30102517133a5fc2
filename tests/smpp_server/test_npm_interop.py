"""npm's ``smpp`` client binds to the gateway's SMPP server face, sends 300 messages
with receipts asked for through the gateway to the simulator, and gets every
submit_sm_resp and every receipt, matched by the gateway's id, each once.

Under ``CI=true`` a missing Node.js or ``node_modules`` fails the test (see
tests/interop/test_npm_smpp.py), it is never skipped there.
"""

from __future__ import annotations

from pathlib import Path

import trio

from ..interop.test_npm_smpp import node_peer
from .conftest import PASSWORD, gateway_settings, running

MESSAGES = 300


async def test_npm_smpp_gets_every_response_and_every_receipt_by_the_gateways_id(
    tmp_path: Path,
) -> None:
    async with running(gateway_settings(tmp_path)) as (_, started):
        port = started.smpp_server_port
        assert port
        args = ("127.0.0.1", str(port), "acme1", PASSWORD, str(MESSAGES), "120000")
        async with node_peer("client.js", *args) as client:
            with trio.fail_after(150):
                await client.wait_for("unbound")
    (bound,) = client.of("bind_transceiver_resp")
    assert bound["command_status"] == 0
    responses = client.of("submit_sm_resp")
    assert len(responses) == MESSAGES
    assert all(r["command_status"] == 0 for r in responses)
    ids = [r["message_id"] for r in responses]
    assert len(set(ids)) == MESSAGES
    receipts = [d for d in client.of("deliver_sm") if d["receipt"]]
    assert sorted(d["id"] for d in receipts) == sorted(ids)  # each once
    assert all(d["message_state"] == 2 and "stat:DELIVRD" in d["text"] for d in receipts)
