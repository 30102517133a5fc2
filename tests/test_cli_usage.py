"""``smpp-engine usage`` and ``smpp-engine callbacks``: the store's figures for invoicing,
and the callback dead letters listed and replayed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from smpp_engine.store import NewMessage, open_store
from smpp_engine.store.callbacks import CallbackStore, OutboxStatus

from .test_cli import run

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def _message(tenant: str | None, parts: int = 1) -> NewMessage:
    return NewMessage(
        smsc="sim",
        source="ACME",
        destination="447700900001",
        text="x",
        parts=parts,
        tenant=tenant,
        callback_url="https://hooks.example/sms",
        callback_events=frozenset({"accepted"}),
    )


async def test_usage_as_csv_json_and_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    async with open_store(url) as store:
        await store.accept([_message("acme", 3), _message("acme"), _message(None)], now=T0)
        await store.accept([_message("beta")], now=T0 + 86_400)
    csv = run("usage", "--from", "2027-01-15", "--to", "2027-01-16", "--csv", "--store", url)
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout == (
        "day,tenant,state,messages,parts\n"
        "2027-01-15,,queued,1,1\n"
        "2027-01-15,acme,queued,2,4\n"
        "2027-01-16,beta,queued,1,1\n"
    )
    one = run("usage", "--from", "2027-01-16", "--tenant", "beta", "--json", "--store", url)
    assert json.loads(one.stdout)["rows"] == [
        {"day": "2027-01-16", "tenant": "beta", "state": "queued", "messages": 1, "parts": 1}
    ]
    lines = run("usage", "--from", "2027-01-15", "--store", url)
    assert "2027-01-15 acme queued 2 message(s) 4 part(s)" in lines.stdout


def test_usage_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    for arguments, said in (
        (["--from", "15.01.2027"], "--from: expected a day YYYY-MM-DD"),
        (["--from", "2027-01-15", "--to", "2027-01-01"], "--to: must not be before from"),
        (["--from", "2026-01-01", "--to", "2027-12-31"], "--to: at most 367 days"),
        (["--from", "2027-01-15", "--csv", "--json"], "give --csv or --json, not both"),
    ):
        done = run("usage", *arguments, "--store", url)
        assert done.returncode == 2, done
        assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1


async def test_dead_letters_are_listed_and_replayed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    async with open_store(url) as store:
        await store.accept([_message("acme"), _message("beta")], now=T0)
        outbox = cast(CallbackStore, store)
        for event in await outbox.claim_callbacks(owner="gw", now=T0, lease=60, limit=10):
            await outbox.callback_failed(
                event.event_id, owner="gw", status=OutboxStatus.DEAD, next_at=T0, error="HTTP 503"
            )
    listed = run("callbacks", "dead", "--json", "--store", url)
    assert [(e["tenant"], e["last_error"]) for e in json.loads(listed.stdout)["events"]] == [
        ("acme", "HTTP 503"),
        ("beta", "HTTP 503"),
    ]
    replayed = run("callbacks", "replay", "--tenant", "beta", "--store", url)
    assert replayed.stdout.strip() == "replayed 1 dead letter(s)"
    pending = run("callbacks", "pending", "--json", "--store", url)
    assert [e["tenant"] for e in json.loads(pending.stdout)["events"]] == ["beta"]
    left = run("callbacks", "dead", "--store", url)
    assert "acme" in left.stdout and "beta" not in left.stdout


async def test_mo_list_shows_what_was_kept(tmp_path: Path) -> None:
    from smpp_engine.store.mo import MoRoute, MoStore, NewMo  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'gw.db'}"
    async with open_store(url) as store:
        kept = cast(MoStore, store)
        await kept.keep_mo(NewMo("a", "sim", "3598", "5566", "hi", 0, 1, T0, MoRoute.UNROUTED))
        await kept.keep_mo(
            NewMo("b", "sim", "3598", "7000", "yo", 0, 1, T0, MoRoute.TENANT, "acme"),
            callback_url="https://hooks.example/mo",
        )
    unrouted = run("mo", "list", "--unrouted", "--json", "--store", url)
    assert [m["text"] for m in json.loads(unrouted.stdout)["messages"]] == ["hi"]
    lines = run("mo", "list", "--store", url)
    assert "3598 -> 7000 [tenant acme] yo" in lines.stdout
    assert "3598 -> 5566 [unrouted] hi" in lines.stdout
