"""The gateway service as configured: the built-in simulator, a route, the HTTP API, a stop.

Real components throughout: the embedded default settings (with a temporary
SQLite store and free ports), the simulator over loopback TCP, the HTTP API over
a real socket, and the graceful stop.
"""

from __future__ import annotations

import gc
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import trio

from smpp_engine.app import Gateway, Started, serve_until_signalled
from smpp_engine.heap import YOUNG_COLLECTION_THRESHOLD
from smpp_engine.settings import ApiKey, Settings, hash_api_key, load_settings
from smpp_engine.store import (
    BillingStore,
    JobStore,
    JobView,
    StoreError,
    import_billing_data,
    load_billing_json,
    open_store,
)

KEY = "test-key-0123456789"


def settings(tmp_path: Path, **http: Any) -> Settings:
    base = load_settings(None, {})
    return base.model_copy(
        update={
            "store": base.store.model_copy(update={"url": f"sqlite:///{tmp_path / 'gw.db'}"}),
            "simulator": base.simulator.model_copy(update={"port": 0}),
            "http": base.http.model_copy(
                update={
                    "port": 0,
                    "api_keys": (ApiKey(name="ops", sha256=hash_api_key(KEY)),),
                    **http,
                }
            ),
        }
    )


async def wait_for(client: httpx.AsyncClient, path: str, until: Any) -> dict[str, Any]:
    with trio.fail_after(30):
        while True:
            response = await client.get(path)
            body: dict[str, Any] = response.json()
            if until(response.status_code, body):
                return body
            await trio.sleep(0.05)


async def test_a_message_posted_over_http_is_delivered_and_the_stop_is_graceful(
    tmp_path: Path,
) -> None:
    gateway = Gateway(settings(tmp_path))
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        assert started.routes == ("default",)
        assert started.simulator_port and started.http_port
        base = f"http://127.0.0.1:{started.http_port}"
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            ready = await wait_for(client, "/readyz", lambda status, _: status == 200)
            assert ready  # every route has a bind up and the store answers
            posted = await client.post(
                "/v1/messages",
                json={"to": "+447700900123", "from": "ACME", "text": "Your meter reading is due"},
            )
            assert posted.status_code == 201, posted.text
            message_id = posted.json()["id"]
            found = await wait_for(
                client,
                f"/v1/messages/{message_id}",
                lambda _, body: body.get("state") == "delivered",
            )
            metrics = (await client.get("/metrics")).text
            (route,) = (await client.get("/v1/routes")).json()["routes"]
        assert (route["name"], route["smsc"]) == ("default", f"127.0.0.1:{started.simulator_port}")
        assert route["binds_up"] == route["binds"] >= 1
        assert route["queue"]["delivered"] == 1 and route["restarts"] == 0
        [part] = found["part_details"]
        assert part["smsc_message_id"] and part["receipt"] is not None
        [record] = gateway.simulator.messages()
        assert record.destination == "447700900123"
        assert "smpp_window_size" in metrics and "smpp_http_requests_total" in metrics
        gateway.stop()
        with trio.fail_after(15):
            await gateway.wait_stopped()  # returns without the nursery being cancelled
    assert gateway.store is not None
    assert gateway.simulator.stats()["binds"] == 0  # unbound, not dropped


async def test_readyz_says_which_route_has_no_bind(tmp_path: Path) -> None:
    config = settings(tmp_path)
    # A second route to an SMSC nobody listens on: never bound.
    dead = config.smsc[0].model_copy(update={"name": "dead", "host": "127.0.0.2", "port": 9})
    config = config.model_copy(update={"smsc": (*config.smsc, dead)})
    gateway = Gateway(config)
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{started.http_port}") as client:
            await wait_for(
                client, "/readyz", lambda _, body: body["routes"]["default"]["binds_up"] == 1
            )
            response = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
        gateway.stop()
        gateway.stop()  # a second stop does not wait for the dead route
        nursery.cancel_scope.cancel()
    assert response.status_code == 503
    assert response.json()["routes_without_binds"] == ["dead"]


async def test_billing_enabled_without_a_utility_is_refused_at_start(tmp_path: Path) -> None:
    config = settings(tmp_path)
    config = config.model_copy(
        update={"billing": config.billing.model_copy(update={"enabled": True})}
    )
    gateway = Gateway(config)
    errors: list[StoreError] = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(gateway.run)
    except* StoreError as group:
        errors.extend(e for e in group.exceptions if isinstance(e, StoreError))
    [error] = errors  # alone: nothing had started
    assert "billing import" in str(error)
    assert gateway.simulator is None  # refused before the simulator started


