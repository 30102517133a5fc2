"""A notices run on both stores: pages of contexts, each notice stored and queued once.

The demo utility (every third consumer owes 20-300, one phone per account, last
read 30 days ago) with a debt threshold of 100 is counted independently from
its generator: debt notices for the consumers owing more than 100, reading
reminders on the 20th for those whose last reading is of an earlier month.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from billing_core import (
    FrequencyCaps,
    NoticeKind,
    NoticeRecord,
    NoticeRules,
    Period,
    Service,
    UtilitySettings,
)
from smpp_engine.billing import run_notices
from smpp_engine.demo.utility import consumer, utility_document
from smpp_engine.store import (
    Accepted,
    BillingStore,
    NewCampaign,
    NewMessage,
    Store,
    import_billing_data,
)
from smpp_engine.store.billing.codec import settings_from_json, settings_to_json
from throttling import Priority

from .conftest import open_test_store
from .test_billing_repository import NOW, example

D = Decimal
CONSUMERS = 120
TODAY = date(2024, 3, 20)  # a reminder day
RUN_AT = datetime(2024, 3, 20, 9, tzinfo=UTC)  # 09:00 UTC: no quiet hours
THRESHOLD = 100


class StoreQueue:
    """The store's accept, as the command line queues; records every message id."""

    def __init__(self, store: Store, *, fail_on_call: int | None = None) -> None:
        self.store = store
        self.calls = 0
        self.fail_on_call = fail_on_call
        self.ids: list[int] = []

    async def accept(self, messages: Sequence[NewMessage]) -> list[Accepted]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("the process was killed here")
        accepted = await self.store.accept(messages, now=RUN_AT.timestamp())
        self.ids += [a.message_id for a in accepted]
        return accepted


async def demo_utility(store: Store) -> BillingStore:
    billing = cast(BillingStore, store)
    document = utility_document(CONSUMERS, today=TODAY)
    document["utilities"][0]["notices"] = {"debt_threshold": str(THRESHOLD)}
    assert (await import_billing_data(billing, document)).ok
    return billing


def expected_notices() -> dict[str, int]:
    """Counted from the generator, not from the store: who owes above the threshold,
    and who has no reading this month (all of them: read 30 days before the 20th)."""
    debtors = sum(1 for i in range(CONSUMERS) if consumer(i).debt > THRESHOLD)
    read_this_month = Period.of(TODAY - timedelta(days=30)) == Period.of(TODAY)
    return {"debt": debtors, "reading_reminder": 0 if read_this_month else CONSUMERS}


async def test_a_run_queues_exactly_the_notices_due_and_a_second_run_nothing(
    store: Store,
) -> None:
    billing = await demo_utility(store)
    expected = expected_notices()
    assert expected["debt"] > 0
    preview = await run_notices(billing, None, now=RUN_AT, route="sim", page=25)
    assert preview.dry_run and preview.going() == expected and preview.queued == {}
    queue = StoreQueue(store)
    first = await run_notices(billing, queue, now=RUN_AT, route="sim", page=25)
    assert first.accounts == CONSUMERS
    assert first.going() == expected
    assert {k.value: n for k, n in first.queued.items()} == expected
    assert len(set(queue.ids)) == sum(expected.values())
    skipped = first.skipped()
    assert skipped["debt"]["below_threshold"] == CONSUMERS - expected["debt"]
    assert skipped["disconnection_warning"] == {"below_threshold": CONSUMERS}
    # Each message carries its notice's text to its phone, found by the notice's key.
    debtor = next(consumer(i) for i in range(CONSUMERS) if consumer(i).debt > THRESHOLD)
    (notice,) = [
        s.notice
        for s in await billing.recent_notices(debtor.account, limit=5)
        if s.notice.kind is NoticeKind.DEBT
    ]
    assert str(debtor.debt) in notice.text
    view = await store.get(queue.ids[0])
    assert view is not None

    second = await run_notices(billing, queue, now=RUN_AT + timedelta(hours=3), route="sim")
    assert second.going() == {} and second.queued == {}
    assert second.skipped()["debt"]["already_sent"] == expected["debt"]
    assert second.skipped()["reading_reminder"] == {"already_sent": CONSUMERS}
    assert len(set(queue.ids)) == sum(expected.values())  # no message queued again


