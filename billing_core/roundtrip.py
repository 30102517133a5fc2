"""One SMS in, one :class:`Outcome` out: parse, validate, compute, render.

The service around it stays thin::

    hint = account_hint(text, settings)                 # no I/O
    context = await repo.load_context(msisdn=..., account_number=hint, mo_message_id=..., now=now)
    outcome = process_sms(context, text, mo_message_id=..., now=now)
    if outcome.persists and await repo.save_outcome(outcome) and outcome.reply:
        submit outcome.reply.text to the MSISDN

Checks run in the order of the billing spec: the MSISDN is bound; the text
parses; the account and the meter/register exist; the reading window is open;
not lower than the previous reading (unless a guarded rollover); plausible (else
confirmation is asked); not a duplicate; zones agree with the total. An SMSC
redelivering an MO already processed changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext

from .context import AccountSnapshot, ReadingContext
from .errors import BillingError, SmsParseError, TariffError
from .grammar import Command, Intent
from .model import Charge, Meter, Period, Reading, ReadingSource, ReadingStatus, Zone
from .money import CALC, ZERO, money_sum
from .outcome import (
    OptOutChange,
    Outcome,
    OutcomeStatus,
    ReadingStatusChange,
    Rejection,
    RejectionReason,
)
from .payments import Ledger
from .readings import RegisterCheck, Submitted, Verdict, check_register, resolve, zones_agree
from .replies import (
    MARKER_TEXT,
    Reply,
    ReplyKind,
    TextSizer,
    balance_text,
    example_text,
    number_text,
    register_text,
    render,
    usage_text,
    values_text,
    zone_text,
)
from .settings import UtilitySettings
from .tariffs import fixed_charge, usage_lines

_PHONE_WIDE = frozenset({Intent.HELP, Intent.STOP, Intent.START})


def account_hint(text: str, settings: UtilitySettings) -> str | None:
    """The account number an SMS names, if any: what :meth:`load_context` is asked for."""
    try:
        return settings.grammar.parse(text).account_number
    except SmsParseError:
        return None


def process_sms(
    context: ReadingContext, text: str, *, mo_message_id: str, now: datetime, sizer: TextSizer
) -> Outcome:
    """Parse ``text`` and process it (see :func:`process_command`)."""
    try:
        parsed: Command | SmsParseError = context.settings.grammar.parse(text)
    except SmsParseError as error:
        parsed = error
    return process_command(
        context, parsed, text=text, mo_message_id=mo_message_id, now=now, sizer=sizer
    )


def process_command(
    context: ReadingContext,
    parsed: Command | SmsParseError,
    *,
    text: str,
    mo_message_id: str,
    now: datetime,
    sizer: TextSizer,
) -> Outcome:
    """The outcome of one MO: its reply and the changes to persist. Pure; never raises
    for anything a consumer can send (configuration problems give a FAILED outcome).

    ``now`` is aware: it is the reading's taken and received time. ``sizer`` says
    how many SMS a reply takes (the reply is the longest variant that fits one).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if context.mo_already_processed:
        return Outcome(mo_message_id, context.msisdn, text, now, OutcomeStatus.ALREADY_PROCESSED)
    turn = _Turn(context, text, mo_message_id, now, sizer)
    # One fixed context for all the arithmetic below, whatever the caller's.
    with localcontext(CALC):
        try:
            return turn.run(parsed)
        except TariffError as error:
            return turn.failed(error)


