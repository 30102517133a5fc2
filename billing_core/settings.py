"""A utility's settings (the tenant): clock, money, reading window, checks, penalties, notices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError
from .grammar import Grammar, Intent
from .model import FastEnum, Language, Period, Service
from .money import HALF_UP, MoneyFormat, Rounding
from .notices import NoticeRules
from .penalties import RUSSIAN_SCHEDULE, PenaltySchedule

#: The longest registration hint the reply templates are proven against.
MAX_REGISTRATION_HINT: Final = 24


class WindowPolicy(FastEnum):
    """What happens to a reading sent outside the window."""

    NEXT_PERIOD = "next_period"  # accepted, and counted for the next period
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class ReadingWindow:
    """Days ``first_day``..``last_day`` of each month (local) when readings count for that month."""

    first_day: int = 15
    last_day: int = 25
    outside: WindowPolicy = WindowPolicy.NEXT_PERIOD

    def __post_init__(self) -> None:
        if not 1 <= self.first_day <= self.last_day <= 31:
            raise SettingsError(
                "the reading window is days 1-31, first before last",
                field="reading_window",
                value=(self.first_day, self.last_day),
            )

    def period_for(self, day: date) -> Period | None:
        """The period a reading sent on ``day`` counts for; None when it is refused.

        Before the window it counts for this month (whose window is the next to
        open), after it for the next month.
        """
        if self.first_day <= day.day <= self.last_day:
            return Period.of(day)
        if self.outside is WindowPolicy.REFUSE:
            return None
        period = Period.of(day)
        return period if day.day < self.first_day else period.next()


def _frozen(mapping: Mapping[Service, Decimal]) -> Mapping[Service, Decimal]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Plausibility:
    """The band a reading's consumption must stay in.

    The band is ``average daily use * days since the last real reading *
    high_factor + slack``. The average comes from the register's real readings
    spanning at least ``min_history_days``; without such history
    ``default_daily`` is used, and without that the reading is not checked (but a
    rollover is refused: it needs the check). A rollover needs the previous value
    within ``rollover_near_top`` (a fraction of the range) of the top.
    """

    high_factor: Decimal = Decimal(3)
    slack: Mapping[Service, Decimal] = field(
        default_factory=lambda: _frozen(
            {
                Service.ELECTRICITY: Decimal(50),
                Service.COLD_WATER: Decimal(3),
                Service.HOT_WATER: Decimal(3),
                Service.GAS: Decimal(20),
                Service.HEATING: Decimal("0.5"),
            }
        )
    )
    default_daily: Mapping[Service, Decimal] = field(default_factory=lambda: _frozen({}))
    min_history_days: int = 20
    rollover_near_top: Decimal = Decimal("0.05")

    def __post_init__(self) -> None:
        if self.high_factor < 1 or not Decimal(0) < self.rollover_near_top < Decimal("0.5"):
            raise SettingsError(
                "high_factor is at least 1 and rollover_near_top within (0, 0.5)",
                field="plausibility",
                value=(self.high_factor, self.rollover_near_top),
            )


@dataclass(frozen=True, slots=True)
class UtilitySettings:
    """Everything the core needs to know about one utility.

    ``registration_hint`` (how to bind a phone: a site or a short number) is at
    most 24 characters, and the currency symbol at most 4: the reply templates
    are proven to fit one SMS with such values.
    """

    utility_id: str
    time_zone: str = "Europe/Moscow"
    currency: str = "RUB"
    money_format: MoneyFormat = field(default_factory=MoneyFormat)
    rounding: Rounding = HALF_UP
    reading_window: ReadingWindow = field(default_factory=ReadingWindow)
    due_day: int = 15
    language: Language = Language.RU
    sender_id: str = ""
    registration_hint: str = ""
    command_aliases: Mapping[str, Intent] = field(default_factory=dict)
    account_digits: tuple[int, int] = (5, 12)
    confirmation_ttl: timedelta = timedelta(hours=24)
    plausibility: Plausibility = field(default_factory=Plausibility)
    key_rate: Decimal = Decimal("0.095")
    penalty_schedule: PenaltySchedule = RUSSIAN_SCHEDULE
    notices: NoticeRules = field(default_factory=NoticeRules)
    # Derived once, so that each SMS pays for neither.
    grammar: Grammar = field(init=False, repr=False, compare=False)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                "unknown IANA time zone", field="time_zone", value=self.time_zone
            ) from None
        if not 1 <= self.due_day <= 31:
            raise SettingsError("the due day is 1-31", field="due_day", value=self.due_day)
        if len(self.registration_hint) > MAX_REGISTRATION_HINT:
            raise SettingsError(
                f"the registration hint is at most {MAX_REGISTRATION_HINT} characters",
                field="registration_hint",
                value=self.registration_hint,
            )
        if not Decimal(0) <= self.key_rate < 1:
            # 9.5 % is Decimal("0.095"); 9.5 would charge a hundred times too much.
            raise SettingsError("the key rate is a fraction", field="key_rate", value=self.key_rate)
        if self.confirmation_ttl <= timedelta(0):
            raise SettingsError(
                "the confirmation time is positive",
                field="confirmation_ttl",
                value=self.confirmation_ttl,
            )
        object.__setattr__(self, "command_aliases", MappingProxyType(dict(self.command_aliases)))
        object.__setattr__(self, "zone", zone)
        object.__setattr__(self, "grammar", Grammar(self.command_aliases, self.account_digits))
