"""The HTTP control API, over real HTTP to Hypercorn."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from smpp_engine.protocol import CommandStatus, EnquireLink, SubmitSm

from .helpers import bound, http, raw, running

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


async def test_stats() -> None:
    async with running(control=True) as sim, bound(sim.port, system_id="acme") as esme:
        await esme.submit()
        status, body = await http(sim.control_port, "GET", "/stats")
        assert status == 200
        assert body["scenario"] == "default"
        assert body["binds"] == 1
        assert body["messages"]["accepted"] == 1
        (connection,) = body["connections"]
        assert connection["system_id"] == "acme"
        assert connection["state"] == "BOUND_TRX"


async def test_messages_with_filters() -> None:
    async with running(control=True) as sim, bound(sim.port, system_id="acme") as esme:
        first = await esme.submit(destination_addr="359888000001", short_message=b"one")
        await esme.submit(destination_addr="359888000002", short_message=b"two")
        await esme.submit(destination_addr="359888000001", short_message=b"three")
        status, body = await http(sim.control_port, "GET", "/messages?destination=359888000001")
        assert status == 200
        assert [m["text"] for m in body["messages"]] == ["one", "three"]
        assert body["count"] == 2 and body["held"] == 3 and body["dropped"] == 0
        message = body["messages"][0]
        assert message["message_id"] == first.message_id
        assert message["system_id"] == "acme"
        assert message["source"] == "12345"
        assert message["data_coding"] == 0 and message["esm_class"] == 0
        assert message["short_message"] == b"one".hex()
        assert message["state"] == "DELIVRD"
        status, body = await http(
            sim.control_port, "GET", f"/messages?message_id={first.message_id}"
        )
        assert [m["text"] for m in body["messages"]] == ["one"]
        status, body = await http(sim.control_port, "GET", "/messages?limit=1")
        assert [m["text"] for m in body["messages"]] == ["three"]
        status, body = await http(sim.control_port, "GET", "/messages?limit=zero")
        assert (status, body["field"]) == (400, "limit")
        status, body = await http(sim.control_port, "GET", "/messages?colour=red")
        assert (status, body["field"]) == (400, "colour")


async def test_post_mo() -> None:
    async with running(control=True) as sim, bound(sim.port) as esme:
        status, body = await http(
            sim.control_port,
            "POST",
            "/mo",
            {"source": "359888123456", "destination": "5566", "text": "READ 7 1.25"},
        )
        assert status == 200
        assert body == {"parts": 1, "system_id": None, "sent": True}
        (pdu,) = await esme.wait_delivered(1)
        assert pdu.short_message == b"READ 7 1.25"
        status, body = await http(sim.control_port, "GET", "/mo")
        assert body["injected"] == 1 and body["messages"][0]["text"] == "READ 7 1.25"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "1", "destination": "2"}, "text"),
        ({"source": "", "destination": "2", "text": "x"}, "source"),
        (
            {"source": "1", "destination": "2", "text": "x", "concatenation": "glue"},
            "concatenation",
        ),
        ({"source": "1", "destination": "2", "text": "x", "colour": "red"}, "colour"),
        ({"csv": "/no/such/file.csv"}, "csv"),
        ([1, 2], "body"),
    ],
)
async def test_post_mo_bad_requests(body: object, field: str) -> None:
    async with running(control=True) as sim:
        status, answer = await http(sim.control_port, "POST", "/mo", body)
        assert status == 400
        assert answer["field"] == field
        assert answer["error"]


async def test_post_mo_bad_json() -> None:
    async with running(control=True) as sim:
        status, answer = await http(sim.control_port, "POST", "/mo", raw=b"{nope")
        assert (status, answer["field"]) == (400, "body")
        assert "invalid JSON" in answer["error"]


async def test_post_mo_csv_from_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "mo.csv").write_text("1,5566,first\n2,5566,second\n")
    async with running(control=True, scenario_dir=tmp_path) as sim, bound(sim.port) as esme:
        status, body = await http(sim.control_port, "POST", "/mo", {"csv": "mo.csv"})
        assert (status, body) == (200, {"rows": 2})
        delivered = await esme.wait_delivered(2)
        assert [d.short_message for d in delivered] == [b"first", b"second"]


async def test_post_mo_csv_text() -> None:
    async with running(control=True) as sim, bound(sim.port) as esme:
        text = 'source,destination,text\n1,5566,first\n2,5566,"second, with a comma"\n'
        status, body = await http(sim.control_port, "POST", "/mo", {"csv_text": text})
        assert (status, body) == (200, {"rows": 2})
        delivered = await esme.wait_delivered(2)
        assert [d.short_message for d in delivered] == [b"first", b"second, with a comma"]


async def test_switch_scenario_by_name_file_and_inline() -> None:
    async with running(control=True, scenario_dir=SCENARIOS) as sim, raw(sim.port) as client:
        status, body = await http(sim.control_port, "POST", "/scenario", {"name": "flaky"})
        assert (status, body["scenario"]) == (200, "flaky")
        assert sim.scenario.name == "flaky"
        status, body = await http(sim.control_port, "POST", "/scenario", {"file": "phased.toml"})
        assert (status, body["scenario"], body["phases"], body["active"]) == (
            200,
            "phased",
            4,
            "healthy",
        )
        status, body = await http(
            sim.control_port,
            "POST",
            "/scenario",
            {"scenario": {"name": "errors", "submit": {"statuses": {"ESME_RSYSERR": 1}}}},
        )
        assert (status, body["scenario"]) == (200, "errors")
        await client.send(SubmitSm(source_addr="1", destination_addr="2"))
        (response,) = await client.receive(1)
        assert response.command_status == CommandStatus.ESME_RSYSERR


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "no-such-scenario"}, "name"),
        ({"file": "/no/such.toml"}, "file"),
        ({"scenario": {"throttle": {"tps": -1}}}, "scenario.throttle.tps"),
        ({"scenario": {"receipts": {"states": {"BOGUS": 1}}}}, "scenario.receipts.states.BOGUS"),
        ({"name": "healthy", "file": "x.toml"}, "body"),
        ({}, "body"),
        ({"nme": "healthy"}, "nme"),
    ],
)
async def test_switch_scenario_bad_requests(body: object, field: str) -> None:
    async with running(control=True, scenario_dir=SCENARIOS) as sim:
        status, answer = await http(sim.control_port, "POST", "/scenario", body)
        assert status == 400
        assert answer["field"] == field
        assert sim.scenario.name == "default"  # unchanged


async def test_faults_over_http(autojump_clock: trio.testing.MockClock) -> None:
    async with running(control=True) as sim, raw(sim.port) as client:
        status, body = await http(sim.control_port, "POST", "/faults/stall", {"duration": 5})
        assert (status, body["fault"], body["connections"]) == (200, "stall", 1)
        await client.send(EnquireLink())
        with trio.move_on_after(3) as waited:
            await client.receive(1)
        assert waited.cancelled_caught
        (response,) = await client.receive(1)
        assert response.command_name == "enquire_link_resp"
        status, body = await http(sim.control_port, "POST", "/faults/drop")
        assert (status, body["connections"]) == (200, 1)
        assert await client.receive_data() == b""


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/faults/explode", None, "kind"),
        ("/faults/stall", {"duration": 0}, "duration"),
        ("/faults/malformed", {"variant": "odd"}, "variant"),
        ("/faults/drop", {"when": "now"}, "when"),
    ],
)
async def test_fault_bad_requests(path: str, body: object, field: str) -> None:
    async with running(control=True) as sim:
        status, answer = await http(sim.control_port, "POST", path, body)
        assert (status, answer["field"]) == (400, field)


async def test_metrics_endpoint() -> None:
    async with running(control=True) as sim, bound(sim.port) as esme:
        await esme.submit(registered_delivery=1)
        await esme.wait_delivered(1)
        await esme.submit()
        status, text = await http(sim.control_port, "GET", "/metrics")
        assert status == 200
        assert (
            'smpp_pdus_total{command="submit_sm",direction="received",side="simulator",status="ESME_ROK"}'
            in text
        )
        assert 'smpp_receipts_total{side="simulator",state="DELIVRD"}' in text
        assert 'smpp_simulator_scenario{scenario="default"} 1.0' in text
        assert 'smpp_binds{side="simulator"}' in text
