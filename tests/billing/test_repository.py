"""The repository Protocol, implemented in memory: one load and one save per SMS."""
# ruff: noqa: RUF001 - Russian texts are test data

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from billing_core import (
    BillingRepository,
    Ledger,
    NoticeContext,
    NoticeRecord,
    Outcome,
    OutcomeStatus,
    Payment,
    PaymentPosting,
    Reading,
    ReadingContext,
    ReadingStatus,
    RegisterHistory,
    UtilitySettings,
    account_hint,
    process_sms,
)

from .builders import ACCOUNT, MSISDN, NOW, SIZER, D, two_zone_context


class MemoryRepository:
    """Just enough of a store to run the round trip; counts its round trips."""

    def __init__(self) -> None:
        base = two_zone_context()
        assert base.account is not None
        self.settings = base.settings
        self.snapshot = base.account
        self.bindings = base.bindings
        self.outcomes: dict[str, Outcome] = {}
        self.next_id = 1000
        self.loads = 0
        self.saves = 0

    async def load_context(
        self, *, msisdn: str, account_number: str | None, mo_message_id: str, now: datetime
    ) -> ReadingContext:
        self.loads += 1
        bound = [b for b in self.bindings if b.msisdn == msisdn]
        account = self.snapshot if bound else None
        return ReadingContext(
            self.settings, msisdn, tuple(bound), account, mo_message_id in self.outcomes
        )

    async def save_outcome(self, outcome: Outcome) -> bool:
        self.saves += 1
        if outcome.mo_message_id in self.outcomes:
            return False
        self.outcomes[outcome.mo_message_id] = outcome
        history = dict(self.snapshot.history)
        pending_by_id = {
            h.pending.id: (rid, h.pending) for rid, h in history.items() if h.pending is not None
        }
        for change in outcome.status_changes:
            register_id, stored = pending_by_id[change.reading_id]
            kept = history[register_id]
            accepted = kept.accepted
            if change.status is ReadingStatus.ACCEPTED:
                accepted = (*accepted, stored._replace(status=ReadingStatus.ACCEPTED))
            history[register_id] = RegisterHistory(register_id, accepted, None)
        for new in outcome.readings:
            self.next_id += 1
            stored_reading: Reading = new._replace(id=self.next_id)
            kept = history.get(new.register_id, RegisterHistory(new.register_id))
            if new.status is ReadingStatus.ACCEPTED:
                history[new.register_id] = kept._replace(accepted=(*kept.accepted, stored_reading))
            elif new.status is ReadingStatus.AWAITING_CONFIRMATION:
                history[new.register_id] = kept._replace(pending=stored_reading)
        ledger = self.snapshot.ledger
        for charge in outcome.charges:
            ledger = ledger.charge(charge.period, charge.amount, charge.due_date)
        self.snapshot = type(self.snapshot)(
            self.snapshot.account, self.snapshot.meters, history, self.snapshot.tariffs, ledger
        )
        return True

    async def load_ledger(self, account_number: str) -> Ledger:
        return self.snapshot.ledger

    async def save_payment(self, posting: PaymentPosting) -> bool:
        return True

    async def find_payment(self, reference: str) -> Payment | None:
        return None

    async def load_notice_context(self, account_number: str, *, now: datetime) -> NoticeContext:
        raise NotImplementedError

    async def save_notices(self, notices: Sequence[NoticeRecord]) -> list[int]:
        return list(range(len(notices)))


async def handle(
    repo: BillingRepository, msisdn: str, text: str, mo_id: str, now: datetime
) -> str | None:
    """The thin service: one load, the pure core, one save; the reply to send, if any."""
    hint = account_hint(text, repo_settings(repo))  # the service holds the settings
    context = await repo.load_context(
        msisdn=msisdn, account_number=hint, mo_message_id=mo_id, now=now
    )
    outcome = process_sms(context, text, mo_message_id=mo_id, now=now, sizer=SIZER)
    if not outcome.persists or not await repo.save_outcome(outcome):
        return None
    return outcome.reply.text if outcome.reply else None


def repo_settings(repo: BillingRepository) -> UtilitySettings:
    assert isinstance(repo, MemoryRepository)
    return repo.settings


async def test_a_conversation_through_the_repository() -> None:
    repo = MemoryRepository()
    typed: BillingRepository = repo  # the fake satisfies the Protocol (mypy checks this line)

    reply = await handle(typed, MSISDN, "19000 5080", "mo-1", NOW)
    assert reply == "Т1 19000 Т2 5080 выше обычного. Верно? Ответьте ДА за 24 ч"
    assert (repo.loads, repo.saves) == (1, 1)

    # The SMSC delivers the same MO again: nothing changes, nothing is sent.
    assert await handle(typed, MSISDN, "19000 5080", "mo-1", NOW) is None
    assert repo.saves == 1

    later = NOW + timedelta(minutes=5)
    reply = await handle(typed, MSISDN, "да", "mo-2", later)
    assert reply is not None and reply.startswith("ЛС1234567890 приняты Т1 19000 Т2 5080")
    assert repo.snapshot.ledger.balance.amount == 7000 * D("5.92") + 80 * D("1.74")

    reply = await handle(typed, MSISDN, "БАЛ", "mo-3", later)
    assert reply == "ЛС1234567890: Долг 41579,20 р до 15.04. Показания Т1 19000 Т2 5080"
    assert (repo.loads, repo.saves) == (4, 3)
    assert repo.outcomes["mo-2"].status is OutcomeStatus.ACCEPTED
    assert repo.outcomes["mo-2"].account_number == ACCOUNT


async def test_racing_redeliveries_send_one_reply() -> None:
    repo = MemoryRepository()
    context = await repo.load_context(
        msisdn=MSISDN, account_number=None, mo_message_id="mo-9", now=NOW
    )
    first = process_sms(context, "12150 5080", mo_message_id="mo-9", now=NOW, sizer=SIZER)
    second = process_sms(context, "12150 5080", mo_message_id="mo-9", now=NOW, sizer=SIZER)
    assert await repo.save_outcome(first) is True
    assert await repo.save_outcome(second) is False  # the unique MO id stops the second
