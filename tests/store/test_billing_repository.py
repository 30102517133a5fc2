"""The billing repository contract on both stores, loaded from config/billing-example.json."""
# ruff: noqa: RUF001 - Russian texts are test data

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from billing_core import (
    NoticeKind,
    NoticeRecord,
    OutcomeStatus,
    Payment,
    Period,
    ReadingContext,
    ReadingStatus,
    Service,
    Zone,
    account_hint,
    post_payment,
    process_sms,
)
from smpp_engine.store import (
    BillingStore,
    ImportProblem,
    MessageState,
    NewMessage,
    PartState,
    PartSubmitted,
    ReceiptArrived,
    ReplyLease,
    SavedAnswer,
    Store,
    UnknownAccountError,
    import_billing_data,
    load_billing_json,
)

from ..billing.builders import SIZER

D = Decimal
EXAMPLE = Path(__file__).parents[2] / "config" / "billing-example.json"
NOW = datetime(2024, 3, 20, 9, 0, tzinfo=UTC)  # inside the window; due 15.04
PHONE = "79161234567"  # bound to 1234567890 (two-zone electricity)
TWO_ACCOUNTS = "79160000002"  # bound to 5550001 and 7770001
ROLLOVER_PHONE = "79160000003"  # bound to 7770001 (meter R-1 at 99950)


def example() -> dict[str, Any]:
    return cast(dict[str, Any], copy.deepcopy(load_billing_json(str(EXAMPLE))))


@pytest.fixture
async def repo(store: Store) -> BillingStore:
    billing = cast(BillingStore, store)
    report = await import_billing_data(billing, example())
    assert report.problems == ()
    return billing


async def load(
    repo: BillingStore, msisdn: str, hint: str | None, mo: str = "mo-x"
) -> ReadingContext:
    return await repo.load_context(msisdn=msisdn, account_number=hint, mo_message_id=mo, now=NOW)


async def sms(repo: BillingStore, msisdn: str, text: str, mo: str, now: datetime = NOW) -> Any:
    settings = await repo.load_settings()
    context = await repo.load_context(
        msisdn=msisdn, account_number=account_hint(text, settings), mo_message_id=mo, now=now
    )
    outcome = process_sms(context, text, mo_message_id=mo, now=now, sizer=SIZER)
    saved = outcome.persists and await repo.save_outcome(outcome)
    return outcome, saved


async def test_the_example_imports_every_row(store: Store) -> None:
    report = await import_billing_data(cast(BillingStore, store), example())
    assert report.ok
    assert dict(report.written) == {
        "utilities": 1,
        "accounts": 5,
        "bindings": 6,
        "meters": 3,
        "tariffs": 3,
        "readings": 10,
        "payments": 1,
    }
    # 9990001's three opening bills: charges of electricity, and its ledger.
    ledger = await cast(BillingStore, store).load_ledger("9990001")
    assert ledger.balance.charges == ledger.balance.amount == D("4450.00")
    assert [(i.period, i.principal, i.due_date) for i in ledger.open_items] == [
        (Period(2023, 12), D("1450.00"), date(2024, 1, 15)),
        (Period(2024, 1), D("1480.00"), date(2024, 2, 15)),
        (Period(2024, 2), D("1520.00"), date(2024, 3, 15)),
    ]
    again = await import_billing_data(cast(BillingStore, store), example())
    assert again.ok
    # Imported again, a stored account's ledger is left alone: no bill twice.
    assert (await cast(BillingStore, store).load_ledger("9990001")) == ledger
    assert (again.written["readings"], again.written["tariffs"], again.written["payments"]) == (
        0,
        0,
        0,
    )


async def test_a_phone_bound_to_one_account_loads_it_whole(repo: BillingStore) -> None:
    context = await load(repo, PHONE, None)
    assert context.settings.utility_id == "acme"
    assert context.settings.registration_hint == "lk.acme.ru"
    assert [b.account_number for b in context.bindings] == ["1234567890"]
    assert not context.mo_already_processed
    snapshot = context.account
    assert snapshot is not None and snapshot.account.number == "1234567890"
    (meter,) = snapshot.meters
    assert (meter.id, meter.serial, meter.service, meter.digits) == (
        1,
        "E-1",
        Service.ELECTRICITY,
        6,
    )
    assert [(r.id, r.zone) for r in meter.registers] == [(11, Zone.T1), (12, Zone.T2)]
    t1 = snapshot.register_history(11)
    assert [r.value for r in t1.accepted] == [D(11700), D(11850), D(12000)]
    assert t1.accepted[-1].taken_at == datetime(2024, 2, 19, 9, tzinfo=UTC)
    assert t1.accepted[-1].period == Period(2024, 2)
    assert t1.pending is None
    assert {t.id for t in snapshot.tariffs} == {1}
    assert snapshot.ledger.balance.amount == 0


