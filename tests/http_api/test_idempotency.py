"""Idempotency keys on both stores: each API key's own, and bound to one message.

A key sent again with the same message is the first answer (same id, 200,
duplicate); with another message it is a 409 naming the key, and nothing is
stored. Two API keys using one key string get two messages. In a batch, items
repeating a key with the same message are one message; with another, a 422
naming both items; an item whose key names another stored message is a 409
naming the item, and nothing of the batch is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smpp_engine.http_api.idempotency import client_key, scoped_key
from smpp_engine.store import Accepted, NewMessage

from .conftest import OTHER_KEY, Api

BODY = {"to": "447700900123", "from": "ACME", "text": "Your code is 1234"}


async def _count(api: Api) -> int:
    return sum((await api.store.count_by_state()).values())


async def test_the_same_key_and_message_is_the_first_answer(api: Api) -> None:
    first = await api.client.post("/v1/messages", json={**BODY, "idempotency_key": "order-77"})
    # The same message as accepted: an absent priority is the configured default.
    again = await api.client.post(
        "/v1/messages",
        json={**BODY, "from": "ACME", "priority": "transactional"},
        headers={"Idempotency-Key": "order-77"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert await _count(api) == 1


async def test_the_same_key_with_another_message_is_a_409_naming_the_key(api: Api) -> None:
    first = await api.client.post("/v1/messages", json={**BODY, "idempotency_key": "order-77"})
    assert first.status_code == 201
    for change in ({"text": "Your code is 9999"}, {"to": "447700900999"}, {"route": "backup"},
                   {"priority": "bulk"}, {"from": "OTHER"}):  # fmt: skip
        answer = await api.client.post(
            "/v1/messages", json={**BODY, **change}, headers={"Idempotency-Key": "order-77"}
        )
        assert answer.status_code == 409, (change, answer.text)
        error = answer.json()
        assert (error["field"], error["value"]) == ("idempotency_key", "order-77")
        assert str(first.json()["id"]) in error["detail"]
        field = "route" if "route" in change else next(iter(change))
        assert field in error["detail"], error
    assert await _count(api) == 1
    stored = await api.store.get(first.json()["id"])
    assert stored is not None and stored.text == BODY["text"]


async def test_two_api_keys_with_one_key_string_get_two_messages(api: Api) -> None:
    body = {**BODY, "idempotency_key": "order-77"}
    ops = await api.client.post("/v1/messages", json=body)
    billing = await api.client.post(
        "/v1/messages", json=body, headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )
    assert (ops.status_code, billing.status_code) == (201, 201)
    assert ops.json()["id"] != billing.json()["id"]
    ops_again = await api.client.post("/v1/messages", json=body)
    billing_again = await api.client.post(
        "/v1/messages", json=body, headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )
    assert ops_again.json()["id"] == ops.json()["id"]
    assert billing_again.json()["id"] == billing.json()["id"]
    assert await _count(api) == 2
    # A message shows its key as the client sent it.
    shown = await api.client.get(f"/v1/messages/{billing.json()['id']}")
    assert shown.json()["idempotency_key"] == "order-77"


async def test_a_client_cannot_take_the_key_of_a_billing_reply(api: Api) -> None:
    answer = await api.client.post("/v1/messages", json={**BODY, "idempotency_key": "reply:42"})
    assert answer.status_code == 201
    # The billing service's own reply:42 is still free: it would be stored, not silenced.
    assert await api.store.find_by_idempotency_key("reply:42") is None
    (reply,) = await api.store.accept(
        [NewMessage("main", "WATERCO", "447700900123", "Balance", idempotency_key="reply:42")],
        now=1.0,
    )
    assert not reply.duplicate


def test_scoped_keys_cannot_collide_across_key_names() -> None:
    assert scoped_key("a:b", "c") != scoped_key("a", "b:c")
    assert scoped_key("ops", "order-77") == "api:ops:order-77"
    assert client_key(scoped_key("a:b%", "c:d")) == "c:d"
    assert client_key("reply:42") == "reply:42"
    assert client_key(None) is None


def _item(n: int, **changes: Any) -> dict[str, Any]:
    return {"to": f"44770090{n:04d}", "from": "WATERCO", "text": f"Meter {n}",
            "idempotency_key": f"batch-{n}", **changes}  # fmt: skip


async def test_a_batch_repeating_a_key_with_the_same_message_stores_it_once(api: Api) -> None:
    items = [_item(0), _item(1), _item(0)]
    answer = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert answer.status_code == 201, answer.text
    first, second, repeat = answer.json()["messages"]
    assert repeat["id"] == first["id"] != second["id"]
    assert (first["duplicate"], repeat["duplicate"]) == (False, True)
    assert await _count(api) == 2


async def test_a_batch_repeating_a_key_with_another_message_is_a_422_naming_both(
    api: Api,
) -> None:
    items = [_item(0), _item(1), _item(2), _item(3), _item(1, text="Meter 1, again")]
    answer = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert (error["field"], error["value"]) == ("messages[4].idempotency_key", "batch-1")
    assert "messages[1]" in error["detail"] and "text" in error["detail"]
    assert await _count(api) == 0


async def test_a_batch_item_with_a_key_used_for_another_message_is_a_409(api: Api) -> None:
    single = await api.client.post("/v1/messages", json=_item(2))
    assert single.status_code == 201
    items = [_item(0), _item(1), _item(2, text="Meter 2, changed"), _item(3)]
    answer = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert answer.status_code == 409, answer.text
    error = answer.json()
    assert (error["field"], error["value"]) == ("messages[2].idempotency_key", "batch-2")
    assert await _count(api) == 1  # nothing of the batch was stored


async def test_a_batch_item_with_a_known_key_and_message_gets_the_first_answer(
    api: Api,
) -> None:
    single = await api.client.post("/v1/messages", json=_item(2))
    items = [_item(0), _item(2), _item(3)]
    answer = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert answer.status_code == 201, answer.text
    accepted = answer.json()["messages"]
    assert accepted[1] == {**single.json(), "duplicate": True}
    assert [a["duplicate"] for a in accepted] == [False, True, False]
    again = await api.client.post("/v1/messages/batch", json={"messages": items})
    assert again.status_code == 200
    assert [a["id"] for a in again.json()["messages"]] == [a["id"] for a in accepted]
    assert await _count(api) == 3


async def test_a_key_taken_by_a_concurrent_request_is_still_a_409(api: Api) -> None:
    """The key is free when looked at, then taken before the accept: the store says
    duplicate, and the message it holds differs."""
    real_accept = api.context.accept

    async def racing_accept(messages: Sequence[NewMessage]) -> list[Accepted]:
        rival = NewMessage("main", "ACME", "447700900123", "The rival's text",
                           idempotency_key=scoped_key("ops", "order-77"))  # fmt: skip
        await real_accept([rival])
        return await real_accept(messages)

    api.context.accept = racing_accept
    answer = await api.client.post("/v1/messages", json={**BODY, "idempotency_key": "order-77"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["field"] == "idempotency_key"
    assert await _count(api) == 1
