"""The durable delivery pipeline: from the store to the SMSC and the receipts back.

- :class:`Pipeline`: accept messages durably, run one :class:`RouteDispatcher`
  per SMSC route, recover after a crash, give up on overdue receipts.
- :class:`SmscRoute`: one SMSC's account, binds, rate, id policy, retries.
- :class:`StatusClassifier` / :class:`Verdict`: what each submit error means.
- :class:`RetryPolicy`: back-off and limits for retries.

Each name loads its module when first used (:mod:`..lazy_exports`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .dispatcher import RouteDispatcher
    from .mo import MoAssembler, MoMessage, mo_message_id
    from .parts import (
        PartCountError,
        ReceiptLevel,
        ScheduleForm,
        SubmitOptions,
        ValidityForm,
        concatenation_reference,
        submit_parts,
    )
    from .pipeline import Pipeline, RouteStatus, default_owner
    from .receipts import PART_STATE, receipt_update
    from .retry import RetryPolicy
    from .route import SmscRoute
    from .sink import UpdateSink
    from .statuses import DEFAULT_VERDICTS, StatusClassifier, Verdict

__all__ = [
    "DEFAULT_VERDICTS",
    "PART_STATE",
    "MoAssembler",
    "MoMessage",
    "PartCountError",
    "Pipeline",
    "ReceiptLevel",
    "RetryPolicy",
    "RouteDispatcher",
    "RouteStatus",
    "ScheduleForm",
    "SmscRoute",
    "StatusClassifier",
    "SubmitOptions",
    "UpdateSink",
    "ValidityForm",
    "Verdict",
    "concatenation_reference",
    "default_owner",
    "mo_message_id",
    "receipt_update",
    "submit_parts",
]


__getattr__ = lazy_exports(
    __name__,
    globals(),
    {
        "dispatcher": ("RouteDispatcher",),
        "mo": ("MoAssembler", "MoMessage", "mo_message_id"),
        "parts": (
            "PartCountError",
            "ReceiptLevel",
            "ScheduleForm",
            "SubmitOptions",
            "ValidityForm",
            "concatenation_reference",
            "submit_parts",
        ),
        "pipeline": ("Pipeline", "RouteStatus", "default_owner"),
        "receipts": ("PART_STATE", "receipt_update"),
        "retry": ("RetryPolicy",),
        "route": ("SmscRoute",),
        "sink": ("UpdateSink",),
        "statuses": ("DEFAULT_VERDICTS", "StatusClassifier", "Verdict"),
    },
)
