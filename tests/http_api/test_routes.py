"""``GET /v1/routes``: each route's account, binds, rate and restarts as the pipeline
says, and its messages by state as the store counts them."""

from __future__ import annotations

from smpp_engine.pipeline import RouteStatus

from .conftest import Api, client_for, context_for


async def test_each_route_shows_its_binds_rate_restarts_and_queue(api: Api) -> None:
    for text in ("one", "two"):
        posted = await api.client.post(
            "/v1/messages", json={"to": "447700900123", "from": "ACME", "text": text}
        )
        assert posted.status_code == 201
    statuses = {
        "main": RouteStatus(
            binds_up=2, binds=2, rate=50.0, rate_state="steady", smsc="smsc.a:2775",
            system_id="acme", failover_after=30.0,
        ),
        "backup": RouteStatus(
            binds_up=0, restarts=3, restarting=True, last_error="bind refused", binds=1,
            smsc="smsc.b:2775", system_id="acme2",
        ),
    }  # fmt: skip
    context, _ = context_for(api.store)
    context.route_status = lambda: statuses
    async with client_for(context) as client:
        answer = await client.get("/v1/routes")
    assert answer.status_code == 200
    main, backup = answer.json()["routes"]
    assert (main["name"], main["smsc"], main["system_id"]) == ("main", "smsc.a:2775", "acme")
    assert (main["binds"], main["binds_up"], main["rate"], main["rate_state"]) == (
        2,
        2,
        50.0,
        "steady",
    )
    assert main["queue"]["queued"] == 2 and main["queue"]["delivered"] == 0
    assert (backup["restarts"], backup["restarting"], backup["last_error"]) == (
        3,
        True,
        "bind refused",
    )
    assert backup["rate"] is None and sum(backup["queue"].values()) == 0
    assert main["failover_after"] == 30.0 and backup["failover_after"] is None


async def test_routes_need_a_key(api: Api) -> None:
    answer = await api.client.get("/v1/routes", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