async def test_an_unbound_phone_gets_the_default_utility_and_no_account(repo: BillingStore) -> None:
    context = await load(repo, "79990000000", "1234567890")
    assert context.bindings == ()
    assert context.account is None
    assert context.settings.utility_id == "acme"


async def test_a_phone_with_several_accounts_loads_the_named_one(repo: BillingStore) -> None:
    unnamed = await load(repo, TWO_ACCOUNTS, None)
    assert [b.account_number for b in unnamed.bindings] == ["5550001", "7770001"]
    assert unnamed.account is None
    named = await load(repo, TWO_ACCOUNTS, "7770001")
    assert named.account is not None and named.account.account.number == "7770001"
    not_bound = await load(repo, TWO_ACCOUNTS, "1234567890")
    assert not_bound.account is None
    # One binding: the account is loaded even when another number is named.
    single = await load(repo, ROLLOVER_PHONE, "1234567890")
    assert single.account is not None and single.account.account.number == "7770001"


async def test_the_last_thirteen_readings_oldest_first_and_tariffs_since(
    repo: BillingStore,
) -> None:
    start = datetime(2022, 1, 20, 9, tzinfo=UTC)
    readings = [
        {
            "meter": "W-1",
            "value": str(10 + i),
            "taken_at": (start + timedelta(days=30 * i)).isoformat(),
        }
        for i in range(15)
    ]
    data = {
        "readings": readings,
        "tariffs": [
            {"utility": "acme", "service": "cold_water", "valid_from": "2021-01-01",
             "valid_to": "2022-01-01", "pricing": {"kind": "flat", "price": "1"}},
            {"utility": "acme", "service": "cold_water", "valid_from": "2022-01-01",
             "valid_to": "2024-01-01", "pricing": {"kind": "flat", "price": "2"}},
            {"utility": "acme", "service": "gas", "valid_from": "2022-01-01",
             "pricing": {"kind": "flat", "price": "3"}},
        ],
    }  # fmt: skip
    report = await import_billing_data(repo, data)
    assert report.ok, report.problems
    context = await load(repo, TWO_ACCOUNTS, "5550001")
    assert context.account is not None
    history = context.account.register_history(20)
    # 16 stored (15 + the example's 100.0): the last 13, oldest first.
    assert len(history.accepted) == 13
    values = [r.value for r in history.accepted]
    assert values == sorted(values) and values[-1] == D("100.0")
    taken = [r.taken_at for r in history.accepted]
    assert taken == sorted(taken)
    oldest = history.accepted[0].taken_at.date()
    prices = {t.valid_from: t for t in context.account.tariffs}
    assert date(2021, 1, 1) not in prices  # ended before the oldest loaded reading
    assert date(2022, 1, 1) in prices and oldest > date(2022, 1, 1)
    assert {t.service for t in context.account.tariffs} == {Service.COLD_WATER}


async def test_an_accepted_reading_is_saved_once_and_seen_by_the_next_load(
    repo: BillingStore,
) -> None:
    outcome, saved = await sms(repo, PHONE, "12150 5080", "mo-1")
    assert outcome.status is OutcomeStatus.ACCEPTED and saved
    assert outcome.balance_after == D("1027.20")
    context = await load(repo, PHONE, None, "mo-1")
    assert context.mo_already_processed
    assert context.account is not None
    assert context.account.register_history(11).last.value == D(12150)  # type: ignore[union-attr]
    assert context.account.register_history(11).last.mo_message_id == "mo-1"  # type: ignore[union-attr]
    ledger = context.account.ledger
    assert ledger.balance.amount == D("1027.20")
    (item,) = ledger.open_items
    assert (item.period, item.principal, item.due_date) == (
        Period(2024, 3),
        D("1027.20"),
        date(2024, 4, 15),
    )
    # The SMSC redelivers: the core says so, and a racing save writes nothing.
    again = process_sms(context, "12150 5080", mo_message_id="mo-1", now=NOW, sizer=SIZER)
    assert again.status is OutcomeStatus.ALREADY_PROCESSED
    first = process_sms(
        await load(repo, PHONE, None, "mo-2"),
        "12160 5090",
        mo_message_id="mo-2",
        now=NOW,
        sizer=SIZER,
    )
    assert await repo.save_outcome(first) is True
    assert await repo.save_outcome(first) is False
    after = await load(repo, PHONE, None)
    assert after.account is not None
    assert [r.value for r in after.account.register_history(11).accepted][-2:] == [
        D(12150),
        D(12160),
    ]
    assert after.account.ledger.balance.amount == D("1027.20") + D("59.20") + D("17.40")


