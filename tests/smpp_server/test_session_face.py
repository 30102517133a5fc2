"""The SMSC side of the server face, over loopback TCP with a raw ESME: binds and their
refusals, enquire_link both ways, unbind, malformed PDUs, the bind timeout."""

from __future__ import annotations

import struct
from pathlib import Path

import trio
from prometheus_client import REGISTRY

from smpp_engine.protocol import (
    BindTransceiver,
    CommandStatus,
    EnquireLink,
    GenericNack,
    Unbind,
    Unbound,
)
from smpp_engine.protocol.stream import PduStream

from .conftest import credential, gateway_settings, running
from .esme import RawEsme

S = CommandStatus
NO_DELAY = {"failed_bind_delay": 0.0}


def _bind_failures(side: str, bind: str, status: str) -> float:
    labels = {"side": side, "bind": bind, "status": status}
    return REGISTRY.get_sample_value("smpp_bind_failures_total", labels) or 0.0


async def test_binds_are_checked_as_the_spec_says(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path,
        credential("acme1", max_binds=1),
        credential("acme-tx", bind_types=["transmitter"]),
        server=NO_DELAY,
    )
    async with running(settings) as (_, started):
        port = started.smpp_server_port
        assert port
        refused = ("server", "acme1", "ESME_RINVPASWD")
        before = _bind_failures(*refused)
        esme = await RawEsme.connect(port)
        assert await esme.bind(password="wrong") == S.ESME_RINVPASWD
        assert _bind_failures(*refused) == before + 1
        assert await esme.bind(system_id="nobody") == S.ESME_RINVSYSID
        assert await esme.bind(system_id="acme-tx", kind="receiver") == S.ESME_RBINDFAIL
        # Refused binds leave the session open: the right one binds.
        assert await esme.bind() == 0
        # A bind on a bound session: the session answers ESME_RALYBND by itself.
        again = await esme.send_raw_bind(BindTransceiver(system_id="acme1", password="secret1"))
        assert again == S.ESME_RALYBND
        # One bind more than max_binds, on another connection.
        other = await RawEsme.connect(port)
        assert await other.bind() == S.ESME_RBINDFAIL
        # Unbound: the slot is free again.
        await esme.send(Unbind())
        unbound = await esme.wait_for(lambda e: isinstance(e, Unbound))
        assert isinstance(unbound, Unbound) and unbound.status == 0
        await esme.closed_by_peer()
        assert await other.bind() == 0
        await other.aclose()


async def test_enquire_link_both_ways(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, server={"enquire_link_interval": 0.2})
    async with running(settings) as (_, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        sequence = await esme.send(EnquireLink())
        assert (await esme.response(sequence)).command_status == 0
        # Quiet for longer than the interval: the gateway asks (read off the wire here:
        # our own session would answer it unseen).
        stream = PduStream()
        with trio.fail_after(30):
            while True:
                stream.feed(await esme.stream.receive_some(65536))
                pdu = stream.next_pdu()
                if isinstance(pdu, EnquireLink):
                    break
        await esme.aclose()


async def test_malformed_pdus_are_nacked_and_the_link_kept_where_it_can_be(
    tmp_path: Path,
) -> None:
    async with running(gateway_settings(tmp_path)) as (_, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        # An unknown command_id: generic_nack ESME_RINVCMDID, and the session goes on.
        await esme.send_raw(struct.pack(">IIII", 16, 0x00000077, 0, 4242))
        nack = await esme.wait_for(
            lambda e: (
                getattr(e, "response", None) is not None and isinstance(e.response, GenericNack)
            )  # type: ignore[attr-defined]
        )
        assert nack.response.command_status == S.ESME_RINVCMDID  # type: ignore[attr-defined]
        sequence = await esme.send(EnquireLink())
        answer = await esme.response(sequence)
        assert answer.command_status == 0
        # A command_length under 16 cannot be framed: generic_nack, then closed.
        await esme.send_raw(struct.pack(">IIII", 8, 0x00000015, 0, 4243))
        await esme.closed_by_peer()


async def test_a_connection_that_does_not_bind_in_time_is_closed(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, server={"bind_timeout": 0.3})
    async with running(settings) as (gateway, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        await esme.closed_by_peer()
        assert gateway.smpp_server.bind_timeouts == 1


async def test_a_submit_that_cannot_be_decoded_is_answered_and_the_bind_goes_on(
    tmp_path: Path,
) -> None:
    async with running(gateway_settings(tmp_path)) as (_, started):
        assert started.smpp_server_port
        esme = await RawEsme.connect(started.smpp_server_port)
        assert await esme.bind() == 0
        # A submit_sm whose body stops inside service_type (no NUL): its own response,
        # with the decoder's status, not a closed connection.
        body = b"CMT"
        await esme.send_raw(struct.pack(">IIII", 16 + len(body), 0x00000004, 0, 4244) + body)
        answer = await esme.wait_for(
            lambda e: getattr(getattr(e, "response", None), "sequence_number", 0) == 4244
        )
        status = answer.response.command_status  # type: ignore[attr-defined]
        assert status != 0
        sequence = await esme.send(EnquireLink())
        assert (await esme.response(sequence)).command_status == 0
