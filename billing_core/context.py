"""What the store loads, in one round trip, for the core to answer one SMS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .model import (
    Account,
    Language,
    Meter,
    MeterStatus,
    Period,
    PhoneBinding,
    Reading,
    ReadingSource,
    Service,
)
from .payments import Ledger
from .settings import UtilitySettings
from .tariffs import TariffVersion


class RegisterHistory(NamedTuple):
    """A register's recent past.

    ``accepted`` are its last accepted readings, oldest first (a year's worth,
    13 or so, is plenty: they give the average daily use); ``pending`` its
    latest reading awaiting confirmation, if any.
    """

    register_id: int
    accepted: tuple[Reading, ...] = ()
    pending: Reading | None = None

    @property
    def last(self) -> Reading | None:
        return self.accepted[-1] if self.accepted else None

    @property
    def last_real(self) -> Reading | None:
        for reading in reversed(self.accepted):
            if reading.source is not ReadingSource.ESTIMATE:
                return reading
        return None


def fixed_charges_since(now: datetime) -> Period:
    """The first period whose billed fixed charges a reading's context must know.

    A reading counts for the month it is sent in or the next; a confirmation for
    the month its pending reading counted for, sent at most a day or so before.
    The month before ``now``'s (UTC) covers both, whatever the utility's zone.
    """
    return Period.of(now.date()).previous()


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One account as the core needs it to take a reading or answer a balance.

    ``tariffs`` are the versions of the account's services valid on any day
    since the oldest last reading of its registers. ``meters`` are in the order
    the consumer counts them (``1Э`` is the first electricity meter).
    ``fixed_billed`` are the (service, period) pairs whose fixed charge the
    account was billed already, for the recent periods (see
    :func:`fixed_charges_since`): a period's fixed charge is billed once, with
    its first accepted reading.
    """

    account: Account
    meters: tuple[Meter, ...]
    history: Mapping[int, RegisterHistory]
    tariffs: tuple[TariffVersion, ...]
    ledger: Ledger
    fixed_billed: frozenset[tuple[Service, Period]] = frozenset()
    active_meters: tuple[Meter, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        active = tuple(m for m in self.meters if m.status is MeterStatus.ACTIVE)
        object.__setattr__(self, "active_meters", active)

    def register_history(self, register_id: int) -> RegisterHistory:
        """The register's history; an empty one when the store has none."""
        return self.history.get(register_id) or RegisterHistory(register_id)


@dataclass(frozen=True, slots=True)
class ReadingContext:
    """The store's answer to :meth:`BillingRepository.load_context`.

    ``bindings`` are all the accounts the MSISDN is bound to. ``account`` is the
    named account when the MSISDN is bound to it, else the only bound account
    when there is exactly one, else None. ``mo_already_processed`` is true when
    an outcome with this MO message id is stored already (an SMSC redelivery).
    """

    settings: UtilitySettings
    msisdn: str
    bindings: tuple[PhoneBinding, ...]
    account: AccountSnapshot | None = None
    mo_already_processed: bool = False
    _numbers: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_numbers", frozenset(b.account_number for b in self.bindings))

    def is_bound(self, account_number: str) -> bool:
        return account_number in self._numbers

    @property
    def language(self) -> Language:
        """The reply language: the account's, else the utility's."""
        if self.account is not None and self.account.account.language is not None:
            return self.account.account.language
        return self.settings.language