async def test_confirmation_then_acceptance(repo: BillingStore) -> None:
    outcome, saved = await sms(repo, PHONE, "19000 5080", "mo-1")
    assert outcome.status is OutcomeStatus.AWAITING_CONFIRMATION and saved
    context = await load(repo, PHONE, None)
    assert context.account is not None
    pending = context.account.register_history(11).pending
    assert pending is not None and pending.id is not None and pending.value == D(19000)
    assert pending.status is ReadingStatus.AWAITING_CONFIRMATION
    outcome, saved = await sms(repo, PHONE, "да", "mo-2", NOW + timedelta(minutes=5))
    assert outcome.status is OutcomeStatus.ACCEPTED and saved
    context = await load(repo, PHONE, None)
    assert context.account is not None
    history = context.account.register_history(11)
    assert history.pending is None and history.last is not None
    assert history.last.value == D(19000)
    assert context.account.ledger.balance.amount == 7000 * D("5.92") + 80 * D("1.74")


async def test_the_rollover_worked_example(repo: BillingStore) -> None:
    outcome, saved = await sms(repo, ROLLOVER_PHONE, "00120", "mo-r")
    assert outcome.status is OutcomeStatus.ACCEPTED and saved
    (charge,) = outcome.charges
    assert charge.lines[0].quantity == 170
    ledger = await repo.load_ledger("7770001")
    # The example's 100.00 advance pays part of the 850.00.
    assert ledger.balance.amount == D("750.00")
    assert ledger.open_items[0].principal == D("750.00") and ledger.advance == 0


async def test_stop_marks_the_binding(repo: BillingStore) -> None:
    outcome, saved = await sms(repo, TWO_ACCOUNTS, "STOP", "mo-s")
    assert outcome.status is OutcomeStatus.OPTED_OUT and saved
    context = await load(repo, TWO_ACCOUNTS, None)
    assert all(b.opted_out for b in context.bindings)
    assert not any(b.opted_out for b in (await load(repo, ROLLOVER_PHONE, None)).bindings)


async def test_payments_are_allocated_and_idempotent(repo: BillingStore) -> None:
    await sms(repo, PHONE, "12150 5080", "mo-1")
    ledger = await repo.load_ledger("1234567890")
    payment = Payment("1234567890", D("1100.00"), date(2024, 3, 25), "bank-1")
    posting = post_payment(ledger, payment)
    assert await repo.save_payment(posting) is True
    assert await repo.save_payment(posting) is False
    stored = await repo.find_payment("bank-1")
    assert stored is not None and stored.id is not None
    assert (stored.amount, stored.paid_on, stored.period) == (D("1100.00"), date(2024, 3, 25), None)
    assert await repo.find_payment("bank-2") is None
    after = await repo.load_ledger("1234567890")
    assert after.open_items == ()
    assert after.advance == D("72.80")
    assert after.balance.amount == D("-72.80")
    # The advance pays the next charge first.
    outcome, _ = await sms(repo, PHONE, "12160 5080", "mo-2")
    assert outcome.status is OutcomeStatus.ACCEPTED
    last = await repo.load_ledger("1234567890")
    assert last.advance == D("13.60") and last.balance.amount == D("-13.60")
    with pytest.raises(UnknownAccountError):
        await repo.load_ledger("000")


async def test_a_payment_on_a_stale_ledger_is_posted_on_the_stored_one(
    repo: BillingStore,
) -> None:
    stale = await repo.load_ledger("1234567890")
    await sms(repo, PHONE, "12150 5080", "mo-1")
    posting = post_payment(stale, Payment("1234567890", D("1000.00"), date(2024, 3, 25), "b-9"))
    assert await repo.save_payment(posting)
    ledger = await repo.load_ledger("1234567890")
    assert ledger.balance.amount == D("27.20") and ledger.open_items[0].principal == D("27.20")


