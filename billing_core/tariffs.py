"""Tariffs: versions valid over dates, the kinds of pricing, and pricing an interval.

A tariff version prices one service (one zone of it when ``zone`` is set) from
``valid_from`` (inclusive) to ``valid_to`` (exclusive; None: until further
notice). Kinds:

- :class:`Flat`: one price per unit;
- :class:`Zoned`: a price per register zone;
- :class:`Graduated`: each band of the quantity at its own price;
- :class:`BlockVolume`: the whole quantity at the price of the band it reaches;
- :class:`SocialNorm`: a cheaper price within a norm, a dearer one above it;
- :class:`FixedCharge`: an amount per billed period, whatever the quantity.

Band limits, norms and fixed charges are per billed interval (the month, or the
quarter for quarterly water). An interval that crosses a tariff change is split
by days: each version prices its share of the days, with the quantity and its
band limits scaled by the same share. Every line is rounded once, with the
utility's mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, NamedTuple

from .errors import SettingsError, TariffError
from .model import Charge, ChargeKind, ChargeLine, Period, Service, Zone
from .money import CALC, ZERO, Rounding

if TYPE_CHECKING:
    from .settings import UtilitySettings


@dataclass(frozen=True, slots=True)
class Band:
    """A block band: quantities up to ``up_to`` (None: no limit) at ``price``."""

    up_to: Decimal | None
    price: Decimal


@dataclass(frozen=True, slots=True)
class Flat:
    price: Decimal


@dataclass(frozen=True, slots=True)
class Zoned:
    prices: Mapping[Zone, Decimal]


def _check_bands(bands: tuple[Band, ...], kind: str) -> None:
    limits = [b.up_to for b in bands]
    if not bands or limits[-1] is not None or None in limits[:-1]:
        raise SettingsError(f"{kind} bands end with one open band", field="bands", value=limits)
    finite = [limit for limit in limits if limit is not None]
    if any(b <= a for a, b in zip([ZERO, *finite], finite, strict=False)):
        raise SettingsError(f"{kind} band limits must rise", field="bands", value=limits)


@dataclass(frozen=True, slots=True)
class Graduated:
    """Each band at its own price: 18 at 0.35, the next 12 at 0.70, ..."""

    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        _check_bands(self.bands, "graduated")


@dataclass(frozen=True, slots=True)
class BlockVolume:
    """The whole quantity at the price of the band it reaches."""

    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        _check_bands(self.bands, "block volume")


@dataclass(frozen=True, slots=True)
class SocialNorm:
    norm: Decimal
    within: Decimal
    above: Decimal


@dataclass(frozen=True, slots=True)
class FixedCharge:
    """An amount per billed period (a month, or a quarter)."""

    amount: Decimal


Pricing = Flat | Zoned | Graduated | BlockVolume | SocialNorm | FixedCharge


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """One version of a tariff for ``service`` (and ``zone``, if only one zone is priced)."""

    id: int
    service: Service
    pricing: Pricing
    valid_from: date
    valid_to: date | None = None
    zone: Zone | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise SettingsError(
                "a tariff version ends after it starts",
                field="valid_to",
                value=(self.id, self.valid_from, self.valid_to),
            )

    def overlap(self, start: date, end: date) -> int:
        """Days of [start, end) this version is valid on."""
        first = max(start, self.valid_from)
        last = end if self.valid_to is None else min(end, self.valid_to)
        return max(0, (last - first).days)


def _check_coverage(
    group: Sequence[TariffVersion], service: Service, start: date, end: date
) -> None:
    """Raise :class:`TariffError` unless ``group`` covers each day of [start, end) exactly once."""
    covering = sorted(group, key=lambda v: v.valid_from)
    day = start  # the first day not yet covered
    for version in covering:
        if version.valid_from > day:
            break  # a gap before this version
        if version.valid_from < day and version.valid_from >= start:
            raise TariffError(
                "tariff versions overlap", field=service.value, value=(version.id, str(day))
            )
        if day > start and version.valid_from < start:
            raise TariffError(
                "tariff versions overlap", field=service.value, value=(version.id, str(start))
            )
        day = end if version.valid_to is None else version.valid_to
    if day < end:
        raise TariffError(
            "no tariff for the service on this day", field=service.value, value=str(day)
        )


class _Slice(NamedTuple):
    """The part of an interval one version prices: ``days`` of ``total``."""

    version: TariffVersion
    days: int
    total: int
    rounding: Rounding

    def scaled(self, value: Decimal) -> Decimal:
        if self.days == self.total:
            return value
        return value * self.days / self.total

    def line(self, label: str, quantity: Decimal, price: Decimal) -> ChargeLine:
        amount = self.rounding(quantity * price)
        version = self.version
        return ChargeLine(version.service, label, quantity, price, amount, version.id, self.days)


def _graduated_lines(pricing: Graduated, quantity: Decimal, part: _Slice) -> list[ChargeLine]:
    lines: list[ChargeLine] = []
    below = ZERO
    for index, band in enumerate(pricing.bands, 1):
        if quantity <= below:
            break
        top = quantity if band.up_to is None else min(quantity, part.scaled(band.up_to))
        lines.append(part.line(f"band {index}", top - below, band.price))
        below = top
    return lines


def _volume_line(pricing: BlockVolume, quantity: Decimal, part: _Slice) -> ChargeLine:
    for index, band in enumerate(pricing.bands, 1):
        if band.up_to is None or quantity <= part.scaled(band.up_to):
            return part.line(f"volume {index}", quantity, band.price)
    raise AssertionError("unreachable: the last band is open")  # pragma: no cover


def _usage_lines(part: _Slice, usage: Mapping[Zone, Decimal]) -> list[ChargeLine]:
    version = part.version
    pricing = version.pricing
    if isinstance(pricing, Zoned):
        lines = []
        for zone, quantity in usage.items():
            price = pricing.prices.get(zone)
            if price is None:
                raise TariffError(
                    "the zoned tariff has no price for this zone",
                    field=f"{version.service.value}.{zone.value}",
                    value=version.id,
                )
            lines.append(part.line(zone.value, part.scaled(quantity), price))
        return lines
    share = part.scaled(sum(usage.values(), ZERO))
    if isinstance(pricing, Flat):
        return [part.line("flat", share, pricing.price)]
    if isinstance(pricing, Graduated):
        return _graduated_lines(pricing, share, part)
    if isinstance(pricing, BlockVolume):
        return [_volume_line(pricing, share, part)]
    if isinstance(pricing, SocialNorm):
        within = min(share, part.scaled(pricing.norm))
        lines = [part.line("norm", within, pricing.within)]
        if share > within:
            lines.append(part.line("above norm", share - within, pricing.above))
        return lines
    return []  # FixedCharge: billed per period by fixed_lines, not by quantity


def _interval(start: date, end: date) -> tuple[date, date]:
    if end < start:
        raise ValueError(f"interval ends before it starts: {start} .. {end}")
    # Two readings on one day still bill that day's tariff.
    return (start, start + timedelta(days=1)) if end == start else (start, end)


def _relevant(
    versions: Iterable[TariffVersion], service: Service, start: date, end: date
) -> list[TariffVersion]:
    return [v for v in versions if v.service is service and v.overlap(start, end)]


def _usage_lines_exact(
    versions: Iterable[TariffVersion],
    service: Service,
    usage: Mapping[Zone, Decimal],
    start: date,
    end: date,
    *,
    rounding: Rounding,
) -> tuple[ChargeLine, ...]:
    start, end = _interval(start, end)
    total = (end - start).days
    relevant = [
        v
        for v in _relevant(versions, service, start, end)
        if not isinstance(v.pricing, FixedCharge)
    ]
    if len(relevant) == 1:
        only = relevant[0]
        if (
            only.zone is None
            and only.valid_from <= start
            and (only.valid_to is None or only.valid_to >= end)
        ):
            # One version over the whole interval: the usual reading.
            return tuple(_usage_lines(_Slice(only, total, total, rounding), usage))
    by_zone: dict[Zone | None, list[TariffVersion]] = {}
    for version in relevant:
        by_zone.setdefault(version.zone, []).append(version)
    shared = {zone: q for zone, q in usage.items() if zone not in by_zone}
    if shared and None not in by_zone:
        raise TariffError(
            "no tariff for this zone", field=service.value, value=next(iter(shared)).value
        )
    for zone, group in by_zone.items():
        if zone is None and not shared:
            continue
        if zone is not None and zone not in usage:
            continue
        _check_coverage(group, service, start, end)
    lines: list[ChargeLine] = []
    for version in sorted(relevant, key=lambda v: (v.valid_from, v.id)):
        if version.zone is None:
            priced: Mapping[Zone, Decimal] = shared
        elif version.zone in usage:
            priced = {version.zone: usage[version.zone]}
        else:
            continue
        if priced:
            part = _Slice(version, version.overlap(start, end), total, rounding)
            lines.extend(_usage_lines(part, priced))
    return tuple(lines)


def _fixed_lines_exact(
    versions: Iterable[TariffVersion],
    service: Service,
    start: date,
    end: date,
    *,
    rounding: Rounding,
) -> tuple[ChargeLine, ...]:
    start, end = _interval(start, end)
    total = (end - start).days
    lines = []
    for version in sorted(
        _relevant(versions, service, start, end), key=lambda v: (v.valid_from, v.id)
    ):
        if isinstance(version.pricing, FixedCharge):
            days = version.overlap(start, end)
            share = _Slice(version, days, total, rounding).scaled(version.pricing.amount)
            lines.append(
                ChargeLine(service, "fixed", Decimal(1), share, rounding(share), version.id, days)
            )
    return tuple(lines)


def period_lines(
    versions: Iterable[TariffVersion],
    service: Service,
    usage: Mapping[Zone, Decimal],
    start: date,
    end: date,
    *,
    rounding: Rounding,
) -> tuple[ChargeLine, ...]:
    """A whole period's bill for ``service``: the usage lines and the fixed charges."""
    versions = tuple(versions)
    with localcontext(CALC):
        return _usage_lines_exact(
            versions, service, usage, start, end, rounding=rounding
        ) + _fixed_lines_exact(versions, service, start, end, rounding=rounding)


