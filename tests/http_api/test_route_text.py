"""Texts are checked at the door with their route's text profile and concatenation.

What the API accepts is what the route's dispatcher can send, in as many parts
as were stored: the part count, the encoding and "too long" all depend on the
SMSC's default alphabet, on whether it takes Latin-1 and on how long messages
are tied together.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smpp_engine.http_api import RouteText
from smpp_engine.pipeline import submit_parts
from smpp_engine.protocol import Alphabet, Concatenation, TextProfile, plan_text

from .conftest import ROUTE_TEXTS, Api, client_for, context_for
from .served import Served, served_api

ROUTES = {
    "main": RouteText(),
    "ia5": RouteText(TextProfile(default_alphabet=Alphabet.IA5), Concatenation.UDH16),
    "latin": RouteText(
        TextProfile(default_alphabet=Alphabet.LATIN1, allow_latin1=True), Concatenation.SAR
    ),
    "payload": RouteText(method=Concatenation.PAYLOAD),
}


def _message(text: str, route: str) -> dict[str, str]:
    return {"to": "447700900123", "from": "WATERCO", "text": text, "route": route}


async def test_the_encoding_is_the_routes(api: Api) -> None:
    # "€" is GSM 7-bit (an escape) but not ASCII: an IA5 SMSC cannot write it as such.
    on_main = await api.client.post("/v1/messages", json=_message("10 € due", "main"))
    on_backup = await api.client.post("/v1/messages", json=_message("10 € due", "backup"))
    assert (on_main.json()["encoding"], on_backup.json()["encoding"]) == ("GSM7", "UCS2")


async def test_the_part_count_is_the_routes(sqlite_api: Api) -> None:
    text = "Your water bill is ready. " * 40  # 1,040 GSM characters
    context, _ = context_for(sqlite_api.store, routes=list(ROUTES), route_texts=ROUTES)
    async with client_for(context) as client:
        parts = {}
        for route in ROUTES:
            answer = await client.post("/v1/messages", json=_message(text, route))
            assert answer.status_code == 201, answer.text
            stored = await sqlite_api.store.get(answer.json()["id"])
            assert stored is not None and stored.parts == answer.json()["parts"]
            parts[route] = stored.parts
    assert parts == {"main": 7, "ia5": 7, "latin": 7, "payload": 1}


async def test_a_text_too_long_for_the_routes_concatenation_is_a_422(api: Api) -> None:
    # 38,900 septets: 255 parts of 153 with 8-bit references, 256 of 152 with 16-bit ones.
    text = "a" * 38_900
    assert plan_text(text).parts == 255
    fits = await api.client.post("/v1/messages", json=_message(text, "main"))
    assert fits.status_code == 201, fits.text[:200]
    refused = await api.client.post("/v1/messages", json=_message(text, "backup"))
    assert refused.status_code == 422
    error = refused.json()
    assert error["field"] == "text"
    assert "backup" in error["detail"] and "256 parts" in error["detail"]


async def test_a_campaign_is_planned_with_its_routes_profile(api: Api) -> None:
    answers = {}
    for route in ("main", "backup"):
        created = await api.client.post(
            "/v1/campaigns",
            json={
                "name": f"bill-{route}",
                "template": "Bill: {amount} € due",
                "sender": "WATERCO",
                "route": route,
                "recipients": [{"msisdn": "447700900001", "fields": {"amount": "12.50"}}],
                "quiet_hours": {"weekday": None, "weekend": None},
            },
        )
        assert created.status_code == 201, created.text
        answers[route] = created.json()["ucs2_messages"]
    assert answers == {"main": 0, "backup": 1}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("route-text") / "store.db"
    with served_api(path, billing=False, routes=list(ROUTES), route_texts=ROUTES) as api:
        yield api


# Characters where profiles and concatenation methods disagree: GSM escapes,
# Latin-1 outside GSM, ASCII outside GSM, surrogate pairs, and plain letters.
_TRICKY = "a{}[]~^|\\€ÿ`@$Δ😀é\n"
texts = st.one_of(
    st.text(st.sampled_from(_TRICKY), min_size=1, max_size=2000),
    st.builds(
        lambda head, tail, n: head * n + tail,
        st.sampled_from(["a", "€", "😀", "é", "`"]),
        st.text(st.sampled_from(_TRICKY), max_size=5),
        st.sampled_from([66, 67, 70, 133, 134, 140, 152, 153, 160, 161, 306, 307]),
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts, route=st.sampled_from(list(ROUTES)))
def test_what_is_accepted_is_what_the_dispatcher_sends(
    served: Served, text: str, route: str
) -> None:
    answer = served.request("POST", "/v1/messages", json=_message(text, route))
    if answer.status_code == 422:
        assert answer.json()["field"] == "text"
        return
    assert answer.status_code == 201, answer.text
    claimed = served.run(lambda: served.store.claim(route, 10, owner="test", now=2e9, lease=120.0))
    (message,) = claimed
    assert message.message_id == answer.json()["id"]
    route_text = ROUTES[route]
    # The dispatcher's own call: it refuses a text that splits into other parts.
    pdus = submit_parts(message, profile=route_text.profile, method=route_text.method)
    assert len(pdus) == message.parts == answer.json()["parts"]


def test_the_shared_fixture_routes_differ() -> None:
    assert ROUTE_TEXTS["main"] != ROUTE_TEXTS["backup"]
