"""Replies and notices are planned as their route splits text, not with the defaults."""

from __future__ import annotations

from pathlib import Path

from smpp_engine.billing.service import route_text
from smpp_engine.esme import EsmeConfig
from smpp_engine.pipeline import Pipeline, SmscRoute
from smpp_engine.protocol import (
    DEFAULT_PROFILE,
    Alphabet,
    Concatenation,
    TextProfile,
    plan_text,
)
from smpp_engine.store.sqlite import open_sqlite_store


async def test_the_pipeline_tells_how_a_route_splits_text(tmp_path: Path) -> None:
    esme = EsmeConfig(host="127.0.0.1", port=1, system_id="x", password="y")
    latin = TextProfile(default_alphabet=Alphabet.LATIN1)
    routes = [
        SmscRoute(
            name="payload", esme=esme, concatenation=Concatenation.PAYLOAD, text_profile=latin
        ),
        SmscRoute(name="plain", esme=esme),
    ]
    async with open_sqlite_store(tmp_path / "s.db") as store:
        pipeline = Pipeline(store, routes)
        assert route_text(pipeline, "payload") == (latin, Concatenation.PAYLOAD)
        assert route_text(pipeline, "plain") == (DEFAULT_PROFILE, Concatenation.UDH8)
        assert route_text(pipeline, "nowhere") == (DEFAULT_PROFILE, Concatenation.UDH8)
        assert route_text(store, "payload") == (DEFAULT_PROFILE, Concatenation.UDH8)
    # The difference matters: a reply planned with the defaults would be refused
    # by a message_payload route (one PDU, where the defaults plan two parts).
    text = "Your new balance is 12.34 EUR; the next reading is due on the 25th. " * 3
    assert plan_text(text).parts != plan_text(text, latin, Concatenation.PAYLOAD).parts
