"""Who may bind, how, and how often; and which account an MO belongs to."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ..protocol import CommandStatus
from .scenario import Account, BindType

_S = CommandStatus


class Accounts:
    """The configured accounts; with none, every system_id and password binds."""

    __slots__ = ("_by_system_id", "_mo_prefixes")

    def __init__(self, accounts: Sequence[Account]) -> None:
        self._by_system_id = {account.system_id: account for account in accounts}
        prefixes = [
            (prefix, account.system_id)
            for account in accounts
            for prefix in account.mo_destinations
        ]
        # Longest prefix first, so the most specific rule wins.
        self._mo_prefixes = sorted(prefixes, key=lambda item: -len(item[0]))

    @property
    def open(self) -> bool:
        """No accounts configured: any credentials are accepted."""
        return not self._by_system_id

    def get(self, system_id: str) -> Account | None:
        return self._by_system_id.get(system_id)

    def check_bind(
        self, system_id: str, password: str, bind_type: BindType, bound: int, cap: int
    ) -> int:
        """The bind_resp command_status for a bind; ``bound`` is how many binds of
        this system_id are open now, ``cap`` the most any account may have.

        The password is compared in constant time (a guess learns nothing from
        how long the answer took to compute).
        """
        if self.open:
            return _S.ESME_RBINDFAIL if bound >= cap else _S.ESME_ROK
        account = self._by_system_id.get(system_id)
        if account is None:
            return _S.ESME_RINVSYSID
        if not hmac.compare_digest(_octets(password), _octets(account.password)):
            return _S.ESME_RINVPASWD
        if bind_type not in account.bind_types or bound >= min(account.max_binds, cap):
            return _S.ESME_RBINDFAIL
        return _S.ESME_ROK

    def tps(self, system_id: str) -> float | None:
        account = self._by_system_id.get(system_id)
        return None if account is None else account.tps

    def mo_account(self, destination: str) -> str | None:
        """The account an MO to ``destination`` goes to, None when any receiver may take it.

        By the accounts' ``mo_destinations`` (longest prefix); with a single account
        configured, that one.
        """
        for prefix, system_id in self._mo_prefixes:
            if destination.startswith(prefix):
                return system_id
        if len(self._by_system_id) == 1:
            return next(iter(self._by_system_id))
        return None


def _octets(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
