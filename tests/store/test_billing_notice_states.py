"""smpp_billing_notices: the notices queued in the last 30 days by kind and their message's state,
counted in the store on both backends; set by the sampler and after each notices job."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import cast

import trio
from prometheus_client import REGISTRY

from billing_core import NoticeKind
from smpp_engine.billing import NOTICE_STATES, count_notice_states, queue_notices, sample_notices
from smpp_engine.store import BillingStore, PartState, PartSubmitted, ReceiptArrived, Store

from .test_billing_repository import _notice
from .test_billing_warning_proofs import KEY, ROUTE, T0, StoreQueue, _deliver, _warn, billing

__all__ = ["billing"]  # the fixture, imported to be used here

WARNING = NoticeKind.DISCONNECTION_WARNING.value


def gauge(kind: str, state: str) -> float | None:
    return REGISTRY.get_sample_value("smpp_billing_notices", {"kind": kind, "state": state})


async def _debt(billing: BillingStore, store: Store, key: str, *, queued: bool) -> int | None:
    """A debt notice stored at T0, queued as a message or not; the message's id."""
    notice = replace(_notice(NoticeKind.DEBT, T0), key=key, send_at=None)
    (saved,) = await billing.save_run_notices([notice], [notice.account_number])
    if not queued:
        return None
    (message_id,) = await queue_notices(billing, StoreQueue(store, T0), [saved], route=ROUTE)
    return message_id


async def test_each_kind_is_counted_by_its_message_state(
    billing: BillingStore, store: Store
) -> None:
    # A notice from before the window is not counted.
    old = await _warn(billing, store, "old", T0 - timedelta(days=31))
    await _deliver(store, old, T0 - timedelta(days=31))
    delivered = await _warn(billing, store, KEY, T0)
    await _deliver(store, delivered, T0 + timedelta(minutes=1))
    await _warn(billing, store, f"{KEY}:retry1", T0)
    failed = await _debt(billing, store, "debt-1", queued=True)
    assert failed is not None
    # Both claimed: the retry stays submitting, the debt notice fails.
    claimed = await store.claim(ROUTE, 10, owner="t", now=T0.timestamp(), lease=60)
    assert len(claimed) == 2
    stamp = T0.timestamp()
    await store.record(
        [
            PartSubmitted(failed, 0, "b", "s-debt", stamp, stamp),
            ReceiptArrived(ROUTE, "s-debt", PartState.UNDELIVERABLE, stamp),
        ]
    )
    # Stored as of a past day (a run with a past --now) and queued now: counted, and
    # the notices stored before it still are.
    backdated = replace(
        _notice(NoticeKind.DEBT, T0 - timedelta(days=90)), key="debt-3", send_at=None
    )
    (saved,) = [
        n
        for n in await billing.save_run_notices([backdated], [backdated.account_number])
        if n.key == "debt-3"
    ]
    await queue_notices(billing, StoreQueue(store, T0), [saved], route=ROUTE)
    await _debt(billing, store, "debt-2", queued=False)
    counts = await count_notice_states(billing, now=T0 + timedelta(hours=1))
    assert counts == {
        (WARNING, "delivered"): 1,
        (WARNING, "submitting"): 1,
        ("debt", "undeliverable"): 1,
        ("debt", "queued"): 1,
        ("debt", "unqueued"): 1,
    }
    assert gauge(WARNING, "delivered") == 1
    assert gauge("debt", "unqueued") == 1
    # Every other kind and state is set to 0, not left unset or at an older count.
    for kind in NoticeKind:
        for state in NOTICE_STATES:
            if (kind.value, state) not in counts:
                assert gauge(kind.value, state) == 0, (kind, state)
    # Thirty days on, the queued ones have left the window; the unqueued one waits.
    later = await count_notice_states(billing, now=T0 + timedelta(days=31))
    assert later == {("debt", "unqueued"): 1}
    assert gauge(WARNING, "delivered") == 0


async def test_the_sampler_counts_before_it_starts(billing: BillingStore, store: Store) -> None:
    await _warn(billing, store, KEY, T0)
    async with trio.open_nursery() as nursery:
        clock = (T0 + timedelta(hours=1)).timestamp
        await nursery.start(partial(sample_notices, cast(Store, billing), every=60, clock=clock))
        assert gauge(WARNING, "queued") == 1
        nursery.cancel_scope.cancel()
