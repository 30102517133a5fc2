"""MO injection: in-process, scheduled, from CSV; long MO in parts; routing to accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from metrics import MO_MESSAGES, child
from smpp_engine.protocol import (
    DeliverSm,
    Reassembled,
    Reassembler,
    Tag,
    concatenation_info,
    decode_text,
)
from smpp_engine.simulator import MoError, Scenario, parse_scenario

from .helpers import bound, running

LONG_GSM = "Meter 100234 reading 4521.7 kWh accepted. " * 9  # 378 septets: 3 parts
LONG_CYRILLIC = "Здравейте, показанието на водомера е прието. " * 4  # noqa: RUF001 - 3 UCS-2 parts

ACCOUNTS = parse_scenario(
    {
        "accounts": [
            {"system_id": "billing", "password": "pw", "mo_destinations": ["5566"]},
            {"system_id": "support", "password": "pw", "mo_destinations": ["5567", "55678"]},
            {"system_id": "other", "password": "pw"},
        ]
    }
)


def reassemble(parts: list[DeliverSm]) -> str:
    reassembler = Reassembler(timeout=60, max_sets=10)
    result = None
    for pdu in reversed(parts):  # any order will do
        info = concatenation_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        assert info is not None
        result = reassembler.add(
            pdu.source_addr,
            info.reference,
            info.total,
            info.seqnum,
            info.payload,
            data_coding=pdu.data_coding,
            now=0.0,
            destination=pdu.destination_addr,
        )
    assert isinstance(result, Reassembled)
    return decode_text(result.payload, result.data_coding)


async def test_inject_short_mo() -> None:
    before = child(MO_MESSAGES, "simulator")._value.get()
    async with running() as sim, bound(sim.port) as esme:
        result = sim.inject_mo(source="359888123456", destination="5566", text="READ 1 2.5")
        assert result.parts == 1 and result.sent
        (pdu,) = await esme.wait_delivered(1)
        assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("359888123456", 1, 1)
        assert pdu.destination_addr == "5566"
        assert pdu.esm_class == 0
        assert decode_text(pdu.short_message, pdu.data_coding) == "READ 1 2.5"
        assert sim.mo_log.entries()[-1].text == "READ 1 2.5"
    assert child(MO_MESSAGES, "simulator")._value.get() == before + 1


@pytest.mark.parametrize("method", ["udh8", "udh16", "sar"])
@pytest.mark.parametrize("text", [LONG_GSM, LONG_CYRILLIC])
async def test_long_mo_in_parts_reassembles(method: str, text: str) -> None:
    async with running() as sim, bound(sim.port) as esme:
        result = sim.inject_mo(
            source="359888000001", destination="5566", text=text, concatenation=method
        )
        assert result.parts == 3
        parts = await esme.wait_delivered(3)
        assert all(bool(p.esm_class & 0x40) == method.startswith("udh") for p in parts)
        assert reassemble(parts) == text


async def test_long_mo_as_one_payload() -> None:
    async with running() as sim, bound(sim.port) as esme:
        sim.inject_mo(source="1", destination="5566", text=LONG_GSM, concatenation="payload")
        (pdu,) = await esme.wait_delivered(1)
        assert pdu.short_message == b""
        payload = pdu.tlvs[Tag.message_payload]
        assert isinstance(payload, bytes)
        assert decode_text(payload, pdu.data_coding) == LONG_GSM


async def test_forced_data_coding() -> None:
    async with running() as sim, bound(sim.port) as esme:
        sim.inject_mo(source="1", destination="2", text="hello", data_coding=8)
        (pdu,) = await esme.wait_delivered(1)
        assert pdu.data_coding == 8
        assert pdu.short_message == "hello".encode("utf-16-be")
        with pytest.raises(MoError) as caught:
            sim.inject_mo(source="1", destination="2", text="Здравей", data_coding=3)
        assert caught.value.field == "text"
        with pytest.raises(MoError) as caught:
            sim.inject_mo(source="1", destination="2")
        assert caught.value.field == "text"


async def test_mo_routing_to_accounts() -> None:
    async with (
        running(ACCOUNTS) as sim,
        bound(sim.port, "receiver", "billing", "pw") as billing,
        bound(sim.port, "receiver", "support", "pw") as support,
        bound(sim.port, "receiver", "other", "pw") as other,
    ):
        sim.inject_mo(source="1", destination="5566", text="to billing")
        sim.inject_mo(source="1", destination="556789", text="to support")
        sim.inject_mo(source="1", destination="0000", text="to other", system_id="other")
        (b,) = await billing.wait_delivered(1)
        (s,) = await support.wait_delivered(1)
        (o,) = await other.wait_delivered(1)
        assert [b.short_message, s.short_message, o.short_message] == [
            b"to billing",
            b"to support",
            b"to other",
        ]
        with pytest.raises(MoError) as caught:
            sim.inject_mo(source="1", destination="0000", text="nowhere")
        assert caught.value.field == "destination"
        with pytest.raises(MoError) as caught:
            sim.inject_mo(source="1", destination="5566", text="x", system_id="ghost")
        assert caught.value.field == "system_id"


async def test_mo_waits_for_a_receiver_and_skips_transmitters() -> None:
    async with running() as sim, bound(sim.port, "transmitter") as sender:
        result = sim.inject_mo(source="1", destination="5566", text=LONG_GSM)
        assert not result.sent
        assert sim.router.pending()["mo"] == 3
        async with bound(sim.port, "receiver") as receiver:
            parts = await receiver.wait_delivered(3)
            assert reassemble(parts) == LONG_GSM
        assert sender.delivered == []


async def test_scheduled_mo(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario(
        {
            "mo": {
                "messages": [
                    {
                        "at": 5,
                        "every": 10,
                        "count": 3,
                        "source": "1",
                        "destination": "5566",
                        "text": "tick",
                    },
                    {"at": 12, "source": "2", "destination": "5566", "text": "once"},
                ]
            }
        }
    )
    async with running(scenario) as sim, bound(sim.port) as esme:
        start = trio.current_time()
        arrivals: list[tuple[float, bytes]] = []
        while len(arrivals) < 4:
            count = len(esme.delivered)
            await esme.wait_delivered(count + 1)
            arrivals.append(
                (round(trio.current_time() - start), esme.delivered[count].short_message)
            )
        assert arrivals == [(5, b"tick"), (12, b"once"), (15, b"tick"), (25, b"tick")]
        await trio.sleep(60)
        assert len(esme.delivered) == 4


async def test_mo_csv_in_the_scenario(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    (tmp_path / "mo.csv").write_text(
        "source,destination,text,delay\n"
        "359888000001,5566,READ 1 1.5,0\n"
        '359888000002,5566,"PAY, please",2\n'
        f"359888000003,5566,{LONG_GSM.strip()},0\n"
    )
    (tmp_path / "csv.toml").write_text("[mo]\ncsv = 'mo.csv'\ncsv_start = 3\n")
    async with running(str(tmp_path / "csv.toml")) as sim, bound(sim.port) as esme:
        start = trio.current_time()
        await esme.wait_delivered(1)
        assert round(trio.current_time() - start) == 3
        parts = await esme.wait_delivered(5)
        assert round(trio.current_time() - start) == 5
        assert parts[0].short_message == b"READ 1 1.5"
        assert parts[1].short_message == b"PAY, please"
        assert reassemble(parts[2:]) == LONG_GSM.strip()


async def test_play_csv_on_demand(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    path = tmp_path / "readings.csv"
    path.write_text("".join(f"3598880{i:05d},5566,READ {i},0.001\n" for i in range(1000)))
    async with running() as sim, bound(sim.port) as esme:
        assert sim.play_csv(path) == 1000
        delivered = await esme.wait_delivered(1000)
        assert [d.short_message for d in delivered[:3]] == [b"READ 0", b"READ 1", b"READ 2"]
        assert sim.mo_log.injected == 1000


async def test_scheduled_mo_stops_when_the_scenario_changes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    scenario = parse_scenario(
        {
            "mo": {
                "messages": [
                    {"every": 1, "count": 0, "source": "1", "destination": "2", "text": "tick"}
                ]
            }
        }
    )
    async with running(scenario) as sim, bound(sim.port) as esme:
        await trio.sleep(3.5)
        sim.set_scenario(Scenario())
        seen = len(esme.delivered)
        assert seen == 4  # at 0, 1, 2, 3
        await trio.sleep(10)
        assert len(esme.delivered) == seen


async def test_mo_log_times_for_reply_latency(autojump_clock: trio.testing.MockClock) -> None:
    scenario = parse_scenario({"mo": {"log_cap": 2}})
    async with running(scenario) as sim:
        sim.inject_mo(source="359888000001", destination="5566", text="READ 1 2.5")
        (held,) = sim.mo_log.entries()
        assert held.sent_at is None  # no receiver yet
        await trio.sleep(5)
        async with bound(sim.port) as esme:
            await esme.wait_delivered(1)
            assert held.sent_at is not None and held.sent_at - held.time >= 5
            await trio.sleep(0.25)  # the "billing core" thinks
            await esme.submit(destination_addr="359888000001", short_message=b"New debt 3.10")
            (reply,) = sim.messages(destination="359888000001")
            assert reply.submitted_at - held.sent_at >= 0.25
        for n in range(3):
            sim.inject_mo(source=f"{n}", destination="5566", text="x")
        assert [e.source for e in sim.mo_log.entries()] == ["1", "2"]
        assert sim.mo_log.injected == 4
