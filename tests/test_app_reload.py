"""Reloading a running gateway (SIGHUP, POST /v1/admin/reload) with messages flowing.

Real components: a settings file on disk, the built-in simulator over loopback
TCP, the HTTP API over a real socket. While batches of messages are posted and
sent, the file is changed and reloaded: a route changed (drained and started
again), one added, one removed (its queued messages stay in the store), a key
removed; a file that does not load is refused and changes nothing. Every
message accepted is delivered exactly once.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import trio

from smpp_engine.app import Gateway, Started, reload_on_sighup
from smpp_engine.settings import hash_api_key, load_settings

ADMIN, SENDER = "admin-key-0123456789", "sender-key-0123456789"
BATCHES, BATCH = 20, 50


def settings_text(tmp_path: Path, *, routes: dict[str, int], sender: bool = True) -> str:
    keys = [f'{{ name = "ops", sha256 = "{hash_api_key(ADMIN)}" }}']
    if sender:
        keys.append(
            f'{{ name = "app", sha256 = "{hash_api_key(SENDER)}", scopes = ["send", "read"] }}'
        )
    smsc = "".join(
        f"""
[[smsc]]
name = "{name}"
host = "127.0.0.1"
port = 2775
system_id = "engine"
password = "sim-only"
window = {window}
"""
        for name, window in routes.items()
    )
    return f"""
[store]
url = "sqlite:///{tmp_path / "gw.db"}"

[http]
port = 0
api_keys = [{", ".join(keys)}]

[simulator]
enabled = true
port = 0
scenario = "healthy"
system_id = "engine"
password = "sim-only"
{smsc}
"""


async def test_reloads_under_load_lose_and_repeat_nothing(tmp_path: Path) -> None:
    file = tmp_path / "gw.toml"
    file.write_text(settings_text(tmp_path, routes={"default": 32, "spare": 8}))
    gateway = Gateway(load_settings(file, {}), load_settings=lambda: load_settings(file, {}))
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        await nursery.start(reload_on_sighup, gateway)
        base = f"http://127.0.0.1:{started.http_port}"
        admin = {"Authorization": f"Bearer {ADMIN}"}
        async with (
            httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as client,
            httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {SENDER}"}, timeout=30
            ) as app,
        ):
            # The spare route is paused, so its messages are still queued when it goes.
            paused = await client.post("/v1/routes/spare/pause")
            assert paused.status_code == 200 and paused.json()["paused"]
            spare = [
                {"to": f"+4477008{i:05d}", "from": "ACME", "text": "spare", "route": "spare"}
                for i in range(3)
            ]
            assert (
                await app.post("/v1/messages/batch", json={"messages": spare})
            ).status_code == 201
            accepted: list[int] = []

            async def post_batches() -> None:
                for batch in range(BATCHES):
                    messages = [
                        {"to": f"+44770{batch:03d}{i:04d}", "from": "ACME", "text": "Meter due"}
                        for i in range(BATCH)
                    ]
                    posted = await client.post("/v1/messages/batch", json={"messages": messages})
                    assert posted.status_code == 201, posted.text
                    accepted.extend(m["id"] for m in posted.json()["messages"])
                    await trio.sleep(0.05)

            async with trio.open_nursery() as load:
                load.start_soon(post_batches)
                await trio.sleep(0.2)
                # 1: the default route's window changes, a route is added, spare removed,
                # the app's key removed: over HTTP.
                file.write_text(
                    settings_text(tmp_path, routes={"default": 16, "extra": 8}, sender=False)
                )
                reloaded = await client.post("/v1/admin/reload")
                assert reloaded.status_code == 200, reloaded.text
                report = reloaded.json()
                assert report["routes"] == {
                    "added": ["extra"],
                    "removed": ["spare"],
                    "changed": ["default"],
                }
                assert report["queued_on_removed"] == {"spare": 3}
                assert report["keys"] == 1
                assert (await app.get("/v1/routes")).status_code == 401
                # 2: a file that does not load changes nothing.
                file.write_text(settings_text(tmp_path, routes={"default": 0}))
                refused = await client.post("/v1/admin/reload")
                assert refused.status_code == 422
                assert refused.json()["problems"][0]["key"].startswith("smsc")
                # 3: SIGHUP, with the default route changed back (extra is as it was).
                file.write_text(settings_text(tmp_path, routes={"default": 32, "extra": 8}))
                os.kill(os.getpid(), signal.SIGHUP)
                with trio.fail_after(30):
                    while gateway.pipeline.dispatchers["default"].route.esme.window_size != 32:  # type: ignore[union-attr]
                        await trio.sleep(0.02)
            routes = {r["name"] for r in (await client.get("/v1/routes")).json()["routes"]}
            assert routes == {"default", "extra"}
            with trio.fail_after(60):
                while True:
                    states = [
                        (await client.get(f"/v1/messages/{m}")).json()["state"]
                        for m in accepted[-5:]
                    ]
                    counts = await _delivered(gateway)
                    if counts >= BATCHES * BATCH and set(states) == {"delivered"}:
                        break
                    await trio.sleep(0.1)
            sent = [r.destination for r in gateway.simulator.messages(system_id="engine")]
        gateway.stop()
        await gateway.wait_stopped()
        nursery.cancel_scope.cancel()  # the SIGHUP receiver
    assert len(accepted) == BATCHES * BATCH
    assert len(sent) == len(set(sent)) == BATCHES * BATCH  # spare's three were never sent


async def _delivered(gateway: Gateway) -> int:
    assert gateway.store is not None
    counts: dict[Any, int] = await gateway.store.count_by_state(smsc="default")
    return sum(n for state, n in counts.items() if state == "delivered")


async def test_a_reload_applies_new_routing_rules_to_the_next_message(tmp_path: Path) -> None:
    """The routing table is part of what a reload swaps: a rule's route changed in the
    file takes the next message there, and the message view names the rule."""
    file = tmp_path / "gw.toml"
    base_text = settings_text(tmp_path, routes={"default": 8, "spare": 8})

    def with_rule(route: str) -> str:
        return (
            base_text
            + f"""
