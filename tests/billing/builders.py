"""Small builders for billing-core test data: a utility, meters, histories, contexts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from billing_core import (
    Account,
    AccountSnapshot,
    Balance,
    Flat,
    Language,
    Ledger,
    Meter,
    OpenItem,
    Period,
    PhoneBinding,
    Reading,
    ReadingContext,
    ReadingSource,
    ReadingStatus,
    Register,
    RegisterHistory,
    Service,
    TariffVersion,
    TextSizer,
    UtilitySettings,
    Zone,
    Zoned,
)
from smpp_engine.protocol import plan_text

D = Decimal
MSISDN = "79161234567"
ACCOUNT = "1234567890"
# 2024-03-20 12:00 in Moscow: inside the default window (15-25), due 15.04.
NOW = datetime(2024, 3, 20, 9, 0, tzinfo=UTC)
#: The billing core sizes texts with the caller's planner: the protocol core's defaults.
SIZER: TextSizer = plan_text


def settings(**overrides: object) -> UtilitySettings:
    values: dict[str, object] = {"utility_id": "acme", "registration_hint": "lk.acme.ru"}
    values.update(overrides)
    return UtilitySettings(**values)  # type: ignore[arg-type]


def two_zone_meter(meter_id: int = 1, *, digits: int = 6) -> Meter:
    """Electricity, day/night: registers 11 (T1) and 12 (T2)."""
    return Meter(
        meter_id,
        f"E-{meter_id}",
        100,
        Service.ELECTRICITY,
        (Register(meter_id * 10 + 1, Zone.T1), Register(meter_id * 10 + 2, Zone.T2)),
        digits=digits,
    )


def single_meter(
    meter_id: int = 3, service: Service = Service.ELECTRICITY, *, digits: int = 5, decimals: int = 0
) -> Meter:
    return Meter(
        meter_id,
        f"S-{meter_id}",
        100 + meter_id,
        service,
        (Register(meter_id * 10, Zone.T0),),
        digits=digits,
        decimals=decimals,
    )


def reading(
    register_id: int,
    value: str | int,
    at: datetime,
    *,
    source: ReadingSource = ReadingSource.SMS,
    status: ReadingStatus = ReadingStatus.ACCEPTED,
    reading_id: int | None = None,
    period: Period | None = None,
) -> Reading:
    return Reading(
        register_id,
        D(value),
        at,
        at,
        source,
        status,
        period or Period.of(at.date()),
        None,
        reading_id,
    )


def monthly(register_id: int, values: Sequence[int | str], last: datetime) -> tuple[Reading, ...]:
    """Accepted readings 30 days apart, the last one at ``last``."""
    count = len(values)
    return tuple(
        reading(register_id, v, last - timedelta(days=30 * (count - 1 - i)))
        for i, v in enumerate(values)
    )


ELECTRICITY_ZONED = TariffVersion(
    1, Service.ELECTRICITY, Zoned({Zone.T1: D("5.92"), Zone.T2: D("1.74")}), date(2024, 1, 1)
)
ELECTRICITY_FLAT = TariffVersion(2, Service.ELECTRICITY, Flat(D("5.00")), date(2024, 1, 1))


def snapshot(
    meters: Sequence[Meter],
    histories: Iterable[RegisterHistory] = (),
    *,
    tariffs: Sequence[TariffVersion] = (ELECTRICITY_ZONED,),
    balance: Decimal = Decimal(0),
    open_items: Sequence[OpenItem] = (),
    language: Language | None = None,
    number: str = ACCOUNT,
    closed: bool = False,
) -> AccountSnapshot:
    return AccountSnapshot(
        Account(number, language, closed=closed),
        tuple(meters),
        {h.register_id: h for h in histories},
        tuple(tariffs),
        Ledger(Balance(opening=balance), tuple(open_items)),
    )


def context(
    account: AccountSnapshot | None,
    *,
    bindings: Sequence[str] | None = None,
    config: UtilitySettings | None = None,
    seen: bool = False,
) -> ReadingContext:
    numbers = [account.account.number] if bindings is None and account else (bindings or [])
    return ReadingContext(
        config or settings(),
        MSISDN,
        tuple(PhoneBinding(MSISDN, n) for n in numbers),
        account,
        seen,
    )


def two_zone_context(**kwargs: object) -> ReadingContext:
    """The spec's account: T1 12000 and T2 5000 read a month ago, no debt."""
    last = NOW - timedelta(days=30)
    histories = (
        RegisterHistory(11, monthly(11, [11700, 11850, 12000], last)),
        RegisterHistory(12, monthly(12, [4840, 4920, 5000], last)),
    )
    return context(snapshot([two_zone_meter()], histories), **kwargs)  # type: ignore[arg-type]
