"""What a billing import writes and what it refuses: the same on both stores.

A store loads what these rules ask about (:class:`ImportLookups`: the rows the
batch names, as :class:`StoredImport`), :func:`decide` goes through the batch
in document order, and the store writes the :class:`ImportPlan`, set-based, in
the import's transaction. A row sees the rows before it: a binding to an
account imported above is good.

Refused, with the field and a message the operator can act on:

- an account or a tariff of a utility not stored (``utility``);
- a binding or a meter of an account not stored (``account``);
- a meter whose serial is stored with another id, or whose id is another
  meter's (``id``); one whose register ids belong to other meters or zones
  (``registers``);
- a tariff whose id is another tariff's (``id``);
- a reading of a meter or register not stored (``meter``).

Kept: a stored account's ledger (only its details change), a stored tariff of
the same utility, service, zone, start and fixedness, a stored reading of the
same register, time and value. Stored meters and registers keep their ids;
new rows without one get the next free id (the highest stored, plus one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .importing import (
    AccountRow,
    BindingRow,
    ImportBatch,
    ImportProblem,
    MeterRow,
    ReadingRow,
    TariffRow,
    UtilityRow,
)
from .rules import Row, charge_rows, ledger_rows

__all__ = ["ImportLookups", "ImportPlan", "StoredImport", "decide", "lookups"]

#: The tables whose new rows the rules number.
NUMBERED = ("billing_service_points", "billing_meters", "billing_registers", "billing_tariffs")


@dataclass(frozen=True, slots=True)
class ImportLookups:
    """What the store loads for :func:`decide` (besides every utility and the highest id
    of each :data:`NUMBERED` table).

    ``accounts``: those of these numbers stored. ``meters``: the meters with these
    serials or ids, and every meter of ``meter_accounts`` (with their account);
    the registers of all of them and those with ``register_ids``; the service
    points of ``meter_accounts``. ``tariffs``: those of these utilities or ids.
    ``readings``: the stored readings of the meters with ``reading_serials``
    taken at ``reading_times``.
    """

    accounts: list[str]
    serials: list[str]
    meter_ids: list[int]
    meter_accounts: list[str]
    register_ids: list[int]
    tariff_utilities: list[str]
    tariff_ids: list[int]
    reading_serials: list[str]
    reading_times: list[datetime]


def _texts(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


def lookups(batch: ImportBatch) -> ImportLookups:
    meters, readings = batch.meters, batch.readings
    return ImportLookups(
        accounts=_texts(
            [a.number for a in batch.accounts]
            + [b.account for b in batch.bindings]
            + [m.account for m in meters]
        ),
        serials=_texts([m.serial for m in meters] + [r.meter for r in readings]),
        meter_ids=_ids(m.id for m in meters),
        meter_accounts=_texts(m.account for m in meters),
        register_ids=_ids(i for m in meters for i, _ in m.registers),
        tariff_utilities=_texts(t.utility for t in batch.tariffs),
        tariff_ids=_ids(t.id for t in batch.tariffs),
        reading_serials=_texts(r.meter for r in readings),
        reading_times=sorted({r.taken_at for r in readings}),
    )


TariffKey = tuple[str, str, str | None, date, bool]  # utility, service, zone, start, fixed


@dataclass(slots=True)
class StoredImport:
    """What the store holds of the rows a batch names (see :class:`ImportLookups`)."""

    utilities: dict[str, bool]  # id: is the default
    accounts: set[str]
    points: dict[tuple[str, str], int]  # (account, service): service point id
    meters: dict[int, tuple[str, str]]  # id: (serial, account)
    registers: dict[int, tuple[int, str]]  # id: (meter id, zone)
    tariffs: dict[int, TariffKey]
    readings: set[tuple[int, datetime, Decimal]]  # register, taken at, value
    last_ids: dict[str, int]  # per NUMBERED table: its highest id (0: none)


@dataclass(slots=True)
class ImportPlan:
    """The rows to write, named by column, and what the import says of the batch.

    New rows are inserted; ``*_changes`` and ``utility_defaults`` update stored
    rows (by key) with the values they hold; ``utilities`` and ``bindings`` are
    upserted.
    """

    utilities: list[Row] = field(default_factory=list)
    utility_defaults: list[Row] = field(default_factory=list)
    accounts: list[Row] = field(default_factory=list)
    open_items: list[Row] = field(default_factory=list)
    charges: list[Row] = field(default_factory=list)
    account_changes: list[Row] = field(default_factory=list)
    bindings: list[Row] = field(default_factory=list)
    service_points: list[Row] = field(default_factory=list)
    meters: list[Row] = field(default_factory=list)
    meter_changes: list[Row] = field(default_factory=list)
    registers: list[Row] = field(default_factory=list)
    register_changes: list[Row] = field(default_factory=list)
    tariffs: list[Row] = field(default_factory=list)
    readings: list[Row] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    problems: list[ImportProblem] = field(default_factory=list)


class _RefusedError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Decision:
    """The batch gone through in order against the stored rows, which it keeps up to date."""

    def __init__(self, stored: StoredImport) -> None:
        self.stored = stored
        self.plan = ImportPlan()
        self.defaults = dict(stored.utilities)  # as loaded
        self.next_ids = {table: stored.last_ids.get(table, 0) + 1 for table in NUMBERED}
        self.by_serial = {serial: id_ for id_, (serial, _) in stored.meters.items()}
        # Meters per account, kept with stored.meters: a new meter's position is the
        # count of its account's (counting them per meter made an import quadratic).
        self.meter_counts = Counter(account for _, account in stored.meters.values())
        self.by_zone = {(m, zone): id_ for id_, (m, zone) in stored.registers.items()}
        self.settings: dict[str, str] = {}
        self.new_accounts: dict[str, Row] = {}
        self.new_meters: dict[int, Row] = {}
        self.new_registers: dict[int, Row] = {}

    def take_id(self, table: str, given: int | None) -> int:
        new = self.next_ids[table] if given is None else given
        self.next_ids[table] = max(self.next_ids[table], new + 1)
        return new

    def known_account(self, number: str) -> None:
        if number not in self.stored.accounts:
            raise _RefusedError("account", f"unknown account {number!r}")

    def known_utility(self, utility: str) -> None:
        if utility not in self.stored.utilities:
            raise _RefusedError("utility", f"unknown utility {utility!r}")

    def utility(self, u: UtilityRow) -> bool:
        utilities = self.stored.utilities
        if u.default:
            for other in utilities:
                utilities[other] = False
        utilities[u.id] = utilities.get(u.id, False) or u.default
        self.settings[u.id] = u.settings
        return True

    def account(self, a: AccountRow) -> bool:
        self.known_utility(a.utility)
        details: Row = {
            "utility_id": a.utility,
            "language": a.language,
            "time_zone": a.time_zone,
            "closed": a.closed,
        }
        if a.number in self.new_accounts:
            self.new_accounts[a.number].update(details)
        elif a.number in self.stored.accounts:
            self.plan.account_changes.append({"number": a.number, **details})
        else:
            ledger = ledger_rows({a.number: a.ledger})
            self.stored.accounts.add(a.number)
            self.new_accounts[a.number] = {**ledger.accounts[0], **details}
            self.plan.open_items.extend(ledger.open_items)
            # Billed before the engine, ahead of their due dates: no billing time.
            self.plan.charges.extend(charge_rows(a.bills, None, None))
        return True

    def binding(self, b: BindingRow) -> bool:
        self.known_account(b.account)
        self.plan.bindings.append(
            {"msisdn": b.msisdn, "account_number": b.account, "opted_out": b.opted_out}
        )
        return True

    def meter(self, m: MeterRow) -> bool:
        self.known_account(m.account)
        old = self.by_serial.get(m.serial)
        if old is not None and m.id is not None and old != m.id:
            raise _RefusedError("id", f"the serial is stored with id {old}")
        if old is None and m.id is not None and m.id in self.stored.meters:
            raise _RefusedError("id", f"id {m.id} belongs to another meter")
        owner_id = old if old is not None else m.id
        clash = None
        for register_id, zone in m.registers:
            owner = None if register_id is None else self.stored.registers.get(register_id)
            if owner is not None and owner != (owner_id, zone):
                clash = register_id
        if clash is not None:
            raise _RefusedError("registers", f"register id {clash} is taken")
        details: Row = {
            "service_point_id": self._point(m.account, m.service),
            "digits": m.digits,
            "decimals": m.decimals,
            "multiplier": m.multiplier,
            "status": m.status,
            "verification_date": m.verification_date,
        }
        if old is None:
            meter_id = self.take_id("billing_meters", m.id)
            # Its place among the account's meters: after those it has.
            position = self.meter_counts[m.account]
            self.new_meters[meter_id] = {
                "id": meter_id,
                "serial": m.serial,
                "position": position,
                **details,
            }
            self.by_serial[m.serial] = meter_id
        elif old in self.new_meters:
            meter_id = old
            self.new_meters[old].update(details)
        else:
            meter_id = old
            self.plan.meter_changes.append({"id": meter_id, **details})
        previous = self.stored.meters.get(meter_id)
        self.stored.meters[meter_id] = (m.serial, m.account)
        if previous is None or previous[1] != m.account:
            if previous is not None:
                self.meter_counts[previous[1]] -= 1
            self.meter_counts[m.account] += 1
        for position, (register_id, zone) in enumerate(m.registers):
            self._register(meter_id, zone, register_id, position)
        return True

    def _point(self, account: str, service: str) -> int:
        point = self.stored.points.get((account, service))
        if point is None:
            point = self.stored.points[(account, service)] = self.take_id(
                "billing_service_points", None
            )
            self.plan.service_points.append(
                {"id": point, "account_number": account, "service": service}
            )
        return point

    def _register(self, meter_id: int, zone: str, given: int | None, position: int) -> None:
        stored = self.by_zone.get((meter_id, zone))
        if stored in self.new_registers:
            self.new_registers[stored]["position"] = position
        elif stored is not None:
            self.plan.register_changes.append({"id": stored, "position": position})
        else:
            new = self.take_id("billing_registers", given)
            self.new_registers[new] = {
                "id": new,
                "meter_id": meter_id,
                "zone": zone,
                "position": position,
            }
            self.by_zone[(meter_id, zone)] = new
            self.stored.registers[new] = (meter_id, zone)

    def tariff(self, t: TariffRow) -> bool:
        """False: the same tariff is stored already (not written, not refused)."""
        self.known_utility(t.utility)
        key = (t.utility, t.service, t.zone, t.valid_from, t.kind == "fixed")
        if key in self.stored.tariffs.values():
            return False
        if t.id is not None and t.id in self.stored.tariffs:
            raise _RefusedError("id", f"id {t.id} belongs to another tariff")
        tariff_id = self.take_id("billing_tariffs", t.id)
        self.stored.tariffs[tariff_id] = key
        self.plan.tariffs.append(
            {
                "id": tariff_id,
                "utility_id": t.utility,
                "service": t.service,
                "zone": t.zone,
                "valid_from": t.valid_from,
                "valid_to": t.valid_to,
                "pricing": t.pricing,
            }
        )
        return True

    def reading(self, r: ReadingRow) -> bool:
        """False: the same reading is stored already (not written, not refused)."""
        meter = self.by_serial.get(r.meter)
        register = None if meter is None else self.by_zone.get((meter, r.zone))
        if register is None:
            raise _RefusedError("meter", f"no meter {r.meter!r} with register {r.zone}")
        key = (register, r.taken_at, r.value)
        if key in self.stored.readings:
            return False
        self.stored.readings.add(key)
        self.plan.readings.append(
            {
                "register_id": register,
                "value": r.value,
                "taken_at": r.taken_at,
                "received_at": r.received_at,
                "source": r.source,
                "status": r.status,
                "period": r.period,
                "mo_message_id": None,
            }
        )
        return True

    def finish(self) -> ImportPlan:
        plan = self.plan
        utilities = self.stored.utilities
        plan.utilities = [
            {"id": u, "settings": settings, "is_default": utilities[u]}
            for u, settings in self.settings.items()
        ]
        plan.utility_defaults = [
            {"id": u, "is_default": default}
            for u, default in utilities.items()
            if u not in self.settings and default != self.defaults.get(u)
        ]
        plan.accounts = list(self.new_accounts.values())
        plan.meters = list(self.new_meters.values())
        plan.registers = list(self.new_registers.values())
        return plan


def _name(section: str, row: object) -> str:
    """How a refused row is named by what the store knows of it (the caller names it
    as the document does)."""
    if isinstance(row, AccountRow):
        return row.number
    if isinstance(row, BindingRow):
        return f"{row.msisdn}/{row.account}"
    if isinstance(row, MeterRow):
        return row.serial
    if isinstance(row, TariffRow):
        return f"{row.utility}/{row.service}/{row.zone or '-'}/{row.valid_from.isoformat()}"
    if isinstance(row, ReadingRow):
        return f"{row.meter}/{row.zone}/{row.taken_at.isoformat()}"
    return section


def decide(batch: ImportBatch, stored: StoredImport) -> ImportPlan:
    """What to write of ``batch`` given ``stored`` (updated as it goes), and what is refused."""
    d = _Decision(stored)
    sections: tuple[tuple[str, Sequence[Any], Callable[[Any], bool]], ...] = (
        ("utilities", batch.utilities, d.utility),
        ("accounts", batch.accounts, d.account),
        ("bindings", batch.bindings, d.binding),
        ("meters", batch.meters, d.meter),
        ("tariffs", batch.tariffs, d.tariff),
        ("readings", batch.readings, d.reading),
    )
    for section, rows, write in sections:
        d.plan.written[section] = 0
        for row in rows:
            try:
                if write(row):
                    d.plan.written[section] += 1
            except _RefusedError as exc:
                d.plan.problems.append(
                    ImportProblem(section, row.at, _name(section, row), exc.field, exc.message)
                )
    return d.finish()
