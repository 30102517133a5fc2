"""From an HTTP POST to a delivery receipt: the API served on loopback TCP, a real pipeline,
the real simulator as the SMSC."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from smpp_engine.http_api import ApiContext, Readiness, create_app, serve_api
from smpp_engine.pipeline import Pipeline
from smpp_engine.settings import hash_api_key
from smpp_engine.store.sqlite import open_sqlite_store

from ..pipeline.test_pipeline import ROUTE, make_route, scenario
from ..simulator.helpers import running
from .conftest import AUTH, KEY


async def test_a_posted_message_is_delivered_and_its_receipt_shown(tmp_path: Path) -> None:
    async with (
        running(scenario()) as sim,
        open_sqlite_store(tmp_path / "e2e.db") as store,
        trio.open_nursery() as nursery,
    ):
        pipeline = Pipeline(store, [make_route(sim)], housekeeping=0.2)
        await nursery.start(pipeline.run)

        async def ready() -> Readiness:
            return Readiness({ROUTE: 1})

        context = ApiContext(
            store=store,
            accept=pipeline.accept,
            routes=[ROUTE],
            api_key_digests={"ops": hash_api_key(KEY)},
            metrics_public=False,
            readiness=ready,
        )
        port = await nursery.start(
            lambda task_status: serve_api(
                create_app(context), host="127.0.0.1", port=0, task_status=task_status
            )
        )
        text = "Your meter reading is due this week. Reply with the value. " * 3
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=AUTH) as client:
            posted = await client.post(
                "/v1/messages", json={"to": "+447700900777", "from": "WATERCO", "text": text}
            )
            assert posted.status_code == 201, posted.text
            accepted = posted.json()
            assert accepted["parts"] == 2
            with trio.fail_after(30):
                while True:
                    view = (await client.get(f"/v1/messages/{accepted['id']}")).json()
                    if view["state"] == "delivered":
                        break
                    await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    records = sim.messages(destination="447700900777")
    assert {part["smsc_message_id"] for part in view["part_details"]} == {
        record.message_id for record in records
    }
    for part in view["part_details"]:
        assert part["state"] == "delivered"
        assert part["submit_status"] == {"code": 0, "name": "ESME_ROK"}
        assert part["receipt"]["received_at"] is not None
        assert part["bind"]
    events = [event["event"] for event in view["events"]]
    assert events[0] == "accepted"
