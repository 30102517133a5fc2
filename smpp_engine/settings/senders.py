"""Sender ids in the settings, checked at load by the encoder's own rule.

Every key that names a sender (``[billing] source_addr``, and any added later)
is typed :data:`SenderId`, so ``config check`` refuses what
:func:`smpp_engine.protocol.sender_address` would refuse at submit time (an
alphanumeric sender is printable ASCII in the GSM basic table: ``ACME€`` is
not one), naming the key, the value and why. Empty means none (the default
sender applies).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from ..protocol import PduError, sender_address

__all__ = ["SenderId", "check_sender"]


def check_sender(value: str) -> str:
    """``value`` when the encoder takes it as a sender (or it is empty); ValueError why not."""
    if not value:
        return value
    try:
        sender_address(value)
    except PduError as exc:
        raise ValueError(f"expected a sender id: {exc.reason}") from None
    return value


SenderId = Annotated[str, AfterValidator(check_sender)]
