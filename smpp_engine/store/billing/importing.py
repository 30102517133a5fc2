"""Loading billing data (``smpp-engine billing import``): a JSON document into a store.

The document is one object; every section is optional and is a list of objects::

    {
      "utilities": [{"id": "acme", "default": true, "time_zone": "Europe/Moscow",
                     "due_day": 15, "language": "ru", "registration_hint": "lk.acme.ru",
                     "reading_window": {"first_day": 15, "last_day": 25}, ...}],
      "accounts":  [{"number": "1234567890", "utility": "acme", "language": "ru",
                     "time_zone": null, "closed": false,
                     "opening_balance": "0.00", "opening_period": "2024-02",
                     "opening_due_date": "2024-03-15"}],
      "bindings":  [{"msisdn": "79161234567", "account": "1234567890", "opted_out": false}],
      "meters":    [{"serial": "E-1", "account": "1234567890", "service": "electricity",
                     "digits": 6, "decimals": 0, "multiplier": "1", "status": "active",
                     "id": 1, "registers": [{"zone": "T1", "id": 11}, {"zone": "T2"}],
                     "verification_date": "2031-06-30"}],
      "tariffs":   [{"utility": "acme", "service": "electricity", "zone": null,
                     "valid_from": "2024-01-01", "valid_to": null, "id": 1,
                     "pricing": {"kind": "zoned", "prices": {"T1": "5.92", "T2": "1.74"}}}],
      "readings":  [{"meter": "E-1", "zone": "T1", "value": "12000",
                     "taken_at": "2024-02-20T09:00:00+00:00", "source": "inspector",
                     "period": "2024-02"}],
      "payments":  [{"account": "1234567890", "amount": "500.00", "paid_on": "2024-03-01",
                     "reference": "bank-0001", "period": "2024-02"}]
    }

An account's ``opening_bills`` (optional, for an account not stored yet) are its
unpaid bills before the engine, each ``{"period": "2024-01", "service":
"electricity", "amount": "1480.00", "due_date": "2024-02-15"}``: owed on top of
``opening_balance``, and charges of their service, so that notices know what each
service owes and its usual monthly charge (a disconnection warning needs both).

A utility's other keys are its settings (see
:func:`~.codec.settings_from_json`: ``money_format``, ``rounding``,
``key_rate``, ``penalty_schedule``, ``plausibility``, ``notices``, ...).
Money and meter values are decimal strings (or integers), never floats; times
ISO 8601 with an offset; dates ``YYYY-MM-DD``; periods ``YYYY-MM``. Optional
keys: ``id`` of meters, registers and tariffs (otherwise the next free one:
the highest stored, plus one), a meter's ``verification_date`` (the date its next
verification is due by: meter verification invitations go before it; absent or
null: none), ``period`` of a reading (the month it was taken in), a
reading's ``status`` (``accepted``) and ``received_at`` (``taken_at``).

Importing again updates utilities, account details, bindings and meters,
leaves a stored account's ledger alone, and skips tariffs, readings and
payments already stored (tariffs by utility, service, zone, start and
whether they are a fixed charge;
readings by register, time and value; payments by reference). Rows that are
wrong are not written and are reported, each naming its section, position,
item and field; the good rows are written. This module checks each row by
itself; what a store refuses of the rows it holds (an unknown account, a
meter id or register that is another's, ...) is :mod:`.import_rules`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from billing_core import (
    BillingError,
    BillingRepository,
    Charge,
    ChargeLine,
    Language,
    Ledger,
    MeterStatus,
    NoticeContext,
    NoticeRecord,
    Outcome,
    Payment,
    PaymentPosting,
    Period,
    PeriodCloseSummary,
    ReadingSource,
    ReadingStatus,
    Service,
    UtilitySettings,
    Zone,
    post_payment,
)

from ..messages.model import NewMessage
from .codec import (
    decimal_from,
    dumps,
    parse_time,
    period_from,
    pricing_from_json,
    pricing_to_json,
    settings_from_json,
    settings_to_json,
)
from .model import CLOSE_BATCH, ReplyLease, SavedAnswer, StoredNotice

__all__ = [
    "BillingStore",
    "ImportBatch",
    "ImportProblem",
    "ImportReport",
    "import_billing_data",
    "load_billing_json",
]

SECTIONS = ("utilities", "accounts", "bindings", "meters", "tariffs", "readings", "payments")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A row not imported: ``section`` and ``index`` locate it, ``item`` names it."""

    section: str
    index: int
    item: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.section}[{self.index}] {self.item}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Rows written per section, and the rows refused."""

    written: Mapping[str, int]
    problems: tuple[ImportProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class UtilityRow(NamedTuple):
    at: int  # its index in its section of the document
    id: str
    settings: str  # JSON (codec.settings_to_json)
    default: bool


_ONE = Decimal(1)


class AccountRow(NamedTuple):
    at: int
    number: str
    utility: str
    language: str | None
    time_zone: str | None
    closed: bool
    ledger: Ledger  # its opening balance and bills, for an account not stored yet
    bills: tuple[Charge, ...] = ()  # its unpaid bills (charges), for an account not stored yet


class BindingRow(NamedTuple):
    at: int
    msisdn: str
    account: str
    opted_out: bool


#: The reply to queue instead, given the charges of an outcome a store left out (billed
#: already) and the account's ledger as saved.
Restate = Callable[[Sequence[Charge], Ledger], NewMessage | None]


class MeterRow(NamedTuple):
    at: int
    id: int | None
    account: str
    service: str
    serial: str
    digits: int
    decimals: int
    multiplier: Decimal
    status: str
    registers: tuple[tuple[int | None, str], ...]  # (id, zone) in order
    verification_date: date | None = None  # the next verification (поверка) is due by then


class TariffRow(NamedTuple):
    at: int
    id: int | None
    utility: str
    service: str
    zone: str | None
    valid_from: date
    valid_to: date | None
    pricing: str  # JSON (codec.pricing_to_json)
    kind: str  # the pricing's kind


class ReadingRow(NamedTuple):
    at: int
    meter: str  # its serial
    zone: str
    value: Decimal
    taken_at: datetime
    received_at: datetime
    source: str
    status: str
    period: str


@dataclass(slots=True)
class ImportBatch:
    """Checked rows, each with its position in the document (see
    :mod:`.import_rules` for what a store refuses of them)."""

    utilities: list[UtilityRow] = field(default_factory=list)
    accounts: list[AccountRow] = field(default_factory=list)
    bindings: list[BindingRow] = field(default_factory=list)
    meters: list[MeterRow] = field(default_factory=list)
    tariffs: list[TariffRow] = field(default_factory=list)
    readings: list[ReadingRow] = field(default_factory=list)


class BillingStore(BillingRepository, Protocol):
    """A store that is a billing repository, and loads what :func:`import_billing_data` checked."""

    async def load_settings(self, utility_id: str | None = None) -> UtilitySettings:
        """A utility's settings (the default utility's when ``utility_id`` is None)."""
        ...

    async def write_billing_import(
        self, batch: ImportBatch
    ) -> tuple[dict[str, int], list[ImportProblem]]:
        """Write ``batch`` in one transaction: the rows written, and the rows refused."""
        ...

    async def copy_billing_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append ``rows`` to a billing table as they are, in bulk (benchmark data sets).

        No checks: the caller vouches for the rows. ``table`` must start with
        ``billing_``.
        """
        ...

    async def save_answer(
        self,
        outcome: Outcome,
        reply: NewMessage | None,
        *,
        now: float,
        lease: ReplyLease | None,
        restate: Restate | None = None,
    ) -> SavedAnswer:
        """Save ``outcome`` (as ``save_outcome``) and queue ``reply`` in one transaction.

        The reply is stored QUEUED, or with ``lease`` SUBMITTING under it (and
        returned ready to submit, no claim needed); its id is kept on the MO. When
        the ledger saved does not hold the balance the outcome computed (a charge
        billed already left out: a fixed charge a concurrent reading billed; or a
        change saved since the ledger was loaded), the reply queued is
        ``restate(the charges left out, the ledger saved)``.
        """
        ...

    async def save_payment_with_notices(
        self,
        posting: PaymentPosting,
        confirmations: Callable[[PaymentPosting], Sequence[NoticeRecord]],
    ) -> bool:
        """``save_payment``, and in the same transaction the notices ``confirmations``
        makes of the posting as stored, kept under the payment's reference."""
        ...

    async def load_notice_contexts(
        self,
        settings: UtilitySettings,
        *,
        now: datetime,
        after: str = "",
        limit: int = CLOSE_BATCH,
    ) -> list[NoticeContext]:
        """The notice contexts (as ``load_notice_context``) of the next ``limit`` accounts
        of ``settings``' utility whose numbers follow ``after``, in number order, with
        those settings; closed accounts too. Empty: none is left. One query per page.

        A phone's ``recent_capped`` are the sends of the last 30 days the caps count
        (:data:`billing_core.CAP_COUNTED`): its notices to every account it is bound
        to, and the campaign messages sent to it; ``stored_keys`` the keys of the
        account's notices stored by runs lately.
        """
        ...

    async def save_run_notices(
        self, notices: Sequence[NoticeRecord], accounts: Sequence[str]
    ) -> list[NoticeRecord]:
        """Store a run's keyed ``notices`` (a key stored already is left as it is), in one
        transaction with reading back the run notices of ``accounts`` not yet queued
        (with ids and keys, in id order): this run's, and those an interrupted run left."""
        ...

    async def unqueued_notices(self, payment_reference: str) -> list[NoticeRecord]:
        """The notices saved with a payment whose message is not queued yet, with ids."""
        ...

    async def link_notices(self, links: Sequence[tuple[int, int]]) -> None:
        """Record ``(notice id, message id)``: the gateway message carrying each notice."""
        ...

    async def load_notice(self, notice_id: int) -> StoredNotice | None:
        """The notice as saved, and its message's id (its fate is that message's)."""
        ...

    async def recent_notices(self, account_number: str, *, limit: int) -> list[StoredNotice]:
        """The account's last ``limit`` notices, newest first, each with its message's id."""
        ...

    async def sent_warnings(
        self,
        *,
        since: datetime,
        utility_id: str | None = None,
        account_number: str | None = None,
    ) -> list[StoredNotice]:
        """The disconnection warnings of the utility's accounts (the default utility
        when ``utility_id`` is None), or of the one account ``account_number`` (then
        ``utility_id`` is not looked at), stored since ``since`` and queued, oldest
        first, each with its key and its message's id."""
        ...

    async def notice_states(self, *, since: datetime) -> dict[tuple[str, str], int]:
        """How many notices of the window stand in each (kind, state): the state of
        the gateway message carrying each (``queued``, ``delivered``... as
        :class:`~smpp_engine.store.MessageState` names them), ``unqueued`` for a notice
        with none yet; pairs with none left out. Every utility's notices.

        The window: the notices stored after the last one whose message was queued
        before ``since`` (so those queued since, and those stored since and not yet
        queued), found through the primary key at the cost of the window's rows."""
        ...

    async def reply_message_id(self, mo_message_id: str) -> int | None:
        """The id of the message that carries the reply to an MO, if one was queued."""
        ...

    async def close_period(
        self,
        period: Period,
        *,
        now: datetime,
        utility_id: str | None = None,
        batch_size: int = CLOSE_BATCH,
    ) -> PeriodCloseSummary:
        """Close ``period`` for every open account of the utility (the default one when
        ``utility_id`` is None), as :mod:`billing_core.period_close` says.

        Accounts are taken ``batch_size`` at a time, in number order: each batch is
        locked, loaded, computed and written in one transaction. Closing a period
        again writes nothing (estimates, fixed charges and penalties are unique per
        period). ``now`` is when the estimates are received.
        """
        ...


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(row: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        if required:
            raise _RowError(key, "is required")
        return None
    if not isinstance(value, str):
        raise _RowError(key, f"must be a string, got {type(value).__name__}")
    return value


def _required(row: Mapping[str, Any], key: str) -> str:
    value = _text(row, key)
    assert value is not None
    return value


def _int(row: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = row.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RowError(key, f"must be an integer, got {value!r}")
    return value


def _enum(kind: Any, row: Mapping[str, Any], key: str, default: str | None = None) -> Any:
    value = row.get(key, default)
    if value is None:
        raise _RowError(key, "is required")
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise _RowError(key, f"{value!r} is not one of {allowed}") from None


def _decimal(row: Mapping[str, Any], key: str, default: str | None = None) -> Decimal:
    value = row.get(key, default)
    if value is None:
        raise _RowError(key, "is required")
    try:
        return decimal_from(value, key)
    except BillingError as exc:
        raise _RowError(key, f"{exc.args[0] if exc.args else exc}: {value!r}") from None


def _date(row: Mapping[str, Any], key: str, *, required: bool = True) -> date | None:
    text = _text(row, key, required=required)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(key, f"{text!r} is not a date YYYY-MM-DD") from None


def _time(row: Mapping[str, Any], key: str) -> datetime:
    text = _required(row, key)
    try:
        value = parse_time(text)
    except ValueError:
        raise _RowError(key, f"{text!r} is not an ISO time") from None
    if value.tzinfo is None:
        raise _RowError(key, f"{text!r} has no UTC offset")
    return value


def _period(row: Mapping[str, Any], key: str) -> Period | None:
    text = _text(row, key, required=False)
    if text is None:
        return None
    try:
        return period_from(text)
    except (ValueError, BillingError):
        raise _RowError(key, f"{text!r} is not a period YYYY-MM") from None


def _utility(row: Mapping[str, Any]) -> tuple[str, str, bool]:
    utility_id = _required(row, "id")
    settings_doc = {k: v for k, v in row.items() if k != "default"}
    try:
        settings = settings_from_json(settings_doc)
    except BillingError as exc:
        raise _RowError(getattr(exc, "field", None) or "settings", str(exc)) from None
    return utility_id, dumps(settings_to_json(settings)), bool(row.get("default", False))


def _account(row: Mapping[str, Any]) -> tuple[Any, ...]:
    number = _required(row, "number")
    utility = _required(row, "utility")
    language = None if row.get("language") is None else _enum(Language, row, "language").value
    time_zone = _text(row, "time_zone", required=False)
    opening = _decimal(row, "opening_balance", "0")
    period = _period(row, "opening_period")
    due = _date(row, "opening_due_date", required=False)
    if opening != 0 and period is None:
        raise _RowError("opening_period", "is required with a non-zero opening balance")
    ledger = Ledger.opening(opening, period or Period(2000, 1), due)
    bills = _bills(number, row.get("opening_bills") or [])
    for bill in bills:
        ledger = ledger.charge(bill.period, bill.amount, bill.due_date)
    return (number, utility, language, time_zone, bool(row.get("closed", False)), ledger, bills)


def _bills(number: str, entries: object) -> tuple[Charge, ...]:
    """An account's unpaid bills before the engine: each a charge of its service for its
    period (one line, ``opening``), so notices know what each service owes and its usual
    monthly charge."""
    if not isinstance(entries, list):
        raise _RowError("opening_bills", "must be a list")
    bills = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise _RowError("opening_bills", "each bill is an object")
        service = _enum(Service, entry, "service")
        period = _period(entry, "period")
        if period is None:
            raise _RowError("opening_bills", "a bill names its period")
        amount = _decimal(entry, "amount")
        if amount <= 0:
            raise _RowError("opening_bills", f"an amount above 0, not {amount}")
        due = _date(entry, "due_date")
        line = ChargeLine(service, "opening", _ONE, amount, amount, 0, period.days)
        bills.append(
            Charge(number, period, service, (line,), period.start, period.end, None, None, due)
        )
    return tuple(bills)


def _binding(row: Mapping[str, Any]) -> tuple[str, str, bool]:
    msisdn = _required(row, "msisdn")
    if not msisdn.isdigit():
        raise _RowError("msisdn", f"{msisdn!r} is not digits only")
    return msisdn, _required(row, "account"), bool(row.get("opted_out", False))


def _meter(row: Mapping[str, Any]) -> tuple[Any, ...]:
    serial = _required(row, "serial")
    account = _required(row, "account")
    service = _enum(Service, row, "service")
    digits = _int(row, "digits", 5)
    decimals = _int(row, "decimals", 0)
    assert digits is not None and decimals is not None
    if not 1 <= digits <= 12 or not 0 <= decimals <= 4:
        raise _RowError("digits", "digits are 1-12 and decimals 0-4")
    multiplier = _decimal(row, "multiplier", "1")
    status = _enum(MeterStatus, row, "status", "active")
    registers = row.get("registers") or [{"zone": "T0"}]
    if not isinstance(registers, list):
        raise _RowError("registers", "must be a list")
    zones: list[tuple[int | None, str]] = []
    for entry in registers:
        if not isinstance(entry, Mapping):
            raise _RowError("registers", "each register is an object")
        zone = _enum(Zone, entry, "zone").value
        if any(z == zone for _, z in zones):
            raise _RowError("registers", f"zone {zone} appears twice")
        zones.append((_int(entry, "id", None), zone))
    return (
        _int(row, "id", None),
        account,
        service.value,
        serial,
        digits,
        decimals,
        multiplier,
        status.value,
        tuple(zones),
        _date(row, "verification_date", required=False),
    )


def _tariff(row: Mapping[str, Any]) -> tuple[Any, ...]:
    utility = _required(row, "utility")
    service = _enum(Service, row, "service")
    zone = None if row.get("zone") is None else _enum(Zone, row, "zone").value
    valid_from = _date(row, "valid_from")
    valid_to = _date(row, "valid_to", required=False)
    assert valid_from is not None
    if valid_to is not None and valid_to <= valid_from:
        raise _RowError("valid_to", "must be after valid_from")
    pricing = row.get("pricing")
    if not isinstance(pricing, Mapping):
        raise _RowError("pricing", "must be an object")
    try:
        parsed = pricing_from_json(pricing)
    except BillingError as exc:
        raise _RowError(f"pricing.{getattr(exc, 'field', '') or 'kind'}", str(exc)) from None
    document = pricing_to_json(parsed)
    return (
        _int(row, "id", None),
        utility,
        service.value,
        zone,
        valid_from,
        valid_to,
        dumps(document),
        document["kind"],
    )


def _reading(row: Mapping[str, Any]) -> tuple[Any, ...]:
    serial = _required(row, "meter")
    zone = _enum(Zone, row, "zone", "T0").value
    value = _decimal(row, "value")
    if value < 0:
        raise _RowError("value", "must not be negative")
    taken_at = _time(row, "taken_at")
    received_at = _time(row, "received_at") if row.get("received_at") else taken_at
    source = _enum(ReadingSource, row, "source", "inspector").value
    status = _enum(ReadingStatus, row, "status", "accepted").value
    period = _period(row, "period") or Period.of(taken_at.date())
    return (serial, zone, value, taken_at, received_at, source, status, str(period))


def _payment(row: Mapping[str, Any]) -> Payment:
    amount = _decimal(row, "amount")
    if amount <= 0:
        raise _RowError("amount", "must be positive")
    paid_on = _date(row, "paid_on")
    assert paid_on is not None
    return Payment(
        _required(row, "account"),
        amount,
        paid_on,
        _required(row, "reference"),
        _period(row, "period"),
    )


_NAMES = {
    "utilities": ("id",),
    "accounts": ("number",),
    "bindings": ("msisdn", "account"),
    "meters": ("serial",),
    "tariffs": ("utility", "service", "zone", "valid_from"),
    "readings": ("meter", "zone", "taken_at"),
    "payments": ("reference",),
}


def item_name(section: str, row: object) -> str:
    """How a problem names the row: its key fields, or its position when it has none."""
    if not isinstance(row, Mapping):
        return "?"
    parts = [str(row[k]) for k in _NAMES[section] if row.get(k) is not None]
    return "/".join(parts) or "?"


async def import_billing_data(store: BillingStore, data: Mapping[str, Any]) -> ImportReport:
    """Check and load ``data`` (the module's format) into ``store``; report what was refused."""
    problems: list[ImportProblem] = []
    unknown = sorted(set(data) - set(SECTIONS))
    for key in unknown:
        problems.append(ImportProblem(key, -1, key, key, "unknown section"))
    batch = ImportBatch()
    payments: list[tuple[int, Payment]] = []
    checkers: dict[str, Any] = {
        "utilities": (_utility, batch.utilities, UtilityRow),
        "accounts": (_account, batch.accounts, AccountRow),
        "bindings": (_binding, batch.bindings, BindingRow),
        "meters": (_meter, batch.meters, MeterRow),
        "tariffs": (_tariff, batch.tariffs, TariffRow),
        "readings": (_reading, batch.readings, ReadingRow),
        "payments": (_payment, payments, None),
    }
    for section in SECTIONS:
        rows = data.get(section, [])
        if not isinstance(rows, Sequence) or isinstance(rows, str):
            problems.append(ImportProblem(section, -1, section, section, "must be a list"))
            continue
        check, target, kind = checkers[section]
        for index, row in enumerate(rows):
            name = item_name(section, row)
            if not isinstance(row, Mapping):
                problems.append(ImportProblem(section, index, name, section, "must be an object"))
                continue
            try:
                checked = check(row)
            except _RowError as exc:
                problems.append(ImportProblem(section, index, name, exc.field, exc.message))
                continue
            target.append((index, checked) if kind is None else kind(index, *checked))
    written, refused = await store.write_billing_import(batch)
    for problem in refused:  # named as the document names the row
        row = data[problem.section][problem.index]
        problems.append(
            ImportProblem(
                problem.section,
                problem.index,
                item_name(problem.section, row),
                problem.field,
                problem.message,
            )
        )
    paid = 0
    for index, payment in payments:
        name = item_name("payments", data["payments"][index])
        if await store.find_payment(payment.reference) is not None:
            continue
        try:
            ledger = await store.load_ledger(payment.account_number)
        except LookupError:
            problems.append(ImportProblem("payments", index, name, "account", "unknown account"))
            continue
        if await store.save_payment(post_payment(ledger, payment)):
            paid += 1
    counts = dict(written)
    counts["payments"] = paid
    problems.sort(
        key=lambda p: (SECTIONS.index(p.section) if p.section in SECTIONS else -1, p.index)
    )
    return ImportReport(counts, tuple(problems))


def load_billing_json(path: str) -> Mapping[str, Any]:
    """A billing document from a file (decimals stay exact)."""
    with open(path, encoding="utf-8") as handle:
        document: Mapping[str, Any] = json.load(handle, parse_float=Decimal)
    return document
