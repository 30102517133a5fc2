"""Validating a reading: which registers it names, and whether each value can be billed.

The checks run in the order of the billing spec; the caller (:mod:`.roundtrip`)
runs the binding, parse and window checks around these:

3. :func:`resolve`: the meters and registers exist (and the values fit the dials);
5. :func:`check_register`: not lower than the previous reading, unless a guarded
   rollover (previous near the top of the range, the result plausible);
6. the same: consumption within the band around the average daily use, else
   confirmation is asked;
7. the same: the same value again in the same period is a duplicate;
8. :func:`zones_agree`: a total register sent beside the zones agrees with their sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from .context import RegisterHistory
from .grammar import MeterEntry
from .model import FastEnum, Meter, Period, Reading, ReadingSource, Register, Zone
from .money import ZERO
from .outcome import Rejection, RejectionReason
from .settings import Plausibility

_ESTIMATE = ReadingSource.ESTIMATE


class Submitted(NamedTuple):
    """A value the SMS gives for one register of one meter."""

    meter: Meter
    register: Register
    value: Decimal


def _pick(meters: Sequence[Meter], entry: MeterEntry, account_number: str) -> Meter | Rejection:
    if entry.services is None:
        candidates = list(meters)
    else:
        candidates = [m for m in meters if m.service in entry.services]
    if entry.ordinal is not None:
        if 1 <= entry.ordinal <= len(candidates):
            return candidates[entry.ordinal - 1]
        return Rejection(RejectionReason.UNKNOWN_METER, account_number)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return Rejection(RejectionReason.UNKNOWN_METER, account_number)
    return Rejection(RejectionReason.AMBIGUOUS_METER, account_number)


def resolve(
    meters: Sequence[Meter], entries: Sequence[MeterEntry], account_number: str
) -> tuple[Submitted, ...] | Rejection:
    """The registers the SMS's values belong to, or why they cannot be placed.

    Positional values fill the meter's zone registers (or its single one) in
    order, or all its registers when there are as many values.
    """
    submitted: list[Submitted] = []
    seen: set[int] = set()
    for entry in entries:
        meter = _pick(meters, entry, account_number)
        if isinstance(meter, Rejection):
            return meter
        if meter.id in seen:
            return Rejection(RejectionReason.AMBIGUOUS_METER, account_number, meter.serial)
        seen.add(meter.id)
        if entry.positional:
            billing = meter.billing_registers
            count = len(entry.values)
            if count == len(billing):
                registers = billing
            elif count == len(meter.registers):
                registers = meter.registers
            else:
                return Rejection(
                    RejectionReason.WRONG_VALUE_COUNT,
                    account_number,
                    meter.serial,
                    value=Decimal(count),
                )
        else:
            found = []
            for value in entry.values:
                assert value.zone is not None  # MeterEntry is all-named or all-positional
                register = meter.register(value.zone)
                if register is None:
                    return Rejection(
                        RejectionReason.UNKNOWN_REGISTER, account_number, meter.serial, value.zone
                    )
                found.append(register)
            registers = tuple(found)
        top = meter.range
        for register, value in zip(registers, entry.values, strict=True):
            if value.value >= top:
                return Rejection(
                    RejectionReason.VALUE_OUT_OF_RANGE,
                    account_number,
                    meter.serial,
                    register.zone,
                    value.value,
                )
            submitted.append(Submitted(meter, register, value.value))
    return tuple(submitted)


def _step(before: Decimal, after: Decimal, top: Decimal) -> Decimal:
    diff = after - before
    return diff + top if diff < 0 else diff


def average_daily(readings: Sequence[Reading], meter: Meter, min_days: int) -> Decimal | None:
    """Average use per day over the real readings among ``readings`` (oldest first).

    None when they span fewer than ``min_days`` days. A drop between two of them
    is taken for a rollover (they were accepted, so it was one).
    """
    first: Reading | None = None
    last: Reading | None = None
    total = ZERO
    top = meter.range
    for reading in readings:
        if reading.source is _ESTIMATE:
            continue
        if last is None:
            first = reading
        else:
            diff = reading.value - last.value
            total += diff + top if diff < 0 else diff
        last = reading
    if first is None or last is None or last is first:
        return None
    days = (last.taken_at - first.taken_at).days
    if days < min_days or days < 1:
        return None
    return total / days


def _band(
    history: RegisterHistory, meter: Meter, plausibility: Plausibility, now: datetime
) -> tuple[Decimal, Reading] | None:
    """The band and the last real reading it counts from; None: no basis."""
    last_real = history.last_real
    if last_real is None:
        return None
    daily = average_daily(history.accepted, meter, plausibility.min_history_days)
    if daily is None:
        daily = plausibility.default_daily.get(meter.service)
        if daily is None:
            return None
    days = max(1, (now - last_real.taken_at).days)
    expected = daily * days * plausibility.high_factor
    return expected + plausibility.slack.get(meter.service, ZERO), last_real


def high_band(
    history: RegisterHistory, meter: Meter, plausibility: Plausibility, now: datetime
) -> Decimal | None:
    """The most a reading may add since the last real reading before asking; None: unchecked."""
    found = _band(history, meter, plausibility, now)
    return None if found is None else found[0]


def _plausible(
    value: Decimal,
    history: RegisterHistory,
    meter: Meter,
    plausibility: Plausibility,
    now: datetime,
) -> bool | None:
    """Whether ``value`` stays within the band since the last real reading; None: no basis."""
    found = _band(history, meter, plausibility, now)
    if found is None:
        return None
    band, last_real = found
    return _step(last_real.value, value, meter.range) <= band


class Verdict(FastEnum):
    FIRST = "first"  # no previous reading: accepted, nothing to bill
    OK = "ok"
    DUPLICATE = "duplicate"
    TOO_HIGH = "too_high"
    LOWER = "lower"


class RegisterCheck(NamedTuple):
    """One register's value judged: ``consumption`` in meter units since ``previous``."""

    submitted: Submitted
    previous: Reading | None
    consumption: Decimal
    rollover: bool
    verdict: Verdict


