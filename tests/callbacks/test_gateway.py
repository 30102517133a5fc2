"""The whole gateway: a tenant's message posted over HTTP, sent to the simulator, and its
state changes posted, signed, to the tenant's receiver on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import trio

from smpp_engine.app import Gateway, Started
from smpp_engine.callbacks import verify_signature
from smpp_engine.settings import ApiKey, TenantSettings, hash_api_key

from ..test_app import settings
from .receiver import receiving

TENANT_KEY = "tenant-key-acme-0123"
SECRET = "acme-callback-secret"


async def test_a_tenants_message_has_its_fate_posted_to_its_receiver(tmp_path: Path) -> None:
    async with receiving() as receiver:
        base = settings(tmp_path)
        configured = base.model_copy(
            update={
                "http": base.http.model_copy(
                    update={
                        "api_keys": (
                            *base.http.api_keys,
                            ApiKey(name="acme", sha256=hash_api_key(TENANT_KEY), tenant="acme"),
                        )
                    }
                ),
                "tenants": [
                    TenantSettings(
                        name="acme",
                        senders=["ACME"],
                        default_sender="ACME",
                        callback_url=receiver.url("/hooks/sms"),
                        callback_secret=SECRET,
                    )
                ],
                "callbacks": base.callbacks.model_copy(update={"poll": 0.05}),
            }
        )
        gateway = Gateway(configured)
        async with trio.open_nursery() as nursery:
            started: Started = await nursery.start(gateway.run)
            url = f"http://127.0.0.1:{started.http_port}"
            headers = {"Authorization": f"Bearer {TENANT_KEY}"}
            async with httpx.AsyncClient(base_url=url, headers=headers) as client:
                posted = await client.post(
                    "/v1/messages",
                    json={
                        "to": "+447700900123",
                        "text": "Your bill is ready",
                        "callback_events": ["accepted", "submitted", "delivered"],
                    },
                )
                assert posted.status_code == 201, posted.text
                message_id = posted.json()["id"]
            with trio.fail_after(60):
                while len(receiver.delivered) < 3:
                    await trio.sleep(0.05)
            gateway.stop()
    states = []
    for received in receiver.delivered:
        verify_signature(SECRET, received.headers, received.body, now=time.time())
        event = json.loads(received.body)
        assert (event["message_id"], event["tenant"]) == (message_id, "acme")
        states.append(event["state"])
    assert states == ["accepted", "submitted", "delivered"]