class _Turn:
    """One MO being processed: the context, and the helpers that build its outcome."""

    __slots__ = (
        "context",
        "intent",
        "language",
        "mo_message_id",
        "now",
        "settings",
        "sizer",
        "text",
    )

    def __init__(
        self,
        context: ReadingContext,
        text: str,
        mo_message_id: str,
        now: datetime,
        sizer: TextSizer,
    ) -> None:
        self.sizer = sizer
        self.context = context
        self.settings = context.settings
        self.text = text
        self.mo_message_id = mo_message_id
        self.now = now
        self.language = context.language
        self.intent: Intent | None = None

    # -- building outcomes ---------------------------------------------------

    def reply(self, kind: ReplyKind, **fields: str) -> Reply:
        return render(kind, self.language, fields, self.sizer)

    def outcome(
        self,
        status: OutcomeStatus,
        reply: Reply | None,
        *,
        account_number: str | None = None,
        readings: tuple[Reading, ...] = (),
        status_changes: tuple[ReadingStatusChange, ...] = (),
        charges: tuple[Charge, ...] = (),
        opt_out: OptOutChange | None = None,
        rejection: Rejection | None = None,
        error: BillingError | None = None,
        balance_after: Decimal | None = None,
        reply_fields: tuple[tuple[str, str], ...] = (),
        reply_due: date | None = None,
    ) -> Outcome:
        return Outcome(
            self.mo_message_id,
            self.context.msisdn,
            self.text,
            self.now,
            status,
            self.intent,
            account_number,
            reply,
            readings,
            status_changes,
            charges,
            opt_out,
            rejection,
            error,
            balance_after,
            reply_fields,
            reply_due,
        )

    def reject(
        self,
        rejection: Rejection,
        kind: ReplyKind,
        *,
        readings: tuple[Reading, ...] = (),
        status_changes: tuple[ReadingStatusChange, ...] = (),
        **fields: str,
    ) -> Outcome:
        return self.outcome(
            OutcomeStatus.REJECTED,
            self.reply(kind, **fields),
            account_number=rejection.account_number,
            rejection=rejection,
            readings=readings,
            status_changes=status_changes,
        )

    def failed(self, error: BillingError) -> Outcome:
        return self.outcome(OutcomeStatus.FAILED, self.reply(ReplyKind.FAILED), error=error)

    def _register(self) -> str:
        return register_text(self.language, self.settings.registration_hint)

    def _example(self, snapshot: AccountSnapshot | None, with_account: bool) -> str:
        meters = snapshot.active_meters if snapshot is not None else ()
        number: str | None = None
        if with_account:
            number = (
                snapshot.account.number if snapshot else self.context.bindings[0].account_number
            )
        return example_text(self.language, meters, number)

    # -- the checks ----------------------------------------------------------

    def run(self, parsed: Command | SmsParseError) -> Outcome:
        context = self.context
        if not context.bindings:  # 1. the MSISDN is bound
            return self.reject(
                Rejection(RejectionReason.NOT_REGISTERED),
                ReplyKind.NOT_REGISTERED,
                register=self._register(),
            )
        if isinstance(parsed, SmsParseError):  # 2. the text parses
            several = len(context.bindings) > 1
            reply = self.reply(
                ReplyKind.NOT_UNDERSTOOD, example=self._example(context.account, several)
            )
            return self.outcome(OutcomeStatus.NOT_UNDERSTOOD, reply, error=parsed)
        command = parsed
        self.intent = command.intent
        named = command.account_number
        if named is not None and not context.is_bound(named):
            if command.account_from_position and len(context.bindings) == 1:
                # "12345 6789" from a phone bound to one account: two values, not
                # account 12345 and one value.
                try:
                    command = self.settings.grammar.parse(self.text, positional_account=False)
                except SmsParseError as error:
                    reply = self.reply(
                        ReplyKind.NOT_UNDERSTOOD, example=self._example(context.account, False)
                    )
                    return self.outcome(OutcomeStatus.NOT_UNDERSTOOD, reply, error=error)
                named = None
            elif command.intent in _PHONE_WIDE:
                named = None  # STOP/START/HELP act for the phone, whatever number follows
            elif command.account_from_position:
                # A bare number that is none of the phone's accounts: a value, or a
                # mistyped account. The example shows the phone's own account.
                return self.reject(
                    Rejection(RejectionReason.ACCOUNT_REQUIRED),
                    ReplyKind.ACCOUNT_REQUIRED,
                    example=self._example(None, True),
                )
            else:
                return self.reject(
                    Rejection(RejectionReason.NOT_BOUND, named),
                    ReplyKind.NOT_BOUND,
                    account=named,
                    register=self._register(),
                )
        if command.intent in _PHONE_WIDE:
            return self._phone_wide(command.intent, named)
        number = named
        if number is None:
            if len(context.bindings) > 1:
                return self.reject(
                    Rejection(RejectionReason.ACCOUNT_REQUIRED),
                    ReplyKind.ACCOUNT_REQUIRED,
                    example=self._example(None, True),
                )
            number = context.bindings[0].account_number
        snapshot = context.account
        if snapshot is None or snapshot.account.number != number:
            return self.failed(
                BillingError(
                    "the store did not load the account the SMS is for",
                    field="account",
                    account_number=number,
                )
            )
        if snapshot.account.closed:  # 3. the account exists
            return self.reject(
                Rejection(RejectionReason.ACCOUNT_CLOSED, number),
                ReplyKind.ACCOUNT_CLOSED,
                account=number,
            )
        if command.intent is Intent.BALANCE:
            return self._balance(snapshot)
        if command.intent is Intent.CONFIRM:
            return self._confirm(snapshot, None)
        return self._reading(snapshot, command)

    def _phone_wide(self, intent: Intent, named: str | None) -> Outcome:
        if intent is Intent.HELP:
            return self.outcome(OutcomeStatus.ANSWERED, self.reply(ReplyKind.HELP))
        accounts = (named,) if named else tuple(b.account_number for b in self.context.bindings)
        stop = intent is Intent.STOP
        change = OptOutChange(self.context.msisdn, accounts, stop)
        return self.outcome(
            OutcomeStatus.OPTED_OUT if stop else OutcomeStatus.OPTED_IN,
            self.reply(ReplyKind.STOPPED if stop else ReplyKind.STARTED),
            account_number=named,
            opt_out=change,
        )

    def _due_day(self, due: Period | None, snapshot: AccountSnapshot) -> date | None:
        """The due date a balance names: the oldest open item's, else ``due``'s."""
        due_day = snapshot.ledger.oldest_due_date()
        if due_day is None and due is not None:
            due_day = due.due_date(self.settings.due_day)
        return due_day

    def _money(self, amount: Decimal, due: Period | None, snapshot: AccountSnapshot) -> str:
        settings = self.settings
        return balance_text(
            self.language,
            amount,
            self._due_day(due, snapshot),
            settings.money_format,
            settings.rounding,
        )

    def _balance(self, snapshot: AccountSnapshot) -> Outcome:
        readings: list[tuple[Meter, list[tuple[Zone, Decimal]]]] = []
        for meter in snapshot.active_meters:
            values = []
            for register in meter.billing_registers:
                last = snapshot.register_history(register.id).last
                if last is not None:
                    values.append((register.zone, last.value))
            if values:
                readings.append((meter, values))
        amount = snapshot.ledger.balance.amount
        reply = self.reply(
            ReplyKind.BALANCE,
            account=snapshot.account.number,
            balance=self._money(amount, None, snapshot),
            values=values_text(self.language, readings),
        )
        return self.outcome(
            OutcomeStatus.ANSWERED,
            reply,
            account_number=snapshot.account.number,
            balance_after=amount,
        )

    def _reading(self, snapshot: AccountSnapshot, command: Command) -> Outcome:
        number = snapshot.account.number
        settings = self.settings
        submitted = resolve(
            snapshot.active_meters, command.meters, number
        )  # 3. meters and registers
        if isinstance(submitted, Rejection):
            several = len(self.context.bindings) > 1
            return self.reject(
                submitted,
                ReplyKind.UNKNOWN_METER,
                account=number,
                example=self._example(snapshot, several),
            )
        today = self.now.astimezone(settings.zone).date()
        period = settings.reading_window.period_for(today)  # 4. the window
        if period is None:
            window = settings.reading_window
            return self.reject(
                Rejection(RejectionReason.WINDOW_CLOSED, number),
                ReplyKind.WINDOW_CLOSED,
                first=str(window.first_day),
                last=str(window.last_day),
            )
        now = self.now
        ttl = settings.confirmation_ttl
        plausibility = settings.plausibility
        # One pass: the checks, the pending readings this SMS replaces, and
        # whether it repeats them all (which confirms them).
        checks: list[RegisterCheck] = []
        superseded: list[ReadingStatusChange] = []
        repeats = True
        lower: RegisterCheck | None = None
        too_high = False
        fresh: list[RegisterCheck] = []
        for s in submitted:
            history = snapshot.register_history(s.register.id)
            pending = history.pending
            if pending is None:
                repeats = False
            else:
                live = pending.received_at + ttl >= now
                repeats = repeats and live and pending.value == s.value
                if pending.id is not None:
                    reason = "superseded" if live else "expired"
                    superseded.append(
                        ReadingStatusChange(pending.id, ReadingStatus.REJECTED, reason)
                    )
            check = check_register(s, history, period=period, now=now, plausibility=plausibility)
            checks.append(check)
            verdict = check.verdict
            if verdict is Verdict.LOWER:
                lower = lower or check
            elif verdict is Verdict.TOO_HIGH:
                too_high = True
            if verdict is not Verdict.DUPLICATE:
                fresh.append(check)
        if repeats:
            # The same reading sent again confirms it, while it may be confirmed.
            return self._confirm(snapshot, [s.register.id for s in submitted])
        replaced = tuple(superseded)
        if lower is not None:  # 5. not lower
            rejected = self._new(checks, period, ReadingStatus.REJECTED)
            return self._lower(lower, rejected, replaced, several=len(command.meters) > 1)
        if too_high:  # 6. plausible
            return self._ask(snapshot, checks, period, replaced)
        if not fresh:  # 7. duplicates
            reply = self.reply(
                ReplyKind.READING_DUPLICATE, account=number, values=self._values(checks)
            )
            return self.outcome(OutcomeStatus.DUPLICATE, reply, account_number=number)
        # 8. zones agree with the total (only a T0 sent beside zones can disagree)
        with_total = {s.meter.id for s in submitted if s.register.zone is Zone.T0}
        by_meter: dict[int, dict[Zone, Decimal]] = {}
        for s in submitted:
            if s.meter.id in with_total:
                by_meter.setdefault(s.meter.id, {})[s.register.zone] = s.value
        for s in submitted:
            values = by_meter.pop(s.meter.id, None)
            if values is not None and not zones_agree(s.meter, values):
                rejection = Rejection(RejectionReason.ZONES_DISAGREE, number, s.meter.serial)
                return self.reject(
                    rejection,
                    ReplyKind.ZONES_DISAGREE,
                    readings=self._new(checks, period, ReadingStatus.REJECTED),
                    status_changes=replaced,
                    account=number,
                )
        readings = self._new(fresh, period, ReadingStatus.ACCEPTED)
        return self._accept(
            snapshot, fresh, period, today, readings=readings, status_changes=replaced
        )

    def _new(
        self, checks: Sequence[RegisterCheck], period: Period, status: ReadingStatus
    ) -> tuple[Reading, ...]:
        return tuple(
            Reading(
                c.submitted.register.id,
                c.submitted.value,
                self.now,
                self.now,
                ReadingSource.SMS,
                status,
                period,
                self.mo_message_id,
            )
            for c in checks
        )

    def _values(self, checks: Sequence[RegisterCheck]) -> str:
        grouped: dict[int, tuple[Meter, list[tuple[Zone, Decimal]]]] = {}
        for c in checks:
            meter = c.submitted.meter
            grouped.setdefault(meter.id, (meter, []))[1].append(
                (c.submitted.register.zone, c.submitted.value)
            )
        return values_text(self.language, list(grouped.values()))

    def _lower(
        self,
        check: RegisterCheck,
        readings: tuple[Reading, ...],
        status_changes: tuple[ReadingStatusChange, ...],
        *,
        several: bool,
    ) -> Outcome:
        s = check.submitted
        assert check.previous is not None
        label = ""
        if several:
            label = MARKER_TEXT[self.language][s.meter.service] + " "
        if len(s.meter.registers) > 1:
            label += zone_text(s.register.zone, self.language) + " "
        number = self.context.account.account.number if self.context.account else None
        rejection = Rejection(
            RejectionReason.LOWER_THAN_PREVIOUS,
            number,
            s.meter.serial,
            s.register.zone,
            s.value,
            check.previous.value,
        )
        return self.reject(
            rejection,
            ReplyKind.READING_LOWER,
            readings=readings,
            status_changes=status_changes,
            account=number or "",
            label=label,
            value=number_text(s.value, self.language),
            previous=number_text(check.previous.value, self.language),
        )

    def _ask(
        self,
        snapshot: AccountSnapshot,
        checks: Sequence[RegisterCheck],
        period: Period,
        superseded: tuple[ReadingStatusChange, ...],
    ) -> Outcome:
        hours = int(self.settings.confirmation_ttl.total_seconds() // 3600) or 1
        fresh = [c for c in checks if c.verdict is not Verdict.DUPLICATE]
        reply = self.reply(
            ReplyKind.READING_CONFIRM,
            account=snapshot.account.number,
            values=self._values(fresh),
            hours=str(hours),
        )
        return self.outcome(
            OutcomeStatus.AWAITING_CONFIRMATION,
            reply,
            account_number=snapshot.account.number,
            readings=self._new(fresh, period, ReadingStatus.AWAITING_CONFIRMATION),
            status_changes=superseded,
        )

    def _confirm(self, snapshot: AccountSnapshot, register_ids: Sequence[int] | None) -> Outcome:
        """Confirm the pending readings (of ``register_ids``, or all of the account's)."""
        number = snapshot.account.number
        wanted = None if register_ids is None else set(register_ids)
        pending: list[tuple[Submitted, Reading]] = []
        for meter in snapshot.active_meters:
            for register in meter.registers:
                if wanted is not None and register.id not in wanted:
                    continue
                reading = snapshot.register_history(register.id).pending
                if reading is not None:
                    pending.append((Submitted(meter, register, reading.value), reading))
        if not pending:
            return self.reject(
                Rejection(RejectionReason.NOTHING_TO_CONFIRM, number), ReplyKind.NOTHING_TO_CONFIRM
            )
        ttl = self.settings.confirmation_ttl
        live = [(s, r) for s, r in pending if r.received_at + ttl >= self.now]
        expired = tuple(
            ReadingStatusChange(r.id, ReadingStatus.REJECTED, "expired")
            for _, r in pending
            if r.received_at + ttl < self.now and r.id is not None
        )
        if not live:
            return self.reject(
                Rejection(RejectionReason.CONFIRMATION_EXPIRED, number),
                ReplyKind.CONFIRMATION_EXPIRED,
                status_changes=expired,
            )
        checks = [
            check_register(
                s,
                snapshot.register_history(s.register.id),
                period=r.period,
                now=r.received_at,
                plausibility=self.settings.plausibility,
                check_plausible=False,
            )
            for s, r in live
        ]
        for check in checks:
            if check.verdict is Verdict.LOWER:
                # Something newer (an inspector's reading) came in meanwhile.
                lower = tuple(
                    ReadingStatusChange(r.id, ReadingStatus.REJECTED, "lower")
                    for _, r in live
                    if r.id is not None
                )
                return self._lower(check, (), expired + lower, several=False)
        confirmed = tuple(
            ReadingStatusChange(r.id, ReadingStatus.ACCEPTED, "confirmed")
            for _, r in live
            if r.id is not None
        )
        first = live[0][1]
        return self._accept(
            snapshot,
            checks,
            first.period,
            first.taken_at.astimezone(self.settings.zone).date(),
            readings=(),
            status_changes=expired + confirmed,
        )

    def _accept(
        self,
        snapshot: AccountSnapshot,
        checks: Sequence[RegisterCheck],
        period: Period,
        taken_on: date,
        *,
        readings: tuple[Reading, ...],
        status_changes: tuple[ReadingStatusChange, ...],
    ) -> Outcome:
        """Bill ``checks`` up to ``taken_on`` (local) and reply with the new balance."""
        charges = self._bill(snapshot, checks, period, taken_on)
        total = money_sum(c.amount for c in charges)
        balance = snapshot.ledger.balance.amount + total
        fields = (
            ("account", snapshot.account.number),
            ("values", self._values(checks)),
            ("usage", self._usage(checks)),
        )
        reply = self.reply(
            ReplyKind.READING_ACCEPTED,
            **dict(fields),
            balance=self._money(balance, period, snapshot),
        )
        return self.outcome(
            OutcomeStatus.ACCEPTED,
            reply,
            account_number=snapshot.account.number,
            readings=readings,
            status_changes=status_changes,
            charges=charges,
            balance_after=balance,
            reply_fields=fields,
            reply_due=self._due_day(period, snapshot),
        )

    def _usage(self, checks: Sequence[RegisterCheck]) -> str:
        """The consumption per meter ("" when no reading had a previous one)."""
        totals: dict[int, tuple[Meter, Decimal]] = {}
        for c in checks:
            meter = c.submitted.meter
            if c.previous is not None and c.submitted.register in meter.billing_registers:
                base = totals.get(meter.id, (meter, ZERO))[1]
                totals[meter.id] = (meter, base + c.consumption * meter.multiplier)
        pieces = []
        for meter, quantity in totals.values():
            text = usage_text(self.language, meter.service, quantity)
            if len(totals) > 1:
                text = f"{MARKER_TEXT[self.language][meter.service]} {text}"
            pieces.append(text)
        return " ".join(pieces)

    def _bill(
        self,
        snapshot: AccountSnapshot,
        checks: Sequence[RegisterCheck],
        period: Period,
        end: date,
    ) -> tuple[Charge, ...]:
        """One charge per meter for the consumption since its previous readings, and the
        fixed charges of ``period`` for the services read, unless billed already."""
        zone = self.settings.zone
        meters: dict[int, tuple[Meter, dict[Zone, Decimal], list[datetime]]] = {}
        for c in checks:
            meter = c.submitted.meter
            if c.previous is None or c.verdict is Verdict.DUPLICATE:
                continue
            if c.submitted.register not in meter.billing_registers:
                continue  # a T0 beside the zones is a check, not billed
            entry = meters.setdefault(meter.id, (meter, {}, []))
            entry[1][c.submitted.register.zone] = c.consumption * meter.multiplier
            entry[2].append(c.previous.taken_at)
        charges = []
        for meter, usage, since in meters.values():
            if not any(usage.values()):
                continue
            start = min(since).astimezone(zone).date()
            lines = usage_lines(
                snapshot.tariffs,
                meter.service,
                usage,
                start,
                max(start, end),
                rounding=self.settings.rounding,
            )
            if lines:
                charges.append(
                    Charge(
                        snapshot.account.number,
                        period,
                        meter.service,
                        lines,
                        start,
                        max(start, end),
                        meter.id,
                        None,
                        period.due_date(self.settings.due_day),
                    )
                )
        return tuple(charges) + self._fixed(snapshot, checks, period)

    def _fixed(
        self, snapshot: AccountSnapshot, checks: Sequence[RegisterCheck], period: Period
    ) -> tuple[Charge, ...]:
        """The period's fixed charge of each service read, billed with its first accepted
        reading of the period: the whole period's, whatever the quantity."""
        charges = []
        services = dict.fromkeys(c.submitted.meter.service for c in checks)
        for service in services:
            if (service, period) in snapshot.fixed_billed:
                continue
            charge = fixed_charge(
                snapshot.tariffs, snapshot.account.number, service, period, self.settings
            )
            if charge is not None:
                charges.append(charge)
        return tuple(charges)


def as_billed(
    outcome: Outcome,
    dropped: Sequence[Charge],
    ledger: Ledger,
    settings: UtilitySettings,
    sizer: TextSizer,
) -> Outcome:
    """``outcome`` as a store saved it: without ``dropped`` of its charges (billed
    already: a fixed charge a concurrent first reading of the period billed), its
    balance the saved ``ledger``'s, and its reply saying that balance.
    """
    balance = ledger.balance.amount
    reply = outcome.reply
    if reply is not None and outcome.reply_fields:
        money = balance_text(
            reply.language,
            balance,
            ledger.oldest_due_date() or outcome.reply_due,
            settings.money_format,
            settings.rounding,
        )
        fields = {**dict(outcome.reply_fields), "balance": money}
        reply = render(reply.kind, reply.language, fields, sizer)
    charges = tuple(c for c in outcome.charges if c not in dropped)
    return outcome._replace(charges=charges, balance_after=balance, reply=reply)