[routing]
default = ["default"]

[[routing.rules]]
name = "uk"
prefixes = ["44"]
routes = ["{route}"]
"""
        )

    file.write_text(with_rule("default"))
    gateway = Gateway(load_settings(file, {}), load_settings=lambda: load_settings(file, {}))
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        base = f"http://127.0.0.1:{started.http_port}"
        admin = {"Authorization": f"Bearer {ADMIN}"}
        async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as client:

            async def send() -> dict[str, Any]:
                body = {"to": "+447700900123", "from": "ACME", "text": "Meter due"}
                posted = await client.post("/v1/messages", json=body)
                assert posted.status_code == 201, posted.text
                shown = await client.get(f"/v1/messages/{posted.json()['id']}")
                found: dict[str, Any] = shown.json()
                return found

            before = await send()
            assert (before["route"], before["route_rule"]) == ("default", "uk")
            file.write_text(with_rule("spare"))
            assert (await client.post("/v1/admin/reload")).status_code == 200
            after = await send()
            assert (after["route"], after["route_rule"]) == ("spare", "uk")
        gateway.stop()


async def test_a_reload_adds_a_tenant_and_its_key_sees_only_its_own(tmp_path: Path) -> None:
    """Keys and the tenants they act for are swapped together: a key added by a reload
    with ``tenant`` set is that tenant's from its first request (its own messages
    only, its senders only), never an operator's key for a moment."""
    file = tmp_path / "gw.toml"
    text = settings_text(tmp_path, routes={"default": 8})
    file.write_text(text)
    gateway = Gateway(load_settings(file, {}), load_settings=lambda: load_settings(file, {}))
    tenant_key = "tenant-key-0123456789"
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        base = f"http://127.0.0.1:{started.http_port}"
        admin = {"Authorization": f"Bearer {ADMIN}"}
        async with (
            httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as client,
            httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {tenant_key}"}, timeout=30
            ) as acme,
        ):
            body = {"to": "+447700900123", "from": "OPS", "text": "operator's"}
            operators = (await client.post("/v1/messages", json=body)).json()["id"]
            entry = (
                f'{{ name = "acme-app", sha256 = "{hash_api_key(tenant_key)}", tenant = "acme" }}'
            )
            file.write_text(
                text.replace("api_keys = [", f"api_keys = [{entry}, ")
                + '\n[[tenants]]\nname = "acme"\nsenders = ["ACME"]\n'
            )
            assert (await client.post("/v1/admin/reload")).status_code == 200
            assert (await acme.get(f"/v1/messages/{operators}")).status_code == 404
            refused = await acme.post("/v1/messages", json=body)
            assert refused.status_code == 422 and "from" in refused.text
            own = await acme.post("/v1/messages", json={**body, "from": "ACME"})
            assert own.status_code == 201, own.text
            assert (await acme.get(f"/v1/messages/{own.json()['id']}")).status_code == 200
        gateway.stop()
