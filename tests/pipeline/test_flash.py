"""Flash SMS at the simulator, on both store backends: a message that asks for it goes
with data_coding message class 0 on every part (0x10 for GSM 7-bit, 0x18 for UCS-2),
the alphabet the route's text profile chose kept; one that does not goes as before."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio

from smpp_engine.esme import EsmeConfig
from smpp_engine.pipeline import Pipeline, ScheduleForm, SmscRoute, SubmitOptions
from smpp_engine.protocol import Alphabet, TextProfile, parse_smpp_time
from smpp_engine.protocol.coding import alphabet_of
from smpp_engine.simulator import Simulator
from smpp_engine.store import MessageState, Store, open_store

from ..simulator.helpers import running
from ..store.conftest import store_url_of
from .test_pipeline import make_route, message, scenario, settled

FLASH = SubmitOptions(flash=True)
LONG_UCS2 = "Привет! Ваш платёж получен, спасибо. " * 4  # Cyrillic: UCS-2, 3 parts


@asynccontextmanager
async def pipeline_of(
    kind: str, tmp_path: Path, sim: Simulator, **route: Any
) -> AsyncIterator[tuple[Pipeline, Store]]:
    async with (
        store_url_of(kind, tmp_path) as url,
        open_store(url) as store,
        trio.open_nursery() as nursery,
    ):
        pipeline = Pipeline(store, [make_route(sim, **route)], housekeeping=0.2)
        await nursery.start(pipeline.run)
        try:
            yield pipeline, store
        finally:
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_every_part_of_a_flash_message_carries_message_class_0(
    kind: str, tmp_path: Path
) -> None:
    async with (
        running(scenario()) as sim,
        pipeline_of(kind, tmp_path, sim, submit_options=FLASH) as (pipeline, store),
    ):
        short, long, plain = await pipeline.accept(
            [
                message("447700900001", flash=True),
                message("447700900002", LONG_UCS2, flash=True),
                message("447700900003"),
            ]
        )
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.DELIVERED, 0) == 3)
        codings: dict[str, list[int]] = {}
        for record in sim.messages(system_id="gateway"):
            codings.setdefault(record.pdu.destination_addr, []).append(record.data_coding)
        views = [await store.get(m.message_id) for m in (short, long, plain)]
    assert codings["447700900001"] == [0x10]
    assert codings["447700900002"] == [0x18, 0x18, 0x18]
    assert codings["447700900003"] == [0x00]
    # The class bits keep the alphabet: the SMSC reads the same text.
    assert alphabet_of(0x10) is Alphabet.GSM7 and alphabet_of(0x18) is Alphabet.UCS2
    assert [v.flash for v in views if v is not None] == [True, True, False]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_flash_message_on_a_route_that_does_not_allow_it_fails_with_the_reason(
    kind: str, tmp_path: Path
) -> None:
    # Accepted where flash was allowed, then on a route that does not (failover, a
    # reload): it is not sent as an ordinary SMS in silence.
    async with (
        running(scenario()) as sim,
        pipeline_of(kind, tmp_path, sim) as (pipeline, store),
    ):
        (flash,) = await pipeline.accept([message("447700900001", flash=True)])
        with trio.fail_after(30):
            await settled(store, lambda c: c.get(MessageState.REJECTED, 0) == 1)
        found = await store.get(flash.message_id)
        sent = sim.messages(system_id="gateway")
    assert sent == []
    assert found is not None
    assert any("flash is not allowed on this route" in e.detail for e in found.events)


def test_a_route_allowing_flash_needs_a_profile_whose_codings_carry_a_class() -> None:
    esme = EsmeConfig(host="127.0.0.1", port=2775, system_id="gateway", password="secret")
    assert SmscRoute(name="r", esme=esme, submit_options=FLASH).submit_options.flash
    for profile in (
        TextProfile(default_alphabet=Alphabet.LATIN1),
        TextProfile(default_alphabet=Alphabet.IA5),
        TextProfile(allow_latin1=True),
    ):
        with pytest.raises(ValueError, match="flash needs text written as GSM 7-bit or UCS-2"):
            SmscRoute(name="r", esme=esme, submit_options=FLASH, text_profile=profile)
        # Without flash the profile is as good as ever.
        SmscRoute(name="r", esme=esme, text_profile=profile)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_route_scheduling_at_the_smsc_hands_a_message_over_before_its_time(
    kind: str, tmp_path: Path
) -> None:
    smsc_holds = SubmitOptions(schedule=ScheduleForm.SMSC, schedule_lead=300.0)
    send_at = float(int(time.time()) + 120)
    async with (
        running(scenario()) as sim,
        pipeline_of(kind, tmp_path, sim, submit_options=smsc_holds) as (pipeline, store),
    ):
        (scheduled,) = await pipeline.accept(
            [message("447700900001", not_before=send_at, send_at=send_at)]
        )
        # Two minutes before its time it is at the SMSC (the simulator does not hold it:
        # it may report it delivered at once).
        with trio.fail_after(30):
            await settled(
                store,
                lambda c: c.get(MessageState.SUBMITTED, 0) + c.get(MessageState.DELIVERED, 0) == 1,
            )
        (record,) = sim.messages(system_id="gateway")
    stamp = record.pdu.schedule_delivery_time
    assert stamp.endswith("000+")  # absolute, UTC: offset 00 quarter hours, "+"
    assert parse_smpp_time(stamp, datetime.now(UTC)) == datetime.fromtimestamp(send_at, UTC)
    assert scheduled.message_id


def test_the_schedule_time_is_sent_only_while_ahead_and_only_when_the_smsc_holds() -> None:
    smsc = SubmitOptions(schedule=ScheduleForm.SMSC)
    assert smsc.claim_early == 300.0 and SubmitOptions().claim_early == 0.0
    assert smsc.schedule_delivery_time(1_800_000_100.0, 1_800_000_000.0) == "270115080140000+"
    # Late (a retry after its time) or none: at once.
    assert smsc.schedule_delivery_time(1_800_000_100.0, 1_800_000_100.0) == ""
    assert smsc.schedule_delivery_time(None, 1_800_000_000.0) == ""
    assert SubmitOptions().schedule_delivery_time(1_800_000_100.0, 1_800_000_000.0) == ""