def _notice(kind: NoticeKind, at: datetime, msisdn: str = PHONE) -> NoticeRecord:
    return NoticeRecord(
        kind,
        "8880001",
        msisdn,
        "ЛС8880001: долг 10000,00 р",
        at,
        at,
        Service.ELECTRICITY if kind is NoticeKind.DISCONNECTION_WARNING else None,
        amount=D("10000.00"),
    )


async def _queue(store: Store, msisdn: str, key: str) -> int:
    (accepted,) = await store.accept(
        [NewMessage(smsc="sim", source="INFO", destination=msisdn, text="t", idempotency_key=key)],
        now=NOW.timestamp(),
    )
    return accepted.message_id


async def _fail(store: Store, *message_ids: int) -> None:
    """Claim, submit and fail (an UNDELIVERABLE receipt) every queued message."""
    claimed = await store.claim("sim", 10, owner="t", now=NOW.timestamp(), lease=60)
    assert sorted(m.message_id for m in claimed) == sorted(message_ids)
    at = NOW.timestamp()
    await store.record(
        [PartSubmitted(m, 0, "b", f"s-{m}", at, at) for m in message_ids]
        + [ReceiptArrived("sim", f"s-{m}", PartState.UNDELIVERABLE, at) for m in message_ids]
    )


async def test_notices_are_stored_and_linked_to_their_messages(
    repo: BillingStore, store: Store
) -> None:
    ids = await repo.save_notices(
        [_notice(NoticeKind.DISCONNECTION_WARNING, NOW), _notice(NoticeKind.DEBT, NOW)]
    )
    assert len(ids) == 2 and ids[0] < ids[1]
    unlinked = await repo.load_notice(ids[0])
    assert unlinked is not None and unlinked.message_id is None
    message_id = await _queue(store, PHONE, "n-1")
    await repo.link_notices([(ids[0], message_id)])
    stored = await repo.load_notice(ids[0])
    assert stored is not None and stored.message_id == message_id
    notice = stored.notice
    assert notice.id == ids[0] and notice.kind is NoticeKind.DISCONNECTION_WARNING
    assert notice.amount == D("10000.00") and notice.service is Service.ELECTRICITY
    assert await repo.load_notice(10**9) is None
    context = await repo.load_notice_context("8880001", now=NOW)
    assert context.balance == D("10000.00")
    assert context.due_date == date(2024, 1, 15)
    assert context.warned_services == frozenset({Service.ELECTRICITY})
    assert context.recent_capped == {PHONE: (NOW,)}
    assert [b.msisdn for b in context.bindings] == ["79160000004"]
    with pytest.raises(UnknownAccountError):
        await repo.load_notice_context("000", now=NOW)


async def test_the_notice_context_knows_charges_and_readings(repo: BillingStore) -> None:
    await sms(repo, PHONE, "12150 5080", "mo-1")
    context = await repo.load_notice_context("1234567890", now=NOW)
    assert context.balance == D("1027.20")
    assert context.monthly_charge == D("1027.20")
    debt = context.service_debts[Service.ELECTRICITY]
    assert (debt.debt, debt.monthly_charge) == (D("1027.20"), D("1027.20"))
    assert context.last_reading_period == Period(2024, 3)