def check_register(
    submitted: Submitted,
    history: RegisterHistory,
    *,
    period: Period,
    now: datetime,
    plausibility: Plausibility,
    check_plausible: bool = True,
) -> RegisterCheck:
    """Checks 5-7 for one register (see the module)."""
    accepted = history.accepted
    if not accepted:
        return RegisterCheck(submitted, None, ZERO, False, Verdict.FIRST)
    previous = accepted[-1]
    value = submitted.value
    meter = submitted.meter
    if value < previous.value:
        top = meter.range
        near_top = top - top * plausibility.rollover_near_top
        # Without a basis for the band a rollover cannot be told from a typo.
        if previous.value >= near_top and _plausible(value, history, meter, plausibility, now):
            consumption = value + top - previous.value
            return RegisterCheck(submitted, previous, consumption, True, Verdict.OK)
        return RegisterCheck(submitted, previous, ZERO, False, Verdict.LOWER)
    consumption = value - previous.value
    if not consumption and previous.period == period:
        return RegisterCheck(submitted, previous, ZERO, False, Verdict.DUPLICATE)
    if check_plausible and _plausible(value, history, meter, plausibility, now) is False:
        return RegisterCheck(submitted, previous, consumption, False, Verdict.TOO_HIGH)
    return RegisterCheck(submitted, previous, consumption, False, Verdict.OK)


def zones_agree(meter: Meter, values: Mapping[Zone, Decimal]) -> bool:
    """Whether a T0 sent with all the zone registers equals their sum.

    Each dial drops its hidden decimals, so the sum may be off by up to one last
    digit per zone; the comparison is modulo the range (a dial may have rolled).
    """
    total = values.get(Zone.T0)
    if total is None:
        return True
    zones = [r.zone for r in meter.registers if r.zone is not Zone.T0]
    if not zones or any(zone not in values for zone in zones):
        return True
    top = meter.range
    gap = (total - sum((values[zone] for zone in zones), ZERO)) % top
    if gap < 0:  # Decimal's % keeps the dividend's sign
        gap += top
    tolerance = Decimal(len(zones)) * Decimal(1).scaleb(-meter.decimals)
    return gap <= tolerance or top - gap <= tolerance
