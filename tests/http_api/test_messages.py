"""POST and GET /v1/messages on both stores: durable ids, idempotency, 422s by field."""
# ruff: noqa: RUF001 - one text is Russian

from __future__ import annotations

from smpp_engine.protocol import plan_text
from smpp_engine.store import MessageState
from throttling import Priority

from .conftest import ROUTE_TEXTS, ROUTES, Api


async def test_a_message_is_stored_before_its_id_is_answered(api: Api) -> None:
    answer = await api.client.post(
        "/v1/messages", json={"to": "+44 7700 900123", "from": "WATERCO", "text": "Hello"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body == {"id": body["id"], "parts": 1, "encoding": "GSM7", "duplicate": False}
    stored = await api.store.get(body["id"])
    assert stored is not None
    assert (stored.destination, stored.source, stored.smsc) == ("447700900123", "WATERCO", "main")
    assert stored.state is MessageState.QUEUED
    assert stored.priority == 1  # transactional by default


async def test_a_message_without_a_priority_takes_the_configured_default(
    sqlite_api: Api,
) -> None:
    sqlite_api.context.default_priority = Priority.BULK
    posted = await sqlite_api.client.post(
        "/v1/messages", json={"to": "447700900124", "from": "WATERCO", "text": "Newsletter"}
    )
    urgent = await sqlite_api.client.post(
        "/v1/messages",
        json={"to": "447700900125", "from": "WATERCO", "text": "Outage", "priority": "interactive"},
    )
    stored = await sqlite_api.store.get(posted.json()["id"])
    named = await sqlite_api.store.get(urgent.json()["id"])
    assert stored is not None and named is not None
    assert (stored.priority, named.priority) == (0, 2)


async def test_encoding_and_parts_come_from_the_text_planner(api: Api) -> None:
    text = "Счёт за воду: 1027,20 р. Оплатите до 15.04, чтобы избежать пени. " * 2
    answer = await api.client.post(
        "/v1/messages",
        json={"to": "79161234567", "from": "+79160000000", "text": text, "priority": "bulk",
              "route": "backup"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    backup = ROUTE_TEXTS["backup"]
    plan = plan_text(text, backup.profile, backup.method)
    assert answer.json()["parts"] == plan.parts >= 2
    assert answer.json()["encoding"] == "UCS2"
    stored = await api.store.get(answer.json()["id"])
    assert stored is not None
    assert (stored.parts, stored.smsc, stored.priority) == (plan.parts, "backup", 0)


async def test_a_repeated_idempotency_key_answers_200_with_the_same_id(api: Api) -> None:
    body = {"to": "447700900123", "from": "ACME", "text": "Your code is 1234"}
    first = await api.client.post("/v1/messages", json={**body, "idempotency_key": "order-77"})
    again = await api.client.post(
        "/v1/messages", json=body, headers={"Idempotency-Key": "order-77"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    counts = await api.store.count_by_state()
    assert sum(counts.values()) == 1


async def test_the_idempotency_header_and_body_key_must_agree(sqlite_api: Api) -> None:
    answer = await sqlite_api.client.post(
        "/v1/messages",
        json={"to": "447700900123", "from": "ACME", "text": "Hi", "idempotency_key": "a"},
        headers={"Idempotency-Key": "b"},
    )
    assert answer.status_code == 422
    assert (answer.json()["field"], answer.json()["value"]) == ("idempotency_key", "a")


async def test_the_message_view_has_its_parts_and_events(api: Api) -> None:
    posted = await api.client.post(
        "/v1/messages",
        json={"to": "447700900123", "from": "ACME", "text": "Hi", "validity": 600},
    )
    message_id = posted.json()["id"]
    answer = await api.client.get(f"/v1/messages/{message_id}")
    assert answer.status_code == 200
    view = answer.json()
    assert view["id"] == message_id
    assert view["state"] == "queued"
    assert view["route"] == ROUTES[0]
    assert [event["event"] for event in view["events"]] == ["accepted"]
    assert (await api.client.get("/v1/messages/999999")).status_code == 404
    assert (await api.client.get(f"/v1/messages/{2**70}")).status_code == 404


async def test_bad_input_is_a_422_naming_the_field_and_the_value(sqlite_api: Api) -> None:
    client = sqlite_api.client
    good = {"to": "447700900123", "from": "ACME", "text": "Hi"}
    cases = [
        ({**good, "to": "call me"}, "to", "call me"),
        ({**good, "from": "A-VERY-LONG-SENDER"}, "from", "A-VERY-LONG-SENDER"),
        ({**good, "priority": "urgent"}, "priority", "urgent"),
        ({**good, "priority": "BULK"}, "priority", "BULK"),  # labels only, as the settings
        ({**good, "priority": 2}, "priority", 2),  # not the value the stores keep
        ({**good, "route": "nowhere"}, "route", "nowhere"),
        ({**good, "validity": -5}, "validity", -5),
        ({**good, "validity": 60, "expires_at": "2099-01-01T00:00:00Z"}, "validity", 60),
        ({**good, "expires_at": "tomorrow"}, "expires_at", "tomorrow"),
        ({**good, "text": "x" * 39_999}, "text", None),
        ({**good, "text": "nul\x00byte"}, "text", "nul\x00byte"),
        ({key: value for key, value in good.items() if key != "text"}, "text", None),
        ({**good, "colour": "blue"}, "colour", "blue"),
    ]
    for body, field, value in cases:
        answer = await client.post("/v1/messages", json=body)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()
        assert error["field"] == field, error
        assert field in error["detail"]
        if value is not None:
            assert error["value"] == value
    assert sum((await sqlite_api.store.count_by_state()).values()) == 0


async def test_a_body_that_is_not_a_json_object_is_a_400(sqlite_api: Api) -> None:
    for raw in (b"", b"[1, 2]", b"{not json", b'{"to": NaN}'):
        answer = await sqlite_api.client.post(
            "/v1/messages", content=raw, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, raw
        assert answer.json()["error"] == "bad request"


async def test_a_batch_is_stored_in_one_go_in_order(api: Api) -> None:
    items = [
        {"to": f"44770090{n:04d}", "from": "WATERCO", "text": f"Reading due, meter {n}",
         "idempotency_key": f"batch-{n}"}
        for n in range(5)
    ]  # fmt: skip
    items.append({"to": "447700909999", "from": "WATERCO", "text": "Привет", "priority": "bulk"})
    answer = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert answer.status_code == 201, answer.text
    accepted = answer.json()["messages"]
    assert [a["encoding"] for a in accepted] == ["GSM7"] * 5 + ["UCS2"]
    for item, a in zip(items, accepted, strict=True):
        stored = await api.store.get(a["id"])
        assert stored is not None and stored.destination == item["to"]
    again = await api.client.post("/v1/messages/batch", json={"messages": items[:5]})
    assert again.status_code == 200  # every key known: nothing new
    assert [a["id"] for a in again.json()["messages"]] == [a["id"] for a in accepted[:5]]
    assert all(a["duplicate"] for a in again.json()["messages"])


async def test_one_bad_item_refuses_the_whole_batch_naming_it(api: Api) -> None:
    good = {"to": "447700900001", "from": "WATERCO", "text": "Hello"}
    bad = {"to": "not-a-number", "from": "WATERCO", "text": "Hello"}
    before = await api.store.count_by_state()
    answer = await api.client.post("/v1/messages/batch", json={"messages": [good, bad, good]})
    assert answer.status_code == 422
    assert answer.json()["field"] == "messages[1].to"
    assert "not-a-number" in answer.json()["detail"]
    assert await api.store.count_by_state() == before  # nothing stored
    too_many = await api.client.post("/v1/messages/batch", json={"messages": [good] * 1001})
    assert too_many.status_code == 422
    empty = await api.client.post("/v1/messages/batch", json={"messages": []})
    assert empty.status_code == 422
