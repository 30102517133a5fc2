"""A tenant's throughput across gateway processes and across the two faces, on both stores.

Two :class:`TenantRates` on two stores opened on one database stand for two
processes; the wall clock they renew under is a variable, so a process's death is
a clock moved past its lease, not a wait. The HTTP API and the SMPP server face of
one process take from one limiter per tenant.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from smpp_engine.http_api.tenancy import tenant_gate
from smpp_engine.smpp_server.accounts import Accounts
from smpp_engine.store import RateShareStore, open_store
from smpp_engine.tenant_rates import TTL, TenantRates

from ..smpp_server.conftest import credential, gateway_settings
from ..store.conftest import store_url_of

THROUGHPUT = {"acme": 10.0, "beta": None}
NOW = 1_000.0


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_processes_share_a_tenants_throughput(tmp_path: Path, backend: str) -> None:
    wall = Wall()
    async with (
        store_url_of(backend, tmp_path) as url,
        open_store(url) as first_store,
        open_store(url) as second_store,
    ):
        assert isinstance(first_store, RateShareStore)
        assert isinstance(second_store, RateShareStore)
        a = TenantRates(THROUGHPUT, holder="process-a", clock=wall)
        b = TenantRates(THROUGHPUT, holder="process-b", clock=wall)
        await a.renew(first_store)
        assert (a.holders("acme"), a.rate("acme")) == (1, 10.0)
        await b.renew(second_store)
        await a.renew(first_store)
        assert (a.rate("acme"), b.rate("acme")) == (5.0, 5.0)
        # Each process takes its half (a second's burst) and no more.
        assert a.take("acme", 5, NOW) == 0.0
        assert a.take("acme", 1, NOW) > 0
        assert b.take("acme", 5, NOW) == 0.0
        assert b.take("acme", 1, NOW) > 0
        # A tenant without a throughput is never held back, nor kept in the store.
        assert a.take("beta", 1_000, NOW) == 0.0 and a.rate("beta") is None
        # b dies: its row runs out TTL seconds after its last renewal; a takes it all.
        wall.now += TTL + 0.1
        await a.renew(first_store)
        assert (a.holders("acme"), a.rate("acme")) == (1, 10.0)
        # b comes back and stops cleanly: its row is deleted at once.
        async with trio.open_nursery() as nursery:
            await nursery.start(b.keep_renewed, second_store)
            await a.renew(first_store)
            assert a.holders("acme") == 2
            nursery.cancel_scope.cancel()
        await a.renew(first_store)
        assert a.holders("acme") == 1
        # A reload changing the throughput keeps the sharing.
        a.update({"acme": 20.0})
        await a.renew(first_store)
        assert a.rate("acme") == 20.0


def test_http_and_the_smpp_face_take_from_one_limiter(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, credential("acme1"), tenant={"throughput": 3.0})
    rates = TenantRates({t.name: t.throughput for t in settings.tenants}, holder="p")
    http_tenant = tenant_gate(settings, rates).tenants["acme"]
    account = Accounts.of(settings, rates).by_system_id["acme1"]
    assert http_tenant.take(2, NOW) == 0.0  # two over HTTP
    assert account.take(NOW)  # the third over SMPP
    assert not account.take(NOW)  # the tenant's second is spent, whichever face asks
    assert http_tenant.take(1, NOW) > 0