def usage_lines(
    versions: Iterable[TariffVersion],
    service: Service,
    usage: Mapping[Zone, Decimal],
    start: date,
    end: date,
    *,
    rounding: Rounding,
) -> tuple[ChargeLine, ...]:
    """The bill lines for ``usage`` (units per zone) of ``service`` over [start, end).

    A zone with versions of its own is priced by them alone; the other zones by
    the versions without a zone (zoned prices per zone, other kinds on their
    sum). Raises :class:`TariffError` when a day of the interval has no tariff
    for a zone that was used, or two versions claim the same day.
    """
    with localcontext(CALC):
        return _usage_lines_exact(versions, service, usage, start, end, rounding=rounding)


def fixed_lines(
    versions: Iterable[TariffVersion],
    service: Service,
    start: date,
    end: date,
    *,
    rounding: Rounding,
) -> tuple[ChargeLine, ...]:
    """The fixed charges of ``service`` for the billed period [start, end), split by days."""
    with localcontext(CALC):
        return _fixed_lines_exact(versions, service, start, end, rounding=rounding)


def fixed_charge(
    versions: Iterable[TariffVersion],
    account_number: str,
    service: Service,
    period: Period,
    settings: UtilitySettings,
) -> Charge | None:
    """The account's fixed charge of ``service`` for the whole of ``period`` (None: the
    service has no fixed charge then), due on the utility's due day."""
    lines = fixed_lines(versions, service, period.start, period.end, rounding=settings.rounding)
    if not lines:
        return None
    return Charge(
        account_number,
        period,
        service,
        lines,
        period.start,
        period.end,
        None,
        None,
        period.due_date(settings.due_day),
        ChargeKind.FIXED,
    )
