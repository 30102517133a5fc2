"""Billing by SMS on the gateway: the MO self-service on top of the pure ``billing_core``."""

from .service import ReplyQueue, SmsSelfService

__all__ = ["ReplyQueue", "SmsSelfService"]
