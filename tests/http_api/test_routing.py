"""``POST /v1/messages`` with a routing table: the rules choose, a named route is honoured,
and the message view shows the rule and the plan."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from smpp_engine.routing import MessageKind, RouteRule, RoutingTable
from smpp_engine.store import Rerouted

from .conftest import OTHER_KEY, Api, client_for, context_for

TABLE = RoutingTable(
    rules=(
        RouteRule(
            "uk-bulk", ("backup", "main"), prefixes=("44",), kinds=frozenset({MessageKind.BULK})
        ),
        RouteRule("billing-client", ("main", "backup"), clients=frozenset({"billing"})),
    ),
    default=("main",),
)


@pytest.fixture
async def routed(api: Api) -> AsyncIterator[Api]:
    context, _ = context_for(api.store)
    context = dataclasses.replace(context, routing=TABLE)
    async with client_for(context) as client:
        yield Api(api.store, context, client)


def _body(to: str = "447700900123", **fields: object) -> dict[str, object]:
    return {"to": to, "from": "WATERCO", "text": "Your bill is ready", **fields}


async def _view(client: httpx.AsyncClient, answer: httpx.Response) -> dict[str, object]:
    assert answer.status_code in (200, 201), answer.text
    view = await client.get(f"/v1/messages/{answer.json()['id']}")
    assert view.status_code == 200
    found: dict[str, object] = view.json()
    return found


async def test_the_first_matching_rule_chooses_and_is_shown(routed: Api) -> None:
    bulk = await _view(
        routed.client, await routed.client.post("/v1/messages", json=_body(priority="bulk"))
    )
    assert (bulk["route"], bulk["route_rule"], bulk["route_plan"]) == (
        "backup",
        "uk-bulk",
        ["backup", "main"],
    )
    other = await _view(routed.client, await routed.client.post("/v1/messages", json=_body()))
    assert (other["route"], other["route_rule"], other["route_plan"]) == (
        "main",
        "default",
        ["main"],
    )


async def test_the_client_is_the_api_key_s_name(routed: Api) -> None:
    answer = await routed.client.post(
        "/v1/messages",
        json=_body(to="359888123456"),
        headers={"Authorization": f"Bearer {OTHER_KEY}"},
    )
    view = await _view(routed.client, answer)
    assert (view["route_rule"], view["route_plan"]) == ("billing-client", ["main", "backup"])


async def test_a_named_route_is_honoured_and_recorded_explicit(routed: Api) -> None:
    answer = await routed.client.post("/v1/messages", json=_body(priority="bulk", route="main"))
    view = await _view(routed.client, answer)
    assert (view["route"], view["route_rule"], view["route_plan"]) == ("main", "explicit", ["main"])


async def test_a_batch_is_routed_item_by_item(routed: Api) -> None:
    answer = await routed.client.post(
        "/v1/messages/batch",
        json={"messages": [_body(priority="bulk"), _body(to="359888123456", priority="bulk")]},
    )
    assert answer.status_code == 201, answer.text
    ids = [m["id"] for m in answer.json()["messages"]]
    rules = []
    for message_id in ids:
        view = await routed.client.get(f"/v1/messages/{message_id}")
        rules.append(view.json()["route_rule"])
    assert rules == ["uk-bulk", "default"]


async def test_a_retried_request_is_the_same_message_after_it_failed_over(routed: Api) -> None:
    body = _body(priority="bulk", idempotency_key="bill-42")
    first = await routed.client.post("/v1/messages", json=body)
    assert first.status_code == 201
    message_id = first.json()["id"]
    await routed.store.record([Rerouted(message_id, "backup", "main", time.time(), "test")])
    again = await routed.client.post("/v1/messages", json=body)
    assert (again.status_code, again.json()["id"]) == (200, message_id)
    view = await _view(routed.client, again)
    assert (view["route"], view["route_plan"]) == ("main", ["backup", "main"])


async def test_without_a_table_nothing_is_recorded(api: Api) -> None:
    view = await _view(
        api.client, await api.client.post("/v1/messages", json=_body(route="backup"))
    )
    assert (view["route"], view["route_rule"], view["route_plan"]) == ("backup", None, [])
