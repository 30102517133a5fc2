"""The result of one SMS: the reply, and every change the store must persist."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from .errors import BillingError
from .grammar import Intent
from .model import Charge, FastEnum, Reading, ReadingStatus, Zone
from .replies import Reply


class OutcomeStatus(FastEnum):
    ACCEPTED = "accepted"  # readings accepted (and billed when there was a previous one)
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # stored, billed only once confirmed
    DUPLICATE = "duplicate"  # the same reading again: acknowledged, not billed
    REJECTED = "rejected"  # see ``rejection``
    ANSWERED = "answered"  # balance or help
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    NOT_UNDERSTOOD = "not_understood"  # ``error`` is the SmsParseError
    ALREADY_PROCESSED = "already_processed"  # the SMSC redelivered this MO: nothing to do
    FAILED = "failed"  # a configuration problem (``error``): the operator must act


class RejectionReason(FastEnum):
    NOT_REGISTERED = "not_registered"  # the MSISDN is bound to no account
    NOT_BOUND = "not_bound"  # the MSISDN is not bound to the account it named
    ACCOUNT_REQUIRED = "account_required"  # bound to several accounts, none named
    ACCOUNT_CLOSED = "account_closed"
    UNKNOWN_METER = "unknown_meter"
    AMBIGUOUS_METER = "ambiguous_meter"
    UNKNOWN_REGISTER = "unknown_register"
    WRONG_VALUE_COUNT = "wrong_value_count"
    VALUE_OUT_OF_RANGE = "value_out_of_range"  # more integer digits than the meter has
    WINDOW_CLOSED = "window_closed"
    LOWER_THAN_PREVIOUS = "lower_than_previous"
    ZONES_DISAGREE = "zones_disagree"
    NOTHING_TO_CONFIRM = "nothing_to_confirm"
    CONFIRMATION_EXPIRED = "confirmation_expired"


class Rejection(NamedTuple):
    """Why a command was refused, with what the operator needs to look into it."""

    reason: RejectionReason
    account_number: str | None = None
    meter_serial: str | None = None
    zone: Zone | None = None
    value: Decimal | None = None
    previous: Decimal | None = None


class ReadingStatusChange(NamedTuple):
    """A stored reading (by id) whose status changes: confirmed, superseded or expired."""

    reading_id: int
    status: ReadingStatus
    reason: str


class OptOutChange(NamedTuple):
    """STOP or START from ``msisdn``, for the bindings of ``account_numbers``."""

    msisdn: str
    account_numbers: tuple[str, ...]
    opted_out: bool


class Outcome(NamedTuple):
    """One SMS, processed.

    The store saves all of it in one transaction (:meth:`BillingRepository.save_outcome`):
    the MO record (``mo_message_id``, unique), ``readings`` (new rows, each with
    its status), ``status_changes`` (rows already stored), ``charges``,
    ``opt_out`` and the ``reply`` to send. ``balance_after`` is the account's
    balance once ``charges`` are added. An ALREADY_PROCESSED outcome is not
    saved and has no reply.
    """

    mo_message_id: str
    msisdn: str
    text: str
    received_at: datetime
    status: OutcomeStatus
    intent: Intent | None = None
    account_number: str | None = None
    reply: Reply | None = None
    readings: tuple[Reading, ...] = ()
    status_changes: tuple[ReadingStatusChange, ...] = ()
    charges: tuple[Charge, ...] = ()
    opt_out: OptOutChange | None = None
    rejection: Rejection | None = None
    error: BillingError | None = None
    balance_after: Decimal | None = None
    #: An accepted reading's reply fields but the balance, and the due date the balance
    #: names: enough to write the reply again on another balance (:func:`without_charges`).
    reply_fields: tuple[tuple[str, str], ...] = ()
    reply_due: date | None = None

    @property
    def persists(self) -> bool:
        """Whether the store has anything to save (everything but a redelivery)."""
        return self.status is not OutcomeStatus.ALREADY_PROCESSED
