"""A gateway with its SMPP server face on a free port, the built-in simulator upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from smpp_engine.app import Gateway, Started
from smpp_engine.settings import (
    Settings,
    SmppCredential,
    SmppServerSettings,
    TenantSettings,
    hash_smpp_password,
    load_settings,
)

PASSWORD = "secret1"
DIGEST = hash_smpp_password(PASSWORD, iterations=1000)


def credential(system_id: str = "acme1", **fields: Any) -> SmppCredential:
    return SmppCredential(system_id=system_id, password_digest=DIGEST, **fields)


def gateway_settings(
    tmp_path: Path,
    *credentials: SmppCredential,
    tenant: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    store_url: str | None = None,
) -> Settings:
    base = load_settings(None, {})
    creds = list(credentials) or [credential()]
    return base.model_copy(
        update={
            "store": base.store.model_copy(
                update={"url": store_url or f"sqlite:///{tmp_path / 'gw.db'}"}
            ),
            "simulator": base.simulator.model_copy(update={"port": 0}),
            "http": base.http.model_copy(update={"enabled": False}),
            "tenants": [TenantSettings(name="acme", smpp=creds, **(tenant or {}))],
            "smpp_server": SmppServerSettings(port=0, **(server or {})),
        }
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Gateway, Started]]:
    gateway = Gateway(settings)
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        try:
            yield gateway, started
        finally:
            gateway.stop()
            gateway.stop()
            nursery.cancel_scope.cancel()
