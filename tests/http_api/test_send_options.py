"""What a message asks of its route beyond the text: when to send it (``send_at``) and
in how many parts at most (the route's ``max_parts``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from smpp_engine.http_api import RouteText

from .conftest import Api, client_for, context_for


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


def _message(**fields: object) -> dict[str, object]:
    return {"to": "447700900123", "from": "ACME", "text": "Your bill is ready", **fields}


async def test_a_message_sent_at_a_later_time_is_not_claimed_before(api: Api) -> None:
    send_at = time.time() + 3600
    posted = await api.client.post("/v1/messages", json=_message(send_at=_iso(send_at)))
    assert posted.status_code == 201, posted.text
    message_id = posted.json()["id"]
    early = await api.store.claim("main", 10, owner="t", now=send_at - 1, lease=60)
    assert early == []
    due = await api.store.claim("main", 10, owner="t", now=send_at + 1, lease=60)
    assert [m.message_id for m in due] == [message_id]
    # The client's send time is kept: a route scheduling at the SMSC may take it early.
    assert due[0].send_at is not None and abs(due[0].send_at - send_at) < 1e-3
    again = await api.client.post("/v1/messages", json=_message(send_at=_iso(send_at)))
    lead = await api.store.claim("main", 10, owner="t", now=send_at - 100, lease=60, early=300)
    assert [m.message_id for m in lead] == [again.json()["id"]]


async def test_a_send_at_that_cannot_be_is_a_422_naming_it(sqlite_api: Api) -> None:
    now = time.time()
    cases = [
        _message(send_at="tomorrow"),
        _message(send_at="2030-01-01T09:00:00"),  # no offset: whose nine o'clock?
        _message(send_at=_iso(now - 3600)),
        _message(send_at=_iso(now + 15 * 24 * 3600)),
        _message(send_at=_iso(now + 600), validity=300),  # expired before it may go
    ]
    for body in cases:
        answer = await sqlite_api.client.post("/v1/messages", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == "send_at", answer.json()
        assert answer.json()["value"] == body["send_at"]
    # In a batch, the item is named.
    batch = {"messages": [_message(), _message(send_at="tomorrow")]}
    answer = await sqlite_api.client.post("/v1/messages/batch", json=batch)
    assert answer.status_code == 422
    assert answer.json()["field"] == "messages[1].send_at"
    assert sum((await sqlite_api.store.count_by_state()).values()) == 0


async def test_a_send_at_a_few_seconds_ago_is_now(sqlite_api: Api) -> None:
    # Clocks differ a little: a moment just gone is no mistake.
    posted = await sqlite_api.client.post(
        "/v1/messages", json=_message(send_at=_iso(time.time() - 5))
    )
    assert posted.status_code == 201, posted.text


async def test_a_text_longer_than_the_routes_max_parts_is_a_422(sqlite_api: Api) -> None:
    routes = {"main": RouteText(max_parts=2), "backup": RouteText()}
    context, _ = context_for(sqlite_api.store, route_texts=routes)
    text = "Your water bill is ready. " * 10  # 260 GSM characters: 2 parts
    longer = text * 2  # 4 parts
    async with client_for(context) as client:
        fits = await client.post("/v1/messages", json=_message(text=text))
        assert fits.status_code == 201 and fits.json()["parts"] == 2
        refused = await client.post("/v1/messages", json=_message(text=longer))
        assert refused.status_code == 422
        assert refused.json()["field"] == "text"
        assert "4 parts, the route allows at most 2" in refused.json()["detail"]
        elsewhere = await client.post("/v1/messages", json=_message(text=longer, route="backup"))
        assert elsewhere.status_code == 201


async def test_flash_is_kept_where_the_route_allows_it_and_a_422_elsewhere(api: Api) -> None:
    routes = {"main": RouteText(flash=True), "backup": RouteText()}
    context, _ = context_for(api.store, route_texts=routes)
    async with client_for(context) as client:
        posted = await client.post("/v1/messages", json=_message(flash=True))
        assert posted.status_code == 201, posted.text
        shown = await client.get(f"/v1/messages/{posted.json()['id']}")
        assert shown.json()["flash"] is True
        (claimed,) = await api.store.claim("main", 10, owner="t", now=time.time(), lease=60)
        assert claimed.flash
        plain = await client.post("/v1/messages", json=_message())
        assert (await client.get(f"/v1/messages/{plain.json()['id']}")).json()["flash"] is False
        refused = await client.post("/v1/messages", json=_message(flash=True, route="backup"))
        assert refused.status_code == 422
        assert refused.json()["field"] == "flash"
        assert "route 'backup' does not allow flash" in refused.json()["detail"]
        batch = {"messages": [_message(flash=True), _message(flash=True, route="backup")]}
        answer = await client.post("/v1/messages/batch", json=batch)
        assert answer.status_code == 422
        assert answer.json()["field"] == "messages[1].flash"
        # Not a boolean: refused as the other fields are.
        wrong = await client.post("/v1/messages", json=_message(flash="yes"))
        assert wrong.status_code == 422
    assert sum((await api.store.count_by_state()).values()) == 2


async def test_the_same_key_with_and_without_flash_is_another_message(api: Api) -> None:
    routes = {"main": RouteText(flash=True)}
    context, _ = context_for(api.store, route_texts=routes)
    async with client_for(context) as client:
        first = await client.post("/v1/messages", json=_message(idempotency_key="k1"))
        assert first.status_code == 201
        again = await client.post("/v1/messages", json=_message(idempotency_key="k1", flash=True))
        assert again.status_code == 409, again.text
