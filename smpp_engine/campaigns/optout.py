"""Who must not get bulk messages, and which campaigns that applies to.

The opt-out list itself is kept elsewhere (STOP and START replies are billing's
business); this is the snapshot a campaign is planned against. A
:class:`CampaignKind` says whether a campaign honours it: ordinary bulk does, a
legal notice (a disconnection warning, whose delivery receipt is the proof that
the consumer was told) does not, because the law requires it to be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..store.campaigns.model import CampaignKind
from .msisdn import MsisdnError, check_country_code, normalise_msisdn

__all__ = ["CampaignKind", "OptOutList"]


class OptOutList:
    """A set of opted-out MSISDNs, held normalised so any spelling of a number matches.

    Adding a malformed number raises :class:`~.msisdn.MsisdnError`: an opt-out
    that silently matched nothing would be a message the consumer refused.
    """

    def __init__(
        self, msisdns: Iterable[str] = (), *, default_country_code: str | None = None
    ) -> None:
        if default_country_code is not None:
            check_country_code(default_country_code)
        self._country = default_country_code
        self._numbers: set[str] = set()
        for msisdn in msisdns:
            self.add(msisdn)

    def add(self, msisdn: str) -> str:
        """Opt ``msisdn`` out; returns it normalised."""
        number = normalise_msisdn(msisdn, default_country_code=self._country)
        self._numbers.add(number)
        return number

    def discard(self, msisdn: str) -> None:
        """Opt ``msisdn`` back in (no error if it was not out)."""
        self._numbers.discard(normalise_msisdn(msisdn, default_country_code=self._country))

    def is_opted_out(self, msisdn: str) -> bool:
        """Whether ``msisdn`` (in any accepted spelling) is on the list.

        Raises :class:`~.msisdn.MsisdnError` for text that is no phone number.
        """
        if msisdn in self._numbers:  # already normalised: the planner's case
            return True
        return normalise_msisdn(msisdn, default_country_code=self._country) in self._numbers

    def __contains__(self, msisdn: object) -> bool:
        if not isinstance(msisdn, str):
            return False
        if msisdn in self._numbers:
            return True
        if msisdn.isdigit() and msisdn.isascii() and not msisdn.startswith("0"):
            # Normalised digits normalise to themselves (the planner's case): no need
            # to parse them again.
            return False
        try:
            return self.is_opted_out(msisdn)
        except MsisdnError:  # no phone number, so on no list
            return False

    def __len__(self) -> int:
        return len(self._numbers)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._numbers))
