"""Billing by SMS on the gateway: the MO self-service on top of the pure ``billing_core``.

Each name loads its module when first used: ``smpp-engine billing sms`` needs the
self-service alone, not the notices runs and their metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .notice_run import NOTICE_PAGE, RUN_YEARS, NoticeRunSummary, run_notices
    from .notice_states import NOTICE_STATES, NOTICE_WINDOW, count_notice_states, sample_notices
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
    from .warning_proofs import WarningFollowUp, account_warnings, follow_up_warnings

__all__ = [
    "NOTICE_PAGE",
    "NOTICE_STATES",
    "NOTICE_WINDOW",
    "RUN_YEARS",
    "MessageFate",
    "NoticeRunSummary",
    "PaymentResult",
    "ReplyQueue",
    "SmsSelfService",
    "WarningFollowUp",
    "account_warnings",
    "count_notice_states",
    "follow_up_warnings",
    "load_notice",
    "message_fate",
    "post_and_confirm",
    "queue_notices",
    "recent_notices",
    "reply_fate",
    "run_notices",
    "sample_notices",
]


__getattr__ = lazy_exports(
    __name__,
    globals(),
    {
        "notice_run": ("NOTICE_PAGE", "RUN_YEARS", "NoticeRunSummary", "run_notices"),
        "notice_states": (
            "NOTICE_STATES",
            "NOTICE_WINDOW",
            "count_notice_states",
            "sample_notices",
        ),
        "notices": (
            "MessageFate",
            "follow_up_warnings",
            "load_notice",
            "message_fate",
            "queue_notices",
            "recent_notices",
            "reply_fate",
        ),
        "payments": ("PaymentResult", "post_and_confirm"),
        "service": ("ReplyQueue", "SmsSelfService"),
        "warning_proofs": ("WarningFollowUp", "account_warnings", "follow_up_warnings"),
    },
)