async def test_bad_rows_are_reported_and_good_rows_written(repo: BillingStore) -> None:
    data = {
        "accounts": [
            {"number": "4440001", "utility": "acme"},
            {"number": "4440002", "utility": "nowhere"},
            {"utility": "acme"},
            {"number": "4440003", "utility": "acme", "opening_balance": 1.5},
        ],
        "bindings": [
            {"msisdn": "79160000009", "account": "4440001"},
            {"msisdn": "7916-bad", "account": "4440001"},
            {"msisdn": "79160000010", "account": "4440002"},
        ],
        "meters": [
            {"serial": "G-1", "account": "4440001", "service": "gas"},
            {"serial": "G-2", "account": "4440001", "service": "steam"},
        ],
        "tariffs": [
            {"utility": "acme", "service": "gas", "valid_from": "2024-01-01",
             "pricing": {"kind": "flat", "price": "7.10"}},
            {"utility": "acme", "service": "gas", "valid_from": "2024-02-01",
             "pricing": {"kind": "stepped"}},
        ],
        "readings": [
            {"meter": "G-1", "value": "12.5", "taken_at": "2024-03-01T10:00:00+03:00"},
            {"meter": "G-9", "value": "1", "taken_at": "2024-03-01T10:00:00+03:00"},
            {"meter": "G-1", "value": "1", "taken_at": "yesterday"},
        ],
        "payments": [
            {"account": "4440001", "amount": "-5", "paid_on": "2024-03-01", "reference": "p-1"},
            {"account": "4440009", "amount": "5", "paid_on": "2024-03-01", "reference": "p-2"},
        ],
        "colours": [],
    }  # fmt: skip
    report = await import_billing_data(repo, data)
    assert not report.ok
    got = {(p.section, p.index, p.item, p.field) for p in report.problems}
    assert got == {
        ("colours", -1, "colours", "colours"),
        ("accounts", 1, "4440002", "utility"),
        ("accounts", 2, "?", "number"),
        ("accounts", 3, "4440003", "opening_balance"),
        ("bindings", 1, "7916-bad/4440001", "msisdn"),
        ("bindings", 2, "79160000010/4440002", "account"),
        ("meters", 1, "G-2", "service"),
        ("tariffs", 1, "acme/gas/2024-02-01", "pricing.kind"),
        ("readings", 1, "G-9/2024-03-01T10:00:00+03:00", "meter"),
        ("readings", 2, "G-1/yesterday", "taken_at"),
        ("payments", 0, "p-1", "amount"),
        ("payments", 1, "p-2", "account"),
    }
    assert all(isinstance(p, ImportProblem) and p.message for p in report.problems)
    assert "accounts[1] 4440002: utility: unknown utility 'nowhere'" in {
        str(p) for p in report.problems
    }
    assert dict(report.written) == {
        "utilities": 0,
        "accounts": 1,
        "bindings": 1,
        "meters": 1,
        "tariffs": 1,
        "readings": 1,
        "payments": 0,
    }
    context = await load(repo, "79160000009", None)
    assert context.account is not None
    (meter,) = context.account.meters
    assert meter.serial == "G-1" and meter.service is Service.GAS
    (reading,) = context.account.register_history(meter.registers[0].id).accepted
    assert reading.value == D("12.5") and reading.taken_at == datetime(2024, 3, 1, 7, tzinfo=UTC)


async def test_a_notice_whose_message_failed_no_longer_counts(
    repo: BillingStore, store: Store
) -> None:
    warning, debt = await repo.save_notices(
        [_notice(NoticeKind.DISCONNECTION_WARNING, NOW), _notice(NoticeKind.DEBT, NOW)]
    )
    warning_message = await _queue(store, PHONE, "n-warning")
    debt_message = await _queue(store, PHONE, "n-debt")
    await repo.link_notices([(warning, warning_message), (debt, debt_message)])
    context = await repo.load_notice_context("8880001", now=NOW)
    assert context.warned_services == frozenset({Service.ELECTRICITY})
    assert context.recent_capped == {PHONE: (NOW,)}
    await _fail(store, warning_message, debt_message)
    context = await repo.load_notice_context("8880001", now=NOW)
    assert context.warned_services == frozenset()  # undelivered: the warning is due again
    assert context.recent_capped == {}


async def test_an_answer_is_saved_with_its_reply_claimed_in_one_step(
    repo: BillingStore, store: Store
) -> None:
    context = await load(repo, PHONE, None, "mo-a")
    outcome = process_sms(context, "12150 5080", mo_message_id="mo-a", now=NOW, sizer=SIZER)
    assert outcome.reply is not None
    reply = NewMessage(
        smsc="sim",
        source="5566",
        destination=PHONE,
        text=outcome.reply.text,
        priority=2,
        idempotency_key="reply:mo-a",
    )
    at = NOW.timestamp()
    saved = await repo.save_answer(outcome, reply, now=at, lease=ReplyLease("me", at + 60))
    assert saved.saved and saved.reply_id is not None and saved.claimed is not None
    assert saved.claimed.message_id == saved.reply_id
    assert saved.claimed.pending_parts == (0,) and saved.claimed.attempts == 0
    assert saved.claimed.dispatched  # marked as stored: sent at once, no mark of its own
    assert await repo.reply_message_id("mo-a") == saved.reply_id
    view = await store.get(saved.reply_id)
    assert view is not None and view.state is MessageState.SUBMITTING and view.attempts == 1
    assert (await store.count_by_state(smsc="sim")).get(MessageState.SUBMITTING) == 1
    assert await store.claim("sim", 10, owner="other", now=at, lease=60) == []
    # A racing redelivery writes nothing and queues nothing.
    again = await repo.save_answer(outcome, reply, now=at, lease=ReplyLease("me", at + 60))
    assert again == SavedAnswer(saved=False)
    # The lease runs out (the process died): the reply is queued again, not lost.
    recovered = await store.recover(now=at + 61)
    assert (recovered.requeued, recovered.possible_duplicates) == (1, 1)
    (resent,) = await store.claim("sim", 10, owner="other", now=at + 61, lease=60)
    assert resent.message_id == saved.reply_id


