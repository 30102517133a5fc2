"""How billing values travel to and from both stores: text for money, times and periods.

Money and meter values are decimal text (``"1027.20"``), never floats; times are
ISO 8601 in UTC with microseconds (so they sort as text in SQLite); dates
``YYYY-MM-DD``; periods ``YYYY-MM``. Settings and tariff pricings are JSON
documents with the same conventions (see :mod:`.importing`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_core import (
    BlockVolume,
    DisconnectionRules,
    FixedCharge,
    Flat,
    FrequencyCaps,
    Graduated,
    Intent,
    Language,
    MoneyFormat,
    NoticeRules,
    PenaltySchedule,
    PenaltyStretch,
    Period,
    Plausibility,
    Pricing,
    QuietHours,
    ReadingWindow,
    Rounding,
    Service,
    SettingsError,
    SocialNorm,
    UtilitySettings,
    WindowPolicy,
    Zone,
    Zoned,
)
from billing_core.tariffs import Band

__all__ = [
    "decimal_from",
    "iso_time",
    "parse_time",
    "period_from",
    "pricing_from_json",
    "pricing_to_json",
    "settings_from_json",
    "settings_to_json",
    "stored_text",
]


def iso_time(instant: datetime) -> str:
    """``instant`` (aware) as fixed-width ISO text in UTC."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"a stored time must be timezone-aware, got {instant!r}")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def stored_text(value: object) -> object:
    """``value`` as SQLite stores it: money and meter values as decimal text, times as
    :func:`iso_time`, dates ISO; anything else as it is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_time(text: str) -> datetime:
    """An ISO time as stored (SQLite) or rendered in JSON (PostgreSQL), aware."""
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    if len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += ":00"  # PostgreSQL writes "+00"
    return datetime.fromisoformat(text)


def decimal_from(value: object, field: str) -> Decimal:
    """Exact decimal text (or an int) as a Decimal; floats are refused."""
    if isinstance(value, bool | float):
        raise SettingsError("a number is decimal text or an integer, never a float", field=field)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise SettingsError("not a number", field=field, value=value) from None
        if result.is_finite():
            return result
    raise SettingsError("not a number", field=field, value=value)


def period_from(text: str) -> Period:
    year, _, month = text.partition("-")
    return Period.checked(int(year), int(month))


def _enum(kind: Any, value: object, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise SettingsError(f"not a {kind.__name__}", field=field, value=value) from None


def _time(text: str, field: str) -> time:
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        raise SettingsError("not a time of day (HH:MM)", field=field, value=text) from None


def _window(value: object, field: str) -> tuple[time, time] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise SettingsError("a window is [start, end]", field=field, value=value)
    return (_time(value[0], field), _time(value[1], field))


def _per_service(value: Mapping[str, object], field: str) -> dict[Service, Decimal]:
    return {
        _enum(Service, k, f"{field}.{k}"): decimal_from(v, f"{field}.{k}") for k, v in value.items()
    }


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise SettingsError("an object is expected", field=key, value=value)
    return value


def settings_from_json(data: Mapping[str, Any]) -> UtilitySettings:
    """A utility's settings from its JSON document; absent keys take the defaults.

    Keys: ``id``, ``time_zone``, ``currency``, ``money_format`` (the fields of
    :class:`MoneyFormat`), ``rounding`` (``mode``, ``quantum``), ``reading_window``
    (``first_day``, ``last_day``, ``outside``), ``due_day``, ``language``,
    ``sender_id``, ``registration_hint``, ``command_aliases`` (word: intent),
    ``account_digits`` ([low, high]), ``confirmation_ttl_hours``, ``key_rate``,
    ``penalty_schedule`` ([[first, last or null, numerator, denominator], ...]),
    ``plausibility`` and ``notices`` (as :func:`settings_to_json` writes them).
    """
    try:
        return _settings(data)
    except SettingsError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise SettingsError(f"malformed settings: {exc}", field="settings") from None


def _settings(data: Mapping[str, Any]) -> UtilitySettings:
    values: dict[str, Any] = {"utility_id": str(data["id"])}
    for key in ("time_zone", "currency", "sender_id", "registration_hint"):
        if key in data:
            values[key] = str(data[key])
    if "due_day" in data:
        values["due_day"] = int(data["due_day"])
    if "language" in data:
        values["language"] = _enum(Language, data["language"], "language")
    if "money_format" in data:
        values["money_format"] = MoneyFormat(**_mapping(data, "money_format"))
    if "rounding" in data:
        rounding = _mapping(data, "rounding")
        values["rounding"] = Rounding(
            str(rounding.get("mode", "ROUND_HALF_UP")),
            decimal_from(rounding.get("quantum", "0.01"), "rounding.quantum"),
        )
    if "reading_window" in data:
        window = _mapping(data, "reading_window")
        values["reading_window"] = ReadingWindow(
            int(window.get("first_day", 15)),
            int(window.get("last_day", 25)),
            _enum(WindowPolicy, window.get("outside", "next_period"), "reading_window.outside"),
        )
    if "command_aliases" in data:
        values["command_aliases"] = {
            str(word): _enum(Intent, intent, f"command_aliases.{word}")
            for word, intent in _mapping(data, "command_aliases").items()
        }
    if "account_digits" in data:
        low, high = data["account_digits"]
        values["account_digits"] = (int(low), int(high))
    if "confirmation_ttl_hours" in data:
        hours = decimal_from(data["confirmation_ttl_hours"], "confirmation_ttl_hours")
        values["confirmation_ttl"] = timedelta(seconds=int(hours * 3600))
    if "key_rate" in data:
        values["key_rate"] = decimal_from(data["key_rate"], "key_rate")
    if "penalty_schedule" in data:
        values["penalty_schedule"] = PenaltySchedule(
            tuple(
                PenaltyStretch(int(a), None if b is None else int(b), int(n), int(d))
                for a, b, n, d in data["penalty_schedule"]
            )
        )
    if "plausibility" in data:
        p = _mapping(data, "plausibility")
        defaults = Plausibility()
        values["plausibility"] = Plausibility(
            decimal_from(p.get("high_factor", "3"), "plausibility.high_factor"),
            _per_service(p["slack"], "plausibility.slack") if "slack" in p else defaults.slack,
            _per_service(p.get("default_daily", {}), "plausibility.default_daily"),
            int(p.get("min_history_days", 20)),
            decimal_from(p.get("rollover_near_top", "0.05"), "plausibility.rollover_near_top"),
        )
    if "notices" in data:
        values["notices"] = _notice_rules(_mapping(data, "notices"))
    return UtilitySettings(**values)


def _optional_decimal(data: Mapping[str, Any], key: str, default: Decimal | None) -> Decimal | None:
    if key not in data:
        return default
    value = data[key]
    return None if value is None else decimal_from(value, f"notices.{key}")


def _notice_rules(n: Mapping[str, Any]) -> NoticeRules:
    defaults = NoticeRules()
    d = _mapping(n, "disconnection")
    base = DisconnectionRules()
    disconnection = DisconnectionRules(
        decimal_from(d.get("months_of_debt", base.months_of_debt), "disconnection.months_of_debt"),
        int(d.get("days_to_pay", base.days_to_pay)),
        int(d.get("days_to_suspension", base.days_to_suspension)),
        frozenset(_enum(Service, s, "disconnection.never_cut") for s in d["never_cut"])
        if "never_cut" in d
        else base.never_cut,
    )
    q = _mapping(n, "quiet_hours")
    quiet = QuietHours(
        _window(q["weekday"], "quiet_hours.weekday") if "weekday" in q else (time(22), time(8)),
        _window(q["weekend"], "quiet_hours.weekend") if "weekend" in q else (time(20), time(9)),
        frozenset(int(x) for x in q.get("weekend_days", (5, 6))),
    )
    c = _mapping(n, "caps")
    caps = FrequencyCaps(
        int(c.get("per_day", 2)), int(c.get("per_week", 4)), int(c.get("per_month", 16))
    )
    return NoticeRules(
        _optional_decimal(n, "debt_threshold", defaults.debt_threshold),
        _optional_decimal(n, "debt_months", defaults.debt_months),
        disconnection,
        frozenset(int(x) for x in n.get("reminder_days", (20,))),
        quiet,
        caps,
        # Absent (documents written before payment reminders): the default; null: never.
        int(n.get("payment_reminder_days", defaults.payment_reminder_days) or 0),
        # Likewise for meter verification invitations.
        int(n.get("verification_days", defaults.verification_days) or 0),
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _window_json(window: tuple[time, time] | None) -> list[str] | None:
    return None if window is None else [window[0].isoformat(), window[1].isoformat()]


def settings_to_json(settings: UtilitySettings) -> dict[str, Any]:
    """The JSON document :func:`settings_from_json` reads back to equal settings."""
    fmt = settings.money_format
    notices = settings.notices
    cut = notices.disconnection
    quiet = notices.quiet_hours
    plausibility = settings.plausibility
    return {
        "id": settings.utility_id,
        "time_zone": settings.time_zone,
        "currency": settings.currency,
        "money_format": {
            "symbol": fmt.symbol,
            "decimal_separator": fmt.decimal_separator,
            "group_separator": fmt.group_separator,
            "symbol_first": fmt.symbol_first,
            "space": fmt.space,
            "decimals": fmt.decimals,
        },
        "rounding": {"mode": settings.rounding.mode, "quantum": str(settings.rounding.quantum)},
        "reading_window": {
            "first_day": settings.reading_window.first_day,
            "last_day": settings.reading_window.last_day,
            "outside": settings.reading_window.outside.value,
        },
        "due_day": settings.due_day,
        "language": settings.language.value,
        "sender_id": settings.sender_id,
        "registration_hint": settings.registration_hint,
        "command_aliases": {w: i.value for w, i in settings.command_aliases.items()},
        "account_digits": list(settings.account_digits),
        "confirmation_ttl_hours": str(
            Decimal(int(settings.confirmation_ttl.total_seconds())) / 3600
        ),
        "key_rate": str(settings.key_rate),
        "penalty_schedule": [
            [s.first_day, s.last_day, s.numerator, s.denominator]
            for s in settings.penalty_schedule.stretches
        ],
        "plausibility": {
            "high_factor": str(plausibility.high_factor),
            "slack": {s.value: str(v) for s, v in plausibility.slack.items()},
            "default_daily": {s.value: str(v) for s, v in plausibility.default_daily.items()},
            "min_history_days": plausibility.min_history_days,
            "rollover_near_top": str(plausibility.rollover_near_top),
        },
        "notices": {
            "debt_threshold": _text(notices.debt_threshold),
            "debt_months": _text(notices.debt_months),
            "disconnection": {
                "months_of_debt": str(cut.months_of_debt),
                "days_to_pay": cut.days_to_pay,
                "days_to_suspension": cut.days_to_suspension,
                "never_cut": sorted(s.value for s in cut.never_cut),
            },
            "reminder_days": sorted(notices.reminder_days),
            "payment_reminder_days": notices.payment_reminder_days,
            "verification_days": notices.verification_days,
            "quiet_hours": {
                "weekday": _window_json(quiet.weekday),
                "weekend": _window_json(quiet.weekend),
                "weekend_days": sorted(quiet.weekend_days),
            },
            "caps": {
                "per_day": notices.caps.per_day,
                "per_week": notices.caps.per_week,
                "per_month": notices.caps.per_month,
            },
        },
    }


def _bands(value: Sequence[Any], field: str) -> tuple[Band, ...]:
    return tuple(
        Band(None if up is None else decimal_from(up, field), decimal_from(price, field))
        for up, price in value
    )


def pricing_from_json(data: Mapping[str, Any]) -> Pricing:
    """A tariff's pricing: ``{"kind": "flat", "price": "5.00"}`` and the like."""
    kind = data.get("kind")
    try:
        if kind == "flat":
            return Flat(decimal_from(data["price"], "price"))
        if kind == "zoned":
            return Zoned(
                {
                    _enum(Zone, z, "prices"): decimal_from(p, f"prices.{z}")
                    for z, p in data["prices"].items()
                }
            )
        if kind == "graduated":
            return Graduated(_bands(data["bands"], "bands"))
        if kind == "block_volume":
            return BlockVolume(_bands(data["bands"], "bands"))
        if kind == "social_norm":
            return SocialNorm(
                decimal_from(data["norm"], "norm"),
                decimal_from(data["within"], "within"),
                decimal_from(data["above"], "above"),
            )
        if kind == "fixed":
            return FixedCharge(decimal_from(data["amount"], "amount"))
    except KeyError as exc:
        raise SettingsError("a pricing field is missing", field=str(exc.args[0])) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"malformed pricing: {exc}", field="pricing") from None
    raise SettingsError(
        "kind is flat, zoned, graduated, block_volume, social_norm or fixed",
        field="kind",
        value=kind,
    )


def pricing_to_json(pricing: Pricing) -> dict[str, Any]:
    if isinstance(pricing, Flat):
        return {"kind": "flat", "price": str(pricing.price)}
    if isinstance(pricing, Zoned):
        return {"kind": "zoned", "prices": {z.value: str(p) for z, p in pricing.prices.items()}}
    if isinstance(pricing, Graduated | BlockVolume):
        kind = "graduated" if isinstance(pricing, Graduated) else "block_volume"
        bands = [[_text(b.up_to), str(b.price)] for b in pricing.bands]
        return {"kind": kind, "bands": bands}
    if isinstance(pricing, SocialNorm):
        return {
            "kind": "social_norm",
            "norm": str(pricing.norm),
            "within": str(pricing.within),
            "above": str(pricing.above),
        }
    return {"kind": "fixed", "amount": str(pricing.amount)}


def dumps(value: object) -> str:
    """Compact JSON, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_date(text: str) -> date:
    return date.fromisoformat(text[:10])
