"""Durable messages: one :class:`Store` interface, SQLite (embedded) and PostgreSQL.

Both also implement :class:`CampaignStore`: bulk campaigns, recipient groups
and the opt-out list; :class:`BillingStore`, the billing core's repository
(:class:`billing_core.BillingRepository`), loaded by :func:`import_billing_data`;
:class:`JobStore`, the schedule of the gateway's jobs; :class:`PauseStore`, the
routes an operator paused; :class:`RetentionStore`, the purge of finished
messages past their age; and :class:`RateShareStore`, each gateway process's
share of an SMSC account's rate.

:func:`open_store` opens either from a URL (``sqlite:///path/to/file.db``,
``sqlite://:memory:``, ``postgresql://user@host:port/db``) and applies the schema
migrations before it returns. :class:`BatchWriter` batches the pipeline's updates.
"""

from .billing.importing import (
    BillingStore,
    ImportProblem,
    ImportReport,
    import_billing_data,
    load_billing_json,
)
from .billing.model import ReplyLease, SavedAnswer, StoredNotice, delivery_state
from .billing.rows import UnknownAccountError
from .campaigns.interface import CampaignStore
from .campaigns.model import (
    CampaignStats,
    CampaignView,
    GroupMember,
    GroupView,
    NewCampaign,
    QueuedCampaignMessage,
)
from .errors import (
    CampaignClosedError,
    DuplicateNameError,
    MigrationError,
    NoBillingUtilityError,
    StoreError,
    StoreUnavailableError,
    UnknownCampaignError,
    UnknownGroupError,
)
from .jobs import JobClaim, JobRun, JobStore, JobView
from .messages.interface import Store
from .messages.model import (
    FINAL_STATES,
    Accepted,
    ClaimedMessage,
    Dispatching,
    MessageEvent,
    MessageState,
    MessageView,
    NewMessage,
    PartState,
    PartSubmitted,
    PartView,
    ReceiptArrived,
    ReceiptNoted,
    RecoveryReport,
    Rerouted,
    SubmitFailed,
    SubmitUnknown,
    Update,
)
from .messages.plans import decode_plan, next_route
from .opening import open_store
from .pauses import PauseStore, RoutePause
from .rates import RateShare, RateShareStore
from .retention import PURGEABLE_STATES, DayCount, PurgeBatch, RetentionStore, day_of
from .writer import BatchWriter

__all__ = [
    "FINAL_STATES",
    "PURGEABLE_STATES",
    "Accepted",
    "BatchWriter",
    "BillingStore",
    "CampaignClosedError",
    "CampaignStats",
    "CampaignStore",
    "CampaignView",
    "ClaimedMessage",
    "DayCount",
    "Dispatching",
    "DuplicateNameError",
    "GroupMember",
    "GroupView",
    "ImportProblem",
    "ImportReport",
    "JobClaim",
    "JobRun",
    "JobStore",
    "JobView",
    "MessageEvent",
    "MessageState",
    "MessageView",
    "MigrationError",
    "NewCampaign",
    "NewMessage",
    "NoBillingUtilityError",
    "PartState",
    "PartSubmitted",
    "PartView",
    "PauseStore",
    "PurgeBatch",
    "QueuedCampaignMessage",
    "RateShare",
    "RateShareStore",
    "ReceiptArrived",
    "ReceiptNoted",
    "RecoveryReport",
    "ReplyLease",
    "Rerouted",
    "RetentionStore",
    "RoutePause",
    "SavedAnswer",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredNotice",
    "SubmitFailed",
    "SubmitUnknown",
    "UnknownAccountError",
    "UnknownCampaignError",
    "UnknownGroupError",
    "Update",
    "day_of",
    "decode_plan",
    "delivery_state",
    "import_billing_data",
    "load_billing_json",
    "next_route",
    "open_store",
]
