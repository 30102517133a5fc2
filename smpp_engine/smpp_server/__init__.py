"""The SMPP server face: downstream ESMEs (a tenant's systems) bind to the gateway.

- :class:`SmppServer`: the listener, its connections and the receipts going back.
- :class:`Accounts`: the ``[[tenants.smpp]]`` credentials and their binds.
"""

from .accounts import Account, Accounts, BindKind
from .server import SmppServer

__all__ = ["Account", "Accounts", "BindKind", "SmppServer"]