async def test_a_run_killed_between_storing_and_queueing_is_completed_by_the_next(
    store: Store,
) -> None:
    billing = await demo_utility(store)
    expected = sum(expected_notices().values())
    crashing = StoreQueue(store, fail_on_call=3)  # pages 1 queued, page 2 stored only
    with pytest.raises(RuntimeError):
        await run_notices(billing, crashing, now=RUN_AT, route="sim", page=25)
    assert 0 < len(crashing.ids) < expected
    queue = StoreQueue(store)
    rerun = await run_notices(billing, queue, now=RUN_AT, route="sim", page=25)
    assert rerun.resumed > 0
    assert set(crashing.ids).isdisjoint(queue.ids)
    assert len(set(crashing.ids) | set(queue.ids)) == expected
    numbers = [consumer(i).account for i in range(CONSUMERS)]
    assert await billing.save_run_notices([], numbers) == []  # every stored notice is queued


async def test_a_run_reminds_debtors_of_payment_three_days_before_the_due_date_once(
    store: Store,
) -> None:
    billing = cast(BillingStore, store)
    document = utility_document(CONSUMERS, today=TODAY)
    # Only payment reminders are due: no debt notice, no reading reminder day.
    document["utilities"][0]["notices"] = {
        "debt_threshold": None,
        "debt_months": None,
        "reminder_days": [],
    }
    due = TODAY + timedelta(days=3)
    for account in document["accounts"]:
        if "opening_balance" in account:
            account["opening_due_date"] = due.isoformat()
    assert (await import_billing_data(billing, document)).ok
    settings = await billing.load_settings()
    assert settings.notices.payment_reminder_days == 3  # absent from the document: the default
    debtors = sum(1 for i in range(CONSUMERS) if consumer(i).in_debt)
    assert 0 < debtors < CONSUMERS
    queue = StoreQueue(store)
    early = await run_notices(billing, queue, now=RUN_AT - timedelta(days=1), route="sim")
    assert early.going() == {}
    assert early.skipped()["payment_reminder"] == {
        "below_threshold": CONSUMERS - debtors,
        "not_reminder_day": debtors,
    }
    first = await run_notices(billing, queue, now=RUN_AT, route="sim", page=25)
    assert first.going() == {"payment_reminder": debtors}
    assert {k.value: n for k, n in first.queued.items()} == {"payment_reminder": debtors}
    debtor = next(consumer(i) for i in range(CONSUMERS) if consumer(i).in_debt)
    (notice,) = [s.notice for s in await billing.recent_notices(debtor.account, limit=5)]
    assert notice.kind is NoticeKind.PAYMENT_REMINDER and notice.msisdn == debtor.msisdn
    assert str(debtor.debt) in notice.text and "23/03" in notice.text
    view = await store.get(queue.ids[0])
    assert view is not None and view.priority == Priority.BULK
    assert view.idempotency_key is not None
    assert view.idempotency_key.startswith("notice:payment_reminder:")
    assert view.idempotency_key.endswith(":2024-03-23:" + view.destination)
    second = await run_notices(billing, queue, now=RUN_AT + timedelta(hours=3), route="sim")
    assert second.queued == {}
    assert second.skipped()["payment_reminder"]["already_sent"] == debtors
    assert len(set(queue.ids)) == debtors


def test_payment_reminder_days_travel_in_the_utility_document() -> None:
    document = utility_document(1, today=TODAY)["utilities"][0]
    old = settings_from_json(document)  # written before payment reminders
    assert old.notices.payment_reminder_days == NoticeRules().payment_reminder_days == 3
    written = settings_to_json(replace(old, notices=NoticeRules(payment_reminder_days=5)))
    assert written["notices"]["payment_reminder_days"] == 5
    assert settings_from_json(written).notices.payment_reminder_days == 5
    for off in (0, None):
        document["notices"] = {"payment_reminder_days": off}
        assert settings_from_json(document).notices.payment_reminder_days == 0
    document["notices"] = {"payment_reminder_days": -1}
    with pytest.raises(ValueError, match="payment_reminder_days"):
        settings_from_json(document)


def _invited(days_on: int) -> list[int]:
    """The consumers whose meter verification is within 30 days ``days_on`` days after
    the document's day (counted from the generator)."""
    return [
        i
        for i in range(CONSUMERS)
        if (ahead := consumer(i).verification_in) is not None and 0 <= ahead - days_on <= 30
    ]