async def test_an_answer_without_a_lease_is_queued_and_one_without_reply_is_saved(
    repo: BillingStore, store: Store
) -> None:
    context = await load(repo, PHONE, None, "mo-q")
    outcome = process_sms(context, "12150 5080", mo_message_id="mo-q", now=NOW, sizer=SIZER)
    reply = NewMessage(smsc="sim", source="5566", destination=PHONE, text="ok", priority=2)
    saved = await repo.save_answer(outcome, reply, now=NOW.timestamp(), lease=None)
    assert saved.saved and saved.claimed is None and saved.reply_id is not None
    (claimed,) = await store.claim("sim", 10, owner="t", now=NOW.timestamp(), lease=60)
    assert claimed.message_id == saved.reply_id
    silent = process_sms(
        await load(repo, PHONE, None, "mo-s"), "БАЛ", mo_message_id="mo-s", now=NOW, sizer=SIZER
    )
    assert await repo.save_answer(silent, None, now=NOW.timestamp(), lease=None) == SavedAnswer(
        saved=True
    )
    assert await repo.reply_message_id("mo-s") is None
    assert (
        await repo.load_context(msisdn=PHONE, account_number=None, mo_message_id="mo-s", now=NOW)
        is not None
    )


async def _allocations(store: Store) -> list[tuple[str, str, Decimal]]:
    query = (
        "SELECT a.period, a.part, a.amount FROM billing_payment_allocations AS a "
        "ORDER BY a.payment_id, a.line"
    )
    if store.name == "sqlite":
        found = await store._worker.run("test", lambda c: c.execute(query).fetchall())  # type: ignore[attr-defined]
    else:

        async def fetch(pool: Any) -> list[Any]:
            async with pool.acquire() as connection:
                return list(await connection.fetch(query))

        found = await store._bridge.call(fetch, store._pool)  # type: ignore[attr-defined]
    return [(str(p), str(part), D(str(amount))) for p, part, amount in found]


async def test_the_allocation_is_stored_with_the_payment(store: Store) -> None:
    repo = cast(BillingStore, store)
    assert (await import_billing_data(repo, example())).ok
    await sms(repo, PHONE, "12150 5080", "mo-1")
    ledger = await repo.load_ledger("1234567890")
    posting = post_payment(ledger, Payment("1234567890", D("1000.00"), date(2024, 3, 25), "b-1"))
    assert await repo.save_payment(posting)
    # The example's payment (an advance: no line) and this one, all to March.
    assert await _allocations(store) == [("2024-03", "principal", D("1000.00"))]


async def test_open_store_gives_a_billing_store(tmp_path: Path) -> None:
    from smpp_engine.store import open_store  # noqa: PLC0415

    async with open_store(f"sqlite:///{tmp_path / 'b.db'}") as opened:
        repo = cast(BillingStore, opened)
        assert (await import_billing_data(repo, example())).ok
        assert (await repo.load_settings("acme")).due_day == 15


async def test_a_meter_whose_register_id_is_taken_is_refused_whole(repo: BillingStore) -> None:
    data = {
        "meters": [
            {"serial": "G-5", "account": "5550001", "service": "gas",
             "registers": [{"id": 11, "zone": "T0"}]},
        ]
    }  # fmt: skip
    report = await import_billing_data(repo, data)
    assert [(p.section, p.item, p.field) for p in report.problems] == [
        ("meters", "G-5", "registers")
    ]
    context = await load(repo, TWO_ACCOUNTS, "5550001")
    assert context.account is not None
    assert [m.serial for m in context.account.meters] == ["W-1"]
