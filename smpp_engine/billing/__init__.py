"""Billing by SMS on the gateway: the MO self-service on top of the pure ``billing_core``."""

from .payments import PaymentResult, post_and_confirm
from .service import ReplyQueue, SmsSelfService

__all__ = ["PaymentResult", "ReplyQueue", "SmsSelfService", "post_and_confirm"]