async def test_a_run_invites_to_meter_verification_once_per_meter_and_date(
    store: Store,
) -> None:
    billing = cast(BillingStore, store)
    document = utility_document(CONSUMERS, today=TODAY)
    # Only invitations are due: no debt notice, reminder or payment reminder.
    document["utilities"][0]["notices"] = {
        "debt_threshold": None,
        "debt_months": None,
        "reminder_days": [],
        "payment_reminder_days": 0,
    }
    verified = [i for i in range(CONSUMERS) if consumer(i).verification_in is not None]
    stopped = consumer(verified[0])
    for binding in document["bindings"]:
        if binding["account"] == stopped.account:
            binding["opted_out"] = True
    assert (await import_billing_data(billing, document)).ok
    settings = await billing.load_settings()
    assert settings.notices.verification_days == 30  # absent from the document: the default
    queue = StoreQueue(store)
    today = await run_notices(billing, queue, now=RUN_AT, route="sim")
    assert today.going() == {} and today.skipped()["meter_verification"] == {
        "not_reminder_day": CONSUMERS
    }
    days_on = 6
    invited = _invited(days_on)
    assert 0 < len(invited) < len(verified) and verified[0] in invited
    later = RUN_AT + timedelta(days=days_on)
    first = await run_notices(billing, queue, now=later, route="sim", page=25)
    assert first.going() == {"meter_verification": len(invited) - 1}
    assert first.skipped()["meter_verification"] == {
        "not_reminder_day": CONSUMERS - len(invited),
        "opted_out": 1,
    }
    assert {k.value: n for k, n in first.queued.items()} == {"meter_verification": len(invited) - 1}
    holder = consumer(invited[1])
    due = holder.verification_date(TODAY)
    assert due is not None
    (notice,) = [s.notice for s in await billing.recent_notices(holder.account, limit=5)]
    assert notice.kind is NoticeKind.METER_VERIFICATION and notice.msisdn == holder.msisdn
    assert notice.service is Service.ELECTRICITY
    assert notice.text == (
        f"Acc {holder.account}: meter {holder.meter} is due for verification by "
        f"{due:%d/%m}. Please book a verification"
    )
    view = await store.get(queue.ids[0])
    assert view is not None and view.priority == Priority.BULK
    first_invited = next(consumer(i) for i in invited if i != verified[0])
    assert view.destination == first_invited.msisdn
    assert view.idempotency_key == (
        f"notice:meter_verification:{first_invited.account}:electricity:"
        f"{first_invited.meter}@{first_invited.verification_date(TODAY)}:{view.destination}"
    )
    # Days later the same dates are due still, but each invitation went; those whose
    # date has come near since are invited.
    again = await run_notices(billing, queue, now=later + timedelta(days=2), route="sim")
    newly = set(_invited(days_on + 2)) - set(invited)
    assert newly and verified[0] not in newly
    assert {k.value: n for k, n in again.queued.items()} == {"meter_verification": len(newly)}
    assert again.skipped()["meter_verification"]["already_sent"] == len(invited) - 1
    # Verified and given its next date (imported again): invited again for that date.
    for meter in document["meters"]:
        if meter["serial"] == holder.meter:
            meter["verification_date"] = (later + timedelta(days=40)).date().isoformat()
        elif "verification_date" in meter:
            del meter["verification_date"]  # absent: the meter has none now
    assert (await import_billing_data(billing, document)).ok
    renewed = await run_notices(billing, queue, now=later + timedelta(days=12), route="sim")
    assert renewed.going() == {"meter_verification": 1}
    assert len(set(queue.ids)) == len(invited) - 1 + len(newly) + 1


def test_verification_days_travel_in_the_utility_document() -> None:
    document = utility_document(1, today=TODAY)["utilities"][0]
    old = settings_from_json(document)  # written before verification invitations
    assert old.notices.verification_days == NoticeRules().verification_days == 30
    written = settings_to_json(replace(old, notices=NoticeRules(verification_days=45)))
    assert written["notices"]["verification_days"] == 45
    assert settings_from_json(written).notices.verification_days == 45
    for off in (0, None):
        document["notices"] = {"verification_days": off}
        assert settings_from_json(document).notices.verification_days == 0
    for wrong in (-1, 61):
        document["notices"] = {"verification_days": wrong}
        with pytest.raises(ValueError, match="verification_days"):
            settings_from_json(document)


