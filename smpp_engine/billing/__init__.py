"""Billing by SMS on the gateway: the MO self-service on top of the pure ``billing_core``."""

from .notice_run import NOTICE_PAGE, RUN_YEARS, NoticeRunSummary, run_notices
from .notices import (
    MessageFate,
    load_notice,
    message_fate,
    queue_notices,
    recent_notices,
    reply_fate,
)
from .payments import PaymentResult, post_and_confirm
from .service import ReplyQueue, SmsSelfService

__all__ = [
    "NOTICE_PAGE",
    "RUN_YEARS",
    "MessageFate",
    "NoticeRunSummary",
    "PaymentResult",
    "ReplyQueue",
    "SmsSelfService",
    "load_notice",
    "message_fate",
    "post_and_confirm",
    "queue_notices",
    "recent_notices",
    "reply_fate",
    "run_notices",
]
