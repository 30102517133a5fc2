"""JSON views of stored records, the same for the HTTP API and the command line.

Times are ISO 8601 in UTC; money is a decimal string, never a float; SMPP
statuses carry their name next to their number. Each function takes what the
store returned and builds plain ``dict``s ready for ``json.dumps`` (strict JSON:
no NaN or Infinity).

A view never fails on what the store holds: a time no calendar can show (beyond
year 9999, kept by an older version) or a number JSON cannot carry is shown as
null, and the rest of the record, and of the list, is shown as usual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing_core import (
    AccountSnapshot,
    Ledger,
    NoticeContext,
    NoticeRecord,
    Reading,
    WarningProof,
    last_day_to_pay,
    payment_deadline,
)
from throttling import Priority

from .protocol import status_name
from .store import CampaignStats, CampaignView, GroupView, MessageView, PartView, StoredNotice

__all__ = [
    "billing_account_json",
    "campaign_stats_json",
    "campaign_view_json",
    "finite",
    "group_view_json",
    "iso_time",
    "message_view_json",
    "priority_name",
]

_CENT = Decimal("0.01")


def iso_time(at: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (``2024-03-20T09:00:00.250000+00:00``), or None.

    None also for a value that is no date (NaN, infinite, outside years 1-9999).
    """
    if at is None:
        return None
    try:
        return datetime.fromtimestamp(at, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return None


def finite(number: float | None) -> float | None:
    """``number`` as JSON can carry it: None for NaN and the infinities."""
    if number is None or not math.isfinite(number):
        return None
    return number


def priority_name(priority: int) -> str:
    """``interactive``, ``transactional`` or ``bulk``; another number as its digits."""
    try:
        return Priority(priority).name.lower()
    except ValueError:
        return str(priority)


def _status(code: int | None) -> dict[str, Any] | None:
    return None if code is None else {"code": code, "name": status_name(code)}


def _part_json(part: PartView) -> dict[str, Any]:
    receipt = None
    if part.receipt_at is not None:
        receipt = {
            "received_at": iso_time(part.receipt_at),
            "error": part.receipt_error,
            "done_at": iso_time(part.done_at),
        }
    return {
        "part": part.part,
        "state": part.state.value,
        "bind": part.bind,
        "smsc_message_id": part.smsc_message_id,
        "submitted_at": iso_time(part.submitted_at),
        "responded_at": iso_time(part.responded_at),
        "submit_status": _status(part.command_status),
        "receipt": receipt,
    }


def message_view_json(view: MessageView) -> dict[str, Any]:
    """A message with its parts (SMSC ids, binds, times, statuses, receipts) and its events."""
    return {
        "id": view.message_id,
        "state": view.state.value,
        "route": view.smsc,
        "route_rule": view.route_rule,
        "route_plan": list(view.route_plan),
        "from": view.source,
        "to": view.destination,
        "text": view.text,
        "priority": priority_name(view.priority),
        "parts": view.parts,
        "flash": view.flash,
        "created_at": iso_time(view.created_at),
        "updated_at": iso_time(view.updated_at),
        "attempts": view.attempts,
        "possible_duplicate": view.possible_duplicate,
        "campaign_id": view.campaign_id,
        "idempotency_key": view.idempotency_key,
        "error": _status(view.error_code),
        "part_details": [_part_json(part) for part in view.part_views],
        "events": [
            {"at": iso_time(event.at), "event": event.event, "detail": event.detail}
            for event in view.events
        ],
    }


def campaign_view_json(view: CampaignView) -> dict[str, Any]:
    """A campaign as stored: its settings and its state."""
    return {
        "id": view.campaign_id,
        "name": view.name,
        "state": view.state,
        "route": view.smsc,
        "sender": view.sender,
        "template": view.template,
        "kind": view.kind,
        "rate": finite(view.rate),
        "start_at": iso_time(view.start_at),
        "created_at": iso_time(view.created_at),
        "updated_at": iso_time(view.updated_at),
    }


def campaign_stats_json(stats: CampaignStats) -> dict[str, Any]:
    """Where a campaign's messages are, with its submit errors by status."""
    return {
        "total": stats.total,
        "queued": stats.queued,
        "sent": stats.sent,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "cancelled": stats.cancelled,
        "pending_receipts": stats.receipts_pending,
        "by_state": {state.value: count for state, count in stats.by_state.items()},
        "errors": [
            {"code": code, "name": status_name(code), "messages": count}
            for code, count in sorted(stats.errors.items())
        ],
    }


def group_view_json(view: GroupView) -> dict[str, Any]:
    return {
        "id": view.group_id,
        "name": view.name,
        "members": view.members,
        "created_at": iso_time(view.created_at),
    }


def _money(amount: Decimal) -> str:
    return str(amount)


def _estimate(amount: Decimal) -> str:
    """An average or a share (divided, so of many digits) to the cent, half up."""
    return str(amount.quantize(_CENT, ROUND_HALF_UP))


def _reading_json(reading: Reading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "value": str(reading.value),
        "taken_at": reading.taken_at.isoformat(),
        "source": reading.source.value,
        "status": reading.status.value,
        "period": str(reading.period),
    }


def billing_account_json(
    ledger: Ledger,
    context: NoticeContext,
    snapshot: AccountSnapshot | None,
    notices: Sequence[tuple[StoredNotice, NoticeRecord]] = (),
    warnings: Sequence[tuple[WarningProof, NoticeRecord]] = (),
) -> dict[str, Any]:
    """An account's balance, debts by period, phones, (when loaded) meters and readings,
    its recent ``notices`` with their delivery, and its disconnection ``warnings`` as
    judged (see :func:`~smpp_engine.billing.account_warnings`), each proven one with
    the time to pay counted from its delivery.

    ``snapshot`` is None when no phone is bound to the account: the store loads
    meters only through a bound phone.
    """
    balance = ledger.balance
    account = context.account
    meters: list[dict[str, Any]] | None = None
    if snapshot is not None:
        meters = [
            {
                "id": meter.id,
                "serial": meter.serial,
                "service": meter.service.value,
                "status": meter.status.value,
                "digits": meter.digits,
                "decimals": meter.decimals,
                "multiplier": str(meter.multiplier),
                "registers": [
                    {
                        "id": register.id,
                        "zone": register.zone.value,
                        "last_reading": _reading_json(snapshot.register_history(register.id).last),
                        "pending_reading": _reading_json(
                            snapshot.register_history(register.id).pending
                        ),
                    }
                    for register in meter.registers
                ],
            }
            for meter in snapshot.meters
        ]
    return {
        "account": account.number,
        "language": account.language.value if account.language else None,
        "time_zone": account.time_zone,
        "closed": account.closed,
        "balance": {
            "amount": _money(balance.amount),
            "opening": _money(balance.opening),
            "charges": _money(balance.charges),
            "penalties": _money(balance.penalties),
            "payments": _money(balance.payments),
            "advance": _money(ledger.advance),
        },
        "due_date": context.due_date.isoformat() if context.due_date else None,
        "debts": [
            {
                "period": str(item.period),
                "principal": _money(item.principal),
                "penalty": _money(item.penalty),
                "total": _money(item.total),
                "due_date": item.due_date.isoformat() if item.due_date else None,
            }
            for item in ledger.open_items
        ],
        "monthly_charge": _estimate(context.monthly_charge),
        "services": _services_json(context),
        "phones": [
            {"msisdn": binding.msisdn, "opted_out": binding.opted_out}
            for binding in context.bindings
        ],
        "last_reading_period": (
            str(context.last_reading_period) if context.last_reading_period else None
        ),
        "meters": meters,
        "notices": [_notice_json(stored, notice) for stored, notice in notices],
        "warnings": [_warning_json(context, proof, first) for proof, first in warnings],
    }


def _warning_json(
    context: NoticeContext, proof: WarningProof, first: NoticeRecord
) -> dict[str, Any]:
    delivered = proof.delivered_at
    # The consumer's clock and the utility's rules, as the disconnection procedure counts.
    rules = context.settings.notices.disconnection
    return {
        "key": proof.key,
        "msisdn": proof.msisdn,
        "service": first.service.value if first.service else None,
        "status": proof.status.value,
        "attempts": proof.attempts,
        "first_sent_at": proof.first_sent_at.isoformat(),
        "delivered_at": None if delivered is None else delivered.isoformat(),
        "last_day_to_pay": (
            None
            if delivered is None
            else last_day_to_pay(delivered, context.zone, rules).isoformat()
        ),
        "pay_by": (
            None
            if delivered is None
            else payment_deadline(delivered, context.zone, rules).isoformat()
        ),
    }


def _notice_json(stored: StoredNotice, notice: NoticeRecord) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind.value,
        "msisdn": notice.msisdn,
        "text": notice.text,
        "created_at": notice.created_at.isoformat(),
        "send_at": notice.send_at.isoformat() if notice.send_at else None,
        "message_id": stored.message_id,
        "state": notice.state.value,
        "smsc_message_ids": list(notice.message_ids),
        "delivered_at": notice.delivered_at.isoformat() if notice.delivered_at else None,
    }


def _services_json(context: NoticeContext) -> Mapping[str, Any]:
    return {
        service.value: {
            "debt": _estimate(owed.debt),
            "monthly_charge": _estimate(owed.monthly_charge),
        }
        for service, owed in sorted(context.service_debts.items(), key=lambda kv: kv[0].value)
    }
