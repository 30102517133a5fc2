"""submit_multi: its one submit_multi_resp message_id (SMPP 3.4 §4.5.2) is the id every
destination's receipt names, the destination (the receipt's source_addr) telling them
apart; also when the receipts are built after the process forgot them (from the store)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from smpp_engine.protocol import DeliverSm, RequestReceived, SmeAddress, SubmitMulti, Tag
from smpp_engine.store import MessageState
from smpp_engine.store.callbacks import OutboxStatus

from ..store.conftest import store_url_of
from .conftest import credential, gateway_settings, running
from .esme import RawEsme

DESTINATIONS = ["447700900101", "447700900102", "447700900103"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("forgotten", [False, True])
async def test_every_destinations_receipt_names_the_id_the_client_was_given(
    tmp_path: Path, backend: str, forgotten: bool
) -> None:
    async with store_url_of(backend, tmp_path) as url:
        settings = gateway_settings(tmp_path, credential("acme1", id_format="hex"), store_url=url)
        async with running(settings) as (gateway, started):
            port = started.smpp_server_port
            assert port and gateway.store is not None and gateway.smpp_server is not None
            store = gateway.store
            sender = await RawEsme.connect(port)
            assert await sender.bind("transmitter") == 0
            multi = SubmitMulti(
                source_addr_ton=5,
                source_addr="ACME",
                dest_addresses=[SmeAddress(1, 1, d) for d in DESTINATIONS],
                short_message=b"to many",
                registered_delivery=1,
            )
            response = await sender.response(await sender.send(multi))
            assert response.command_status == 0
            given = response.message_id  # type: ignore[attr-defined]
            with trio.fail_after(30):
                while len(await store.list_callbacks(status=OutboxStatus.PENDING)) < 3:  # type: ignore[attr-defined]
                    await trio.sleep(0.05)
            events = await store.list_callbacks(status=OutboxStatus.PENDING)  # type: ignore[attr-defined]
            ids = sorted(e.message_id for e in events)
            assert ids[0] == int(given, 16)  # the first destination's own id
            for message_id in ids:
                view = await store.get(message_id)
                assert view is not None and view.state is MessageState.DELIVERED
            if forgotten:
                # As after a restart: the receipts are built from the store alone.
                gateway.smpp_server._facts.clear()
            receiver = await RawEsme.connect(port)
            assert await receiver.bind("receiver") == 0
            seen: dict[str, str] = {}
            for _ in DESTINATIONS:
                event = await receiver.wait_for(
                    lambda e: isinstance(e, RequestReceived) and isinstance(e.pdu, DeliverSm)
                )
                assert isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm)
                pdu = event.pdu
                named = pdu.tlvs[Tag.receipted_message_id]
                assert isinstance(named, str)
                assert pdu.short_message.startswith(f"id:{named} ".encode())
                seen[pdu.source_addr] = named
            assert seen == dict.fromkeys(DESTINATIONS, given)
            with trio.fail_after(30):
                while await store.list_callbacks(status=OutboxStatus.PENDING):  # type: ignore[attr-defined]
                    await trio.sleep(0.05)
            await receiver.aclose()
            await sender.aclose()
