"""Bulk campaigns, the pure part: recipients, templates, quiet hours, opt-out, plans.

Nothing here does I/O beyond reading a recipients file it is given, starts tasks
or reads a clock: callers pass the time in. The store and the sender build on it.
"""

from .errors import CampaignError, CampaignSettingError
from .msisdn import MAX_DIGITS, MIN_DIGITS, MsisdnError, check_country_code, normalise_msisdn
from .optout import CampaignKind, OptOutList
from .pacing import MAX_RATE, MIN_RATE, check_rate
from .plan import (
    EARLIEST_START,
    MAX_START_AHEAD,
    CampaignPlan,
    PlannedBatch,
    PlannedMessage,
    SkippedRecipient,
    SkipReason,
    plan_messages,
)
from .quiet_hours import (
    WEEKDAY_DEFAULT,
    WEEKEND_DAYS_DEFAULT,
    WEEKEND_DEFAULT,
    QuietHours,
    Window,
    parse_window,
    zone_of,
)
from .recipients import DuplicateRecipient, Recipient, deduplicate
from .recipients_csv import (
    DELIMITERS,
    MSISDN_COLUMNS,
    OnError,
    RecipientImport,
    RecipientsFileError,
    RecipientsRefusedError,
    RowError,
    read_recipients,
)
from .state import (
    TRANSITIONS,
    CampaignAction,
    CampaignState,
    IllegalTransitionError,
    allowed_actions,
    transition,
)
from .template import (
    MissingFieldError,
    RowsPreview,
    Template,
    TemplateSyntaxError,
    TextPreview,
    preview_text,
)
from .time_zones import COUNTRY_TIME_ZONES, RecipientTimeZones

__all__ = [
    "COUNTRY_TIME_ZONES",
    "DELIMITERS",
    "EARLIEST_START",
    "MAX_DIGITS",
    "MAX_RATE",
    "MAX_START_AHEAD",
    "MIN_DIGITS",
    "MIN_RATE",
    "MSISDN_COLUMNS",
    "TRANSITIONS",
    "WEEKDAY_DEFAULT",
    "WEEKEND_DAYS_DEFAULT",
    "WEEKEND_DEFAULT",
    "CampaignAction",
    "CampaignError",
    "CampaignKind",
    "CampaignPlan",
    "CampaignSettingError",
    "CampaignState",
    "DuplicateRecipient",
    "IllegalTransitionError",
    "MissingFieldError",
    "MsisdnError",
    "OnError",
    "OptOutList",
    "PlannedBatch",
    "PlannedMessage",
    "QuietHours",
    "Recipient",
    "RecipientImport",
    "RecipientTimeZones",
    "RecipientsFileError",
    "RecipientsRefusedError",
    "RowError",
    "RowsPreview",
    "SkipReason",
    "SkippedRecipient",
    "Template",
    "TemplateSyntaxError",
    "TextPreview",
    "Window",
    "allowed_actions",
    "check_country_code",
    "check_rate",
    "deduplicate",
    "normalise_msisdn",
    "parse_window",
    "plan_messages",
    "preview_text",
    "read_recipients",
    "transition",
    "zone_of",
]