async def test_a_billing_gateway_schedules_closing_the_month_and_the_notices(
    tmp_path: Path,
) -> None:
    config = settings(tmp_path)
    config = config.model_copy(
        update={"billing": config.billing.model_copy(update={"enabled": True})}
    )
    async with open_store(config.store.url) as store:
        example = load_billing_json(str(Path(__file__).parents[1] / "config/billing-example.json"))
        assert (await import_billing_data(cast(BillingStore, store), example)).ok
    jobs = await _scheduled(config)
    assert sorted(jobs) == ["close-period", "notices"]
    moscow = ZoneInfo("Europe/Moscow")  # the utility's zone
    closing = datetime.fromtimestamp(jobs["close-period"].next_due, moscow)
    assert (closing.day, closing.hour, closing.minute) == (1, 2, 0)
    notices = datetime.fromtimestamp(jobs["notices"].next_due, moscow)
    assert (notices.hour, notices.minute) == (10, 0)
    assert all(job.runs == 0 for job in jobs.values())


async def test_scheduled_jobs_can_be_turned_off(tmp_path: Path) -> None:
    config = settings(tmp_path)
    config = config.model_copy(
        update={
            "billing": config.billing.model_copy(update={"enabled": True, "close_period_day": 0}),
            "notices": config.notices.model_copy(update={"run_at": "off"}),
        }
    )
    async with open_store(config.store.url) as store:
        example = load_billing_json(str(Path(__file__).parents[1] / "config/billing-example.json"))
        assert (await import_billing_data(cast(BillingStore, store), example)).ok
    gateway = Gateway(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(gateway.run)
        assert gateway.jobs is None
        gateway.stop()


async def test_the_billing_batch_settings_reach_the_self_service(tmp_path: Path) -> None:
    config = settings(tmp_path)
    billing = {"enabled": True, "batch": 4, "batch_workers": 3}
    config = config.model_copy(update={"billing": config.billing.model_copy(update=billing)})
    async with open_store(config.store.url) as store:
        example = load_billing_json(str(Path(__file__).parents[1] / "config/billing-example.json"))
        assert (await import_billing_data(cast(BillingStore, store), example)).ok
    gateway = Gateway(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(gateway.run)
        assert gateway.billing is not None
        assert (gateway.billing.batch, gateway.billing.batch_workers) == (4, 3)
        gateway.stop()


async def _scheduled(config: Settings) -> dict[str, JobView]:
    gateway = Gateway(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(gateway.run)
        assert gateway.jobs is not None and gateway.store is not None
        await gateway.jobs.run_due()  # not due yet: scheduled
        found = {job.name: job for job in await cast(JobStore, gateway.store).list_jobs()}
        gateway.stop()
    return found


async def test_retention_turned_on_schedules_its_daily_job_without_billing(tmp_path: Path) -> None:
    config = settings(tmp_path)
    config = config.model_copy(
        update={"retention": config.retention.model_copy(update={"finished_after_days": 30})}
    )
    jobs = await _scheduled(config)
    assert list(jobs) == ["retention"]
    due = datetime.fromtimestamp(jobs["retention"].next_due, ZoneInfo("UTC"))
    assert (due.hour, due.minute) == (3, 30)


def test_a_started_gateway_sets_its_start_up_objects_aside_from_full_collections(
    tmp_path: Path,
) -> None:
    """A full collection walks every tracked object on the event loop's thread: what
    start-up built is frozen once the gateway serves, so those passes skip it, and
    the young generation is collected less often."""
    gc.unfreeze()
    thresholds = gc.get_threshold()
    gateway = Gateway(settings(tmp_path))
    seen: list[tuple[int, tuple[int, int, int]]] = []

    def on_started(_: Started) -> None:
        seen.append((gc.get_freeze_count(), gc.get_threshold()))
        gateway.stop()

    try:
        serve_until_signalled(gateway, on_started)
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
        gc.set_threshold(*thresholds)
    ((frozen, (young, middle, oldest)),) = seen
    # The modules, settings and application of a started gateway: tens of thousands.
    assert frozen > 10_000, frozen
    assert (young, middle, oldest) == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
