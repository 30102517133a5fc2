"""MO routed to a tenant's SMPP binds: kept with its outbox event, then sent as a plain
deliver_sm to the tenant's receiver binds (waiting for one to bind), deleted only once
answered ESME_ROK; a long MO as one message_payload PDU (3.4 binds) or UDH parts (3.3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.protocol import BindReceiver, Bound, DeliverSm, RequestReceived, Tag
from smpp_engine.protocol.coding import decode_text
from smpp_engine.protocol.segmentation import parse_udh
from smpp_engine.settings import Settings
from smpp_engine.settings.checks import cross_check
from smpp_engine.settings.tenants import MoRouteSettings
from smpp_engine.smpp_server.mo import mo_pdus
from smpp_engine.store.callbacks import OutboxStatus
from smpp_engine.store.mo import MoRoute

from ..store.conftest import store_url_of
from .conftest import credential, gateway_settings, running
from .esme import RawEsme

LONG = "Long MO text, joined upstream and sent down whole. " * 5


def _with_route(settings: Settings, **rule: Any) -> Settings:
    route = MoRouteSettings(name="to-acme", target="smpp", tenant="acme", **rule)
    return settings.model_copy(update={"mo_routes": [route]})


def _is_deliver(event: object) -> bool:
    return isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm)


async def _pending(store: Any) -> list[Any]:
    return list(await store.list_callbacks(status=OutboxStatus.PENDING))


async def _bind_v33(port: int) -> RawEsme:
    esme = await RawEsme.connect(port)
    sequence = await esme.send(
        BindReceiver(system_id="acme1", password="secret1", interface_version=0x33)
    )
    await esme.wait_for(
        lambda e: (
            isinstance(e, Bound) and e.request is not None and e.request.sequence_number == sequence
        )
    )
    return esme


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_mo_waits_for_a_receiver_and_comes_once_as_a_plain_deliver_sm(
    tmp_path: Path, backend: str
) -> None:
    async with store_url_of(backend, tmp_path) as url:
        await _mo_waits_for_a_receiver(_with_route(gateway_settings(tmp_path, store_url=url)))


async def _mo_waits_for_a_receiver(settings: Settings) -> None:
    async with running(settings) as (gateway, started):
        assert started.smpp_server_port and gateway.simulator is not None
        store = gateway.store
        simulator = gateway.simulator
        short = simulator.inject_mo(source="359888123456", destination="7000", text="STOP 1")
        long = simulator.inject_mo(source="359888123457", destination="7000", text=LONG)
        assert short.parts == 1 and long.parts >= 2
        # Nobody bound: both kept, routed to acme, their events waiting in the outbox.
        with trio.fail_after(30):
            while len(await _pending(store)) < 2:
                await trio.sleep(0.05)
        kept = await store.list_mo(route=MoRoute.TENANT)  # type: ignore[attr-defined]
        assert sorted(k.text for k in kept) == sorted(["STOP 1", LONG])
        assert {e.url for e in await _pending(store)} == {"smpp:acme1"}

        receiver = await RawEsme.connect(started.smpp_server_port)
        receiver.deliver_statuses = [0x08]  # the first one refused once: it comes again
        assert await receiver.bind("receiver") == 0
        texts: list[str] = []
        with trio.fail_after(30):
            while len(texts) < 3:  # the refused one comes again
                event = await receiver.wait_for(_is_deliver)
                assert isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm)
                pdu = event.pdu
                assert pdu.esm_class == 0 and pdu.registered_delivery == 0
                assert (pdu.source_addr, pdu.destination_addr) in {
                    ("359888123456", "7000"),
                    ("359888123457", "7000"),
                }
                body = pdu.tlvs.get(Tag.message_payload, pdu.short_message)
                assert isinstance(body, bytes)
                if pdu.source_addr == "359888123457":
                    # One PDU for a 3.4 bind: the text in message_payload, none in short_message.
                    assert pdu.short_message == b"" and Tag.message_payload in pdu.tlvs
                texts.append(decode_text(body, pdu.data_coding))
        assert sorted(set(texts)) == sorted(["STOP 1", LONG]) and texts[0] == texts[2]
        # Answered: deleted from the outbox.
        with trio.fail_after(30):
            while await _pending(store):
                await trio.sleep(0.05)
        await receiver.aclose()
        # A client binding again gets nothing more.
        again = await RawEsme.connect(started.smpp_server_port)
        assert await again.bind("receiver") == 0
        with trio.move_on_after(1):
            await again.wait_for(_is_deliver)
            raise AssertionError("an answered MO came again")
        await again.aclose()


async def test_a_33_bind_gets_a_long_mo_as_udh_parts(tmp_path: Path) -> None:
    settings = _with_route(gateway_settings(tmp_path), system_id="acme1")
    async with running(settings) as (gateway, started):
        assert started.smpp_server_port and gateway.simulator is not None
        receiver = await _bind_v33(started.smpp_server_port)
        gateway.simulator.inject_mo(source="359888123457", destination="7000", text=LONG)
        parts: dict[int, bytes] = {}
        total = 0
        with trio.fail_after(30):
            while not total or len(parts) < total:
                event = await receiver.wait_for(_is_deliver)
                assert isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm)
                pdu = event.pdu
                assert pdu.esm_class == 0x40 and not pdu.tlvs
                (element,), rest = parse_udh(pdu.short_message)
                _, total, sequence = element.data
                parts[sequence] = rest
        text = "".join(decode_text(parts[n], 0) for n in sorted(parts))
        assert text == LONG
        with trio.fail_after(30):
            while await _pending(gateway.store):
                await trio.sleep(0.05)
        await receiver.aclose()


def test_the_pdus_of_a_kept_mo() -> None:
    payload = json.dumps(
        {"id": 7, "from": "+359888", "to": "7000", "text": "ж" * 80, "data_coding": 8}
    )
    (whole,) = mo_pdus(payload, 0x34)
    assert whole.short_message == b"" and whole.data_coding == 8
    assert whole.tlvs[Tag.message_payload] == ("ж" * 80).encode("utf-16-be")
    assert (whole.source_addr_ton, whole.source_addr) == (1, "359888")
    first, second = mo_pdus(payload, 0x33)
    assert second.short_message[:6] == b"\x05\x00\x03\x07\x02\x02"
    assert first.short_message[:6] == b"\x05\x00\x03\x07\x02\x01" and first.esm_class == 0x40
    (short,) = mo_pdus(json.dumps({"id": 1, "from": "1", "to": "2", "text": "hi"}), 0x33)
    assert (short.short_message, short.esm_class, short.tlvs) == (b"hi", 0, {})


def test_an_smpp_route_names_a_receiving_credential(tmp_path: Path) -> None:
    two = gateway_settings(
        tmp_path,
        credential("acme1"),
        credential("acme2"),
        credential("tx", bind_types=["transmitter"]),
    )

    def fields(settings: Settings) -> list[str]:
        return [p.key for p in cross_check(settings, "test")]

    assert fields(_with_route(two)) == ["mo_routes[0].system_id"]
    assert fields(_with_route(two, system_id="tx")) == ["mo_routes[0].system_id"]
    assert fields(_with_route(two, system_id="acme2")) == []
    assert fields(_with_route(gateway_settings(tmp_path))) == []
