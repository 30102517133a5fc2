"""Building billing values from stored rows, the same for both stores.

Both backends hand over the same positional rows (text for money, times,
dates and periods; see :mod:`.codec`): SQLite from a few statements in
one worker job, PostgreSQL from one statement's JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing_core import (
    Account,
    AccountSnapshot,
    AccountToClose,
    Balance,
    DeliveryState,
    Language,
    LateCharge,
    Ledger,
    Meter,
    MeterStatus,
    MeterVerification,
    NoticeContext,
    NoticeKind,
    NoticeRecord,
    OpenItem,
    Payment,
    Period,
    PhoneBinding,
    PrincipalPaid,
    Reading,
    ReadingContext,
    ReadingSource,
    ReadingStatus,
    Register,
    RegisterHistory,
    Service,
    ServiceDebt,
    TariffVersion,
    UtilitySettings,
    Zone,
    fixed_charges_since,
)

from .codec import (
    dumps,
    parse_date,
    parse_time,
    period_from,
    pricing_from_json,
    settings_from_json,
)

__all__ = ["HISTORY_LIMIT", "SettingsCache"]

#: Accepted readings loaded per register: a year's worth and one.
HISTORY_LIMIT = 13

_D = Decimal
Row = Sequence[Any]


class SettingsCache:
    """Settings parsed once per stored text: building them (the grammar) costs more than a load."""

    def __init__(self) -> None:
        self._parsed: dict[str, UtilitySettings] = {}

    def get(self, text: str) -> UtilitySettings:
        settings = self._parsed.get(text)
        if settings is None:
            if len(self._parsed) > 64:
                self._parsed.clear()
            settings = settings_from_json(json.loads(text))
            self._parsed[text] = settings
        return settings


class UtilitySettingsCache:
    """The settings part of both billing stores.

    ``billing_utility`` names the utility whose settings answer an MSISDN bound
    to no account; None: the one imported as default, else the first by id.
    """

    billing_utility: str | None = None
    _billing_settings: SettingsCache | None = None

    def _settings_cache(self) -> SettingsCache:
        if self._billing_settings is None:
            self._billing_settings = SettingsCache()
        return self._billing_settings


def binding(row: Row) -> PhoneBinding:
    return PhoneBinding(row[0], row[1], bool(row[2]))


def account(row: Row) -> Account:
    language = Language(row[1]) if row[1] else None
    return Account(row[0], language, row[2] or None, bool(row[3]))


def ledger(totals: Row, items: Iterable[Row]) -> Ledger:
    """``totals`` are opening, charges, penalties, payments, advance; ``items`` the open items."""
    return Ledger(
        Balance(_D(totals[0]), _D(totals[1]), _D(totals[2]), _D(totals[3])),
        tuple(
            OpenItem(period_from(r[0]), _D(r[1]), _D(r[2]), parse_date(r[3]) if r[3] else None)
            for r in sorted(items, key=lambda r: str(r[0]))
        ),
        _D(totals[4]),
    )


def meters(rows: Iterable[Row]) -> tuple[Meter, ...]:
    """Meters from ``(id, serial, service_point_id, service, digits, decimals, multiplier,
    status, registers)`` rows, ``registers`` a list of ``(id, zone)`` in order."""
    return tuple(
        Meter(
            r[0],
            r[1],
            r[2],
            Service(r[3]),
            tuple(Register(reg[0], Zone(reg[1])) for reg in r[8]),
            r[4],
            r[5],
            _D(r[6]),
            MeterStatus(r[7]),
        )
        for r in rows
    )


def reading(r: Row) -> Reading:
    """From ``(id, register_id, value, taken_at, received_at, source, status, period, mo_id)``."""
    return Reading(
        r[1],
        _D(r[2]),
        parse_time(r[3]),
        parse_time(r[4]),
        ReadingSource(r[5]),
        ReadingStatus(r[6]),
        period_from(r[7]),
        r[8],
        r[0],
    )


def histories(rows: Iterable[Row]) -> dict[int, RegisterHistory]:
    """Per register: accepted readings oldest first, and the latest pending one."""
    accepted: dict[int, list[Reading]] = {}
    pending: dict[int, Reading] = {}
    for r in rows:
        value = reading(r)
        if value.status is ReadingStatus.ACCEPTED:
            accepted.setdefault(value.register_id, []).append(value)
        elif value.status is ReadingStatus.AWAITING_CONFIRMATION:
            kept = pending.get(value.register_id)
            if kept is None or (value.received_at, value.id or 0) > (
                kept.received_at,
                kept.id or 0,
            ):
                pending[value.register_id] = value
    result = {}
    for register_id in accepted.keys() | pending.keys():
        values = sorted(accepted.get(register_id, ()), key=lambda x: (x.taken_at, x.id or 0))
        result[register_id] = RegisterHistory(
            register_id, tuple(values[-HISTORY_LIMIT:]), pending.get(register_id)
        )
    return result


def tariff(r: Row) -> TariffVersion:
    """From ``(id, service, zone, valid_from, valid_to, pricing JSON text)``."""
    pricing = r[5] if isinstance(r[5], Mapping) else json.loads(r[5])
    return TariffVersion(
        r[0],
        Service(r[1]),
        pricing_from_json(pricing),
        parse_date(r[3]),
        parse_date(r[4]) if r[4] else None,
        Zone(r[2]) if r[2] else None,
    )


def reading_context(  # noqa: PLR0917 - the rows of one load, in query order
    settings: UtilitySettings,
    msisdn: str,
    binding_rows: Iterable[Row],
    seen: bool,
    account_row: Row | None,
    totals: Row | None,
    item_rows: Iterable[Row],
    meter_rows: Iterable[Row],
    reading_rows: Iterable[Row],
    tariff_rows: Iterable[Row],
    fixed_rows: Iterable[Row] = (),
) -> ReadingContext:
    """``fixed_rows`` are the ``(service, period)`` of the fixed charges billed since
    :func:`billing_core.fixed_charges_since`."""
    snapshot = None
    if account_row is not None and totals is not None:
        snapshot = AccountSnapshot(
            account(account_row),
            meters(meter_rows),
            histories(reading_rows),
            tuple(tariff(r) for r in tariff_rows),
            ledger(totals, item_rows),
            frozenset((Service(r[0]), period_from(r[1])) for r in fixed_rows),
        )
    return ReadingContext(settings, msisdn, tuple(binding(r) for r in binding_rows), snapshot, seen)


def accounts_to_close(  # noqa: PLR0917 - the rows of one load, in query order
    account_rows: Iterable[Row],
    item_rows: Iterable[Row],
    service_rows: Iterable[Row],
    meter_rows: Iterable[Row],
    reading_rows: Iterable[Row],
    tariff_rows: Iterable[Row],
    read_rows: Iterable[Row],
    fixed_rows: Iterable[Row],
    accrued_rows: Iterable[Row],
    paid_rows: Iterable[Row],
    late_rows: Iterable[Row] = (),
) -> list[AccountToClose]:
    """The accounts a close loads, in the order of ``account_rows``.

    Rows lead with the account number (but readings and tariffs): ``account_rows``
    as :func:`account` then :func:`ledger`'s totals; ``item_rows`` (number, open
    item); ``service_rows`` (number, service); ``meter_rows`` (number, meter as
    :func:`meters`); ``reading_rows`` as :func:`reading`, the accepted ones of those
    meters' registers; ``tariff_rows`` as :func:`tariff`, the utility's; ``read_rows``
    (number, meter id) read in the period; ``fixed_rows`` (number, service) billed
    their fixed charge for it; ``accrued_rows`` (number, period, penalty accrued);
    ``paid_rows`` (number, period, paid on, principal paid, the item's due date);
    ``late_rows`` (number, period, billed at, amount) of the charges billed on or
    after their due date (or about: the core tells by the utility's day).
    """
    items: dict[str, list[Row]] = {}
    for r in item_rows:
        items.setdefault(r[0], []).append(r[1:])
    services: dict[str, set[Service]] = {}
    for number, service in service_rows:
        services.setdefault(number, set()).add(Service(service))
    meter_lists: dict[str, list[Row]] = {}
    for r in meter_rows:
        meter_lists.setdefault(r[0], []).append(r[1:])
    history = histories(reading_rows)
    tariffs = tuple(tariff(r) for r in tariff_rows)
    read: dict[str, set[int]] = {}
    for number, meter_id in read_rows:
        read.setdefault(number, set()).add(int(meter_id))
    fixed: dict[str, set[Service]] = {}
    for number, service in fixed_rows:
        fixed.setdefault(number, set()).add(Service(service))
    accrued: dict[str, dict[Period, Decimal]] = {}
    for number, period, amount in accrued_rows:
        accrued.setdefault(number, {})[period_from(period)] = _D(amount)
    paid: dict[str, dict[Period, list[PrincipalPaid]]] = {}
    for number, period, paid_on, amount, due in paid_rows:
        paid.setdefault(number, {}).setdefault(period_from(period), []).append(
            PrincipalPaid(parse_date(paid_on), _D(amount), parse_date(due) if due else None)
        )
    late: dict[str, dict[Period, list[LateCharge]]] = {}
    for number, period, billed_at, amount in late_rows:
        late.setdefault(number, {}).setdefault(period_from(period), []).append(
            LateCharge(parse_time(billed_at), _D(amount))
        )
    result = []
    for r in account_rows:
        number = r[0]
        account_meters = meters(meter_lists.get(number, ()))
        registers = {g.id for m in account_meters for g in m.registers}
        result.append(
            AccountToClose(
                account(r[:4]),
                frozenset(services.get(number, ())),
                account_meters,
                {i: h for i, h in history.items() if i in registers},
                tariffs,
                ledger(r[4:9], items.get(number, ())),
                frozenset(read.get(number, ())),
                frozenset(fixed.get(number, ())),
                accrued.get(number, {}),
                {p: tuple(v) for p, v in paid.get(number, {}).items()},
                {p: tuple(v) for p, v in late.get(number, {}).items()},
            )
        )
    return result


def since_for_tariffs(reading_rows: Iterable[Row], now: datetime) -> str:
    """The first day tariffs are needed from: the oldest loaded reading's (else today's),
    or the start of the first period whose fixed charge may be billed, if earlier."""
    oldest = min((parse_time(r[3]) for r in reading_rows), default=now)
    since = min((oldest - timedelta(days=1)).date(), fixed_charges_since(now).start)
    return since.isoformat()


def notice(r: Row) -> NoticeRecord:
    """From ``(id, kind, account, msisdn, text, created_at, send_at, service, state,
    delivered_at, amount)``: the notice as planned. Its SMPP ids, state and delivery
    time are its message's (see :mod:`smpp_engine.billing.notices`)."""
    return NoticeRecord(
        NoticeKind(r[1]),
        r[2],
        r[3],
        r[4],
        parse_time(r[5]),
        parse_time(r[6]) if r[6] else None,
        Service(r[7]) if r[7] else None,
        (),
        DeliveryState(r[8]),
        parse_time(r[9]) if r[9] else None,
        _D(r[10]),
        r[0],
    )


def keyed_notice(r: Row) -> NoticeRecord:
    """A notice a run stored: the columns of :func:`notice`, then its key."""
    return replace(notice(r[:11]), key=r[11])


def payment(r: Row) -> Payment:
    """From ``(id, account, amount, paid_on, reference, period)``."""
    return Payment(
        r[1], _D(r[2]), parse_date(r[3]), r[4], period_from(r[5]) if r[5] else None, r[0]
    )


#: Months of charges the usual monthly charge is averaged over.
AVERAGE_MONTHS = 6


def notice_context(  # noqa: PLR0917 - the rows of one load, in query order
    settings: UtilitySettings,
    account_row: Row,
    binding_rows: Iterable[Row],
    totals: Row,
    item_rows: Iterable[Row],
    charge_rows: Iterable[Row],
    warned: Iterable[str],
    capped_rows: Iterable[Row],
    last_period: str | None,
    verification_rows: Iterable[Row] = (),
) -> NoticeContext:
    """``charge_rows`` are ``(period, service, amount)`` sums of the recent months.

    A service's usual monthly charge is its average over the months charged
    among the last six; its debt, each open item's principal shared out in
    proportion to the services' charges of that month (an opening balance,
    with no charges behind it, is no service's). ``verification_rows`` are
    ``(serial, service, verification date)`` of the meters that have one.
    """
    value = ledger(totals, item_rows)
    by_period: dict[str, dict[Service, Decimal]] = {}
    for period, service, amount in charge_rows:
        sums = by_period.setdefault(str(period), {})
        sums[Service(service)] = sums.get(Service(service), _D(0)) + _D(amount)
    recent = sorted(by_period)[-AVERAGE_MONTHS:]
    monthly: dict[Service, Decimal] = {}
    for period in recent:
        for service, amount in by_period[period].items():
            monthly[service] = monthly.get(service, _D(0)) + amount
    monthly = {s: total / len(recent) for s, total in monthly.items()}
    debts: dict[Service, Decimal] = {}
    for item in value.open_items:
        sums = by_period.get(str(item.period), {})
        whole = sum(sums.values(), _D(0))
        if whole <= 0:
            continue
        for service, amount in sums.items():
            debts[service] = debts.get(service, _D(0)) + item.principal * amount / whole
    capped: dict[str, list[datetime]] = {}
    for msisdn, at in capped_rows:
        capped.setdefault(msisdn, []).append(parse_time(at))
    return NoticeContext(
        settings,
        account(account_row),
        tuple(binding(r) for r in binding_rows),
        value.balance.amount,
        value.oldest_due_date(),
        sum(monthly.values(), _D(0)),
        {
            s: ServiceDebt(debts.get(s, _D(0)), monthly.get(s, _D(0)))
            for s in monthly.keys() | debts.keys()
        },
        frozenset(Service(s) for s in warned),
        {m: tuple(sorted(t)) for m, t in capped.items()},
        period_from(last_period) if last_period else None,
        verifications=tuple(
            MeterVerification(serial, Service(service), parse_date(due))
            for serial, service, due in verification_rows
        ),
    )


def notice_contexts(  # noqa: PLR0917 - the rows of one page's load, in query order
    settings: UtilitySettings,
    warned_since: datetime,
    account_rows: Iterable[Row],
    item_rows: Iterable[Row],
    binding_rows: Iterable[Row],
    charge_rows: Iterable[Row],
    warned_rows: Iterable[Row],
    capped_rows: Iterable[Row],
    last_rows: Iterable[Row],
    key_rows: Iterable[Row],
    verification_rows: Iterable[Row] = (),
) -> list[NoticeContext]:
    """The notice contexts of a page of accounts, in the order of ``account_rows``.

    Rows lead with the account number, but ``capped_rows`` (MSISDN, send time),
    which count for every account the phone is bound to: ``account_rows`` as
    :func:`account` then :func:`ledger`'s totals; ``item_rows`` (number, open item);
    ``binding_rows`` as :func:`binding` (MSISDN first, then the number);
    ``charge_rows`` (number, period, service, amount); ``warned_rows`` (number,
    service, created at) of the disconnection warnings, kept from ``warned_since``;
    ``last_rows`` (number, latest accepted reading's period); ``key_rows`` (number,
    notice key); ``verification_rows`` (number, serial, service, verification date) of
    the meters that have one, in meter order.
    """
    items: dict[str, list[Row]] = {}
    for r in item_rows:
        items.setdefault(r[0], []).append(r[1:])
    bindings: dict[str, list[Row]] = {}
    for r in binding_rows:
        bindings.setdefault(r[1], []).append(r)
    charges: dict[str, list[Row]] = {}
    for r in charge_rows:
        charges.setdefault(r[0], []).append(r[1:])
    warned: dict[str, set[str]] = {}
    for number, service, at in warned_rows:
        if parse_time(at) >= warned_since:
            warned.setdefault(number, set()).add(service)
    capped: dict[str, list[Row]] = {}
    for r in capped_rows:
        capped.setdefault(r[0], []).append(r)
    last = {number: period for number, period in last_rows}
    keys: dict[str, set[str]] = {}
    for number, key in key_rows:
        keys.setdefault(number, set()).add(key)
    verifications: dict[str, list[Row]] = {}
    for r in verification_rows:
        verifications.setdefault(r[0], []).append(r[1:])
    contexts = []
    for r in account_rows:
        number = r[0]
        phones = bindings.get(number, [])
        context = notice_context(
            settings,
            r[:4],
            phones,
            r[4:9],
            items.get(number, ()),
            charges.get(number, ()),
            warned.get(number, ()),
            [c for b in phones for c in capped.get(b[0], ())],
            last.get(number),
            verifications.get(number, ()),
        )
        contexts.append(replace(context, stored_keys=frozenset(keys.get(number, ()))))
    return contexts


def charge_lines_json(lines: Iterable[Any]) -> str:
    return dumps(
        [
            [
                line.service.value,
                line.label,
                str(line.quantity),
                str(line.price),
                str(line.amount),
                line.tariff_id,
                line.days,
            ]
            for line in lines
        ]
    )


def period_text(period: Period | None) -> str | None:
    return None if period is None else str(period)


class UnknownAccountError(LookupError):
    """No account with this number is stored."""

    def __init__(self, account_number: str) -> None:
        super().__init__(f"unknown account {account_number!r}")
        self.account_number = account_number
