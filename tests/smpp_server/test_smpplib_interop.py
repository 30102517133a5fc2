"""smpplib's client binds to the gateway's SMPP server face, sends 300 messages with
receipts asked for through the gateway to the simulator, and gets every
submit_sm_resp and every receipt, matched by the gateway's id, each once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import smpplib.client
import smpplib.consts
import trio

from .conftest import PASSWORD, gateway_settings, running

MESSAGES = 300


def _client_run(port: int) -> tuple[dict[int, str], dict[str, bytes]]:
    """smpplib as a customer's system uses it: one transceiver bind, blocking socket."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=30, allow_unknown_opt_params=True)
    responses: dict[int, str] = {}
    receipts: dict[str, bytes] = {}
    duplicates: list[str] = []

    def sent(pdu: Any, **_: Any) -> None:
        responses[pdu.sequence] = pdu.message_id.decode()

    def received(pdu: Any, **_: Any) -> int:
        key = pdu.receipted_message_id.decode()
        if key in receipts:
            duplicates.append(key)
        receipts[key] = pdu.short_message
        return 0

    client.set_message_sent_handler(sent)
    client.set_message_received_handler(received)
    client.connect()
    try:
        client.bind_transceiver(system_id="acme1", password=PASSWORD)
        sequences = []
        for n in range(MESSAGES):
            pdu = client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr_npi=0,
                source_addr="ACME",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=f"4477009{n:05d}",
                short_message=f"interop message {n}".encode(),
                registered_delivery=1,
            )
            sequences.append(pdu.sequence)
        while len(responses) < MESSAGES or len(receipts) < MESSAGES:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    assert not duplicates
    assert sorted(responses) == sorted(sequences)
    return responses, receipts


async def test_smpplib_gets_every_response_and_every_receipt_by_the_gateways_id(
    tmp_path: Path,
) -> None:
    async with running(gateway_settings(tmp_path)) as (gateway, started):
        assert started.smpp_server_port
        with trio.fail_after(120):
            responses, receipts = await trio.to_thread.run_sync(
                _client_run, started.smpp_server_port
            )
        ids = set(responses.values())
        assert len(ids) == MESSAGES
        assert set(receipts) == ids
        for message_id, text in receipts.items():
            assert text.startswith(f"id:{message_id} ".encode())
            assert b"stat:DELIVRD" in text
        # Each id names a message the store kept, with the client's addresses.
        some = min(ids, key=int)
        view = await gateway.store.get(int(some))  # type: ignore[union-attr]
        assert view is not None and view.tenant == "acme" and view.source == "ACME"
