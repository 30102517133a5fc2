"""Interop: smpplib's real (blocking) client against the simulator, in a worker thread."""

from __future__ import annotations

from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.gsm
import trio

from smpp_engine.protocol import MessageState, parse_receipt
from smpp_engine.simulator import Simulator, parse_scenario

from .helpers import running

SCENARIO = parse_scenario(
    {
        "accounts": [{"system_id": "smpplib", "password": "secret"}],
        "receipts": {"prefixes": {"4479991": "UNDELIV"}},
    }
)


def _session(port: int, sim: Simulator, token: trio.lowlevel.TrioToken) -> dict[str, Any]:
    """Bind, submit two messages and a long one, wait for their receipts and one MO."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    sent: list[str] = []
    received: list[Any] = []
    client.set_message_sent_handler(lambda pdu, **kw: sent.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu, **kw: received.append(pdu))
    client.connect()
    try:
        bind = client.bind_transceiver(system_id="smpplib", password="secret")
        for destination in ("447700900001", "447999100001"):
            client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr="ACME",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                destination_addr=destination,
                short_message=b"Payment received, thank you",
                registered_delivery=1,
            )
        parts, encoding, esm_class = smpplib.gsm.make_parts("Your new balance is 12.30 EUR. " * 8)
        for part in parts:
            client.send_message(
                source_addr="ACME",
                destination_addr="447700900002",
                short_message=part,
                data_coding=encoding,
                esm_class=esm_class,
                registered_delivery=1,
            )
        # an MO while bound, injected from the trio side
        trio.from_thread.run_sync(
            lambda: sim.inject_mo(source="447700900009", destination="5566", text="READ 12"),
            trio_token=token,
        )
        expected_receipts = 2 + len(parts)
        while len(sent) < 2 + len(parts) or len(received) < expected_receipts + 1:
            client.read_once()
        client.unbind()
        return {"bind": bind, "sent": sent, "received": received, "parts": len(parts)}
    finally:
        client.disconnect()


async def test_smpplib_binds_submits_and_receives_receipts_and_mo() -> None:
    async with running(SCENARIO) as sim:
        token = trio.lowlevel.current_trio_token()
        with trio.fail_after(30):
            result = await trio.to_thread.run_sync(_session, sim.port, sim, token)
    assert result["bind"].system_id == b"SMPPSIM"
    assert len(result["sent"]) == 2 + result["parts"]
    receipts = {}
    mo = []
    for pdu in result["received"]:
        tlvs = {}
        if getattr(pdu, "receipted_message_id", None):
            tlvs[0x001E] = pdu.receipted_message_id.decode()
        if getattr(pdu, "message_state", None) is not None:
            tlvs[0x0427] = pdu.message_state
        if pdu.esm_class & 0x04:
            receipt = parse_receipt(pdu.esm_class, pdu.short_message, tlvs)
            receipts[receipt.message_id] = (pdu.source_addr.decode(), receipt.state)
        else:
            mo.append(pdu)
    assert set(receipts) == set(result["sent"])
    by_destination = {destination: state for destination, state in receipts.values()}
    assert by_destination["447700900001"] is MessageState.DELIVERED
    assert by_destination["447999100001"] is MessageState.UNDELIVERABLE
    (only,) = mo
    assert only.short_message == b"READ 12"
    assert only.destination_addr == b"5566"
    records = sim.messages(system_id="smpplib")
    assert len(records) == 2 + result["parts"]
    assert all(record.receipt_state is not None for record in records)