async def test_pages_of_contexts_are_what_each_account_loads(store: Store) -> None:
    billing = cast(BillingStore, store)
    assert (await import_billing_data(billing, example())).ok
    settings = await billing.load_settings()
    (warning,) = await billing.save_notices(
        [
            NoticeRecord(
                NoticeKind.DISCONNECTION_WARNING, "8880001", "79160000004", "t", NOW, NOW,
                Service.ELECTRICITY, amount=D(10000),
            )
        ]
    )  # fmt: skip
    assert warning
    paged = []
    after = ""
    while page := await billing.load_notice_contexts(settings, now=NOW, after=after, limit=3):
        paged += page
        after = page[-1].account.number
    numbers = [c.account.number for c in paged]
    assert numbers == sorted(numbers) and len(numbers) == 5
    for context in paged:
        alone = await billing.load_notice_context(context.account.number, now=NOW)
        assert replace(context, recent_capped={}) == replace(alone, recent_capped={})
    assert next(c for c in paged if c.account.number == "8880001").warned_services == {
        Service.ELECTRICITY
    }


async def test_caps_count_a_phones_notices_of_every_account_and_its_campaign_messages(
    store: Store,
) -> None:
    billing = cast(BillingStore, store)
    assert (await import_billing_data(billing, example())).ok
    shared = "79160000002"  # bound to 5550001 and 7770001
    await billing.save_notices(
        [NoticeRecord(NoticeKind.READING_REMINDER, "5550001", shared, "t", NOW, NOW)]
    )
    campaign = await store.create_campaign(  # type: ignore[attr-defined]
        NewCampaign("c", "sim", "INFO", "hello", "bulk", 10.0, None, json.dumps({})),
        now=NOW.timestamp(),
    )
    await store.add_campaign_messages(  # type: ignore[attr-defined]
        campaign.campaign_id,
        [NewMessage(smsc="sim", source="INFO", destination=shared, text="hello",
                    not_before=NOW.timestamp())],
        now=NOW.timestamp(),
    )  # fmt: skip
    settings = await billing.load_settings()
    contexts = await billing.load_notice_contexts(settings, now=NOW + timedelta(hours=1))
    by_number = {c.account.number: c for c in contexts}
    # The reminder was to 5550001; it counts for 7770001's phone as well.
    assert len(by_number["7770001"].recent_capped[shared]) == 2
    assert len(by_number["5550001"].recent_capped[shared]) == 2


async def test_engine_caps_hold_a_debt_notice_the_utility_would_send(store: Store) -> None:
    billing = cast(BillingStore, store)
    assert (await import_billing_data(billing, example())).ok
    await billing.save_notices(
        [NoticeRecord(NoticeKind.READING_REMINDER, "8880001", "79160000004", "t", NOW, NOW)]
    )

    def one_a_day(settings: UtilitySettings) -> UtilitySettings:
        rules = replace(settings.notices, caps=FrequencyCaps(1, 4, 16))
        return replace(settings, notices=rules)

    later = NOW + timedelta(hours=2)
    held = await run_notices(billing, None, now=later, route="sim", adjust=one_a_day)
    assert held.skipped()["debt"]["cap_reached"] == 1
    assert held.going()["debt"] == 1  # 9990001's: its phone was sent nothing
    free = await run_notices(billing, None, now=later, route="sim")
    assert free.going()["debt"] == 2


async def test_a_page_is_read_through_indexes_whatever_the_statistics(tmp_path: Path) -> None:
    """On PostgreSQL a page reads each account's rows through their indexes, by key: a
    plan that scans a table (or a whole index) per page makes a run grow with the
    square of the accounts. Freshly loaded tables have no statistics to plan by."""
    from smpp_engine.store.billing import postgres as pg  # noqa: PLC0415

    arguments = ("demo", "", 25, 18, "disconnection_warning", RUN_AT, ["debt"], RUN_AT, 0.0, RUN_AT)

    async def explain(pool: Any) -> Any:  # on the store's asyncio loop
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SET LOCAL enable_seqscan = off")
            query = "EXPLAIN (FORMAT JSON) " + pg._NOTICE_PAGE
            return json.loads(await connection.fetchval(query, *arguments))

    async for store in open_test_store("postgresql", tmp_path):
        await demo_utility(store)
        pool = store._pool  # type: ignore[attr-defined]
        (plan,) = await store._run("explain", explain, pool)  # type: ignore[attr-defined]
        scans = list(_scans(plan["Plan"]))
        assert scans
        for node in scans:
            assert node["Node Type"] != "Seq Scan", node
            assert "Index Name" not in node or "Index Cond" in node, node["Index Name"]


def _scans(node: dict[str, Any]) -> Any:
    if (node["Node Type"].endswith("Scan") and "Relation Name" in node) or "Index Name" in node:
        yield node
    for child in node.get("Plans", ()):
        yield from _scans(child)
